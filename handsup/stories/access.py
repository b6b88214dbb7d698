"""Fetch stories the same way for "missing" and "not yours", so ids can't be probed."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from handsup.stories.models import Story
from handsup.stories.permissions import StoryAction, story_policy


def access_story(user: Any, public_id: str, action: StoryAction) -> Story:
    story = (
        story_policy.stories_for(user, action)
        .filter(public_id=public_id)
        .select_related("group", "action_type", "author")
        .first()
    )
    if story is None:
        raise Http404("No such story.")
    return story
