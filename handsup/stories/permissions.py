"""The one place that answers "may this person do X to this story?".

Actions, each as `stories_for(user, action)` (the queryset) and `allows(user, action, story)`:

- read: its page and its pictures. Published stories: everyone, signed in or not. Any
  other state: its author and curators.
- revise: change its words and pictures. Its author while it is new or needs changes
  (not once a curator has it in review, published or rejected); curators always.
- curate: move it through the queue, feature it, manage its revisions: curators only
  (`groups.permissions.curates_stories`: story curators and platform admins).
- ask_for_help: open a "help tell this story" need or ask the centre for support: its
  author and curators, once it is not rejected.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q

from handsup.groups.permissions import curates_stories
from handsup.stories.models import Story
from handsup.stories.querysets import StoryQuerySet

StoryAction = Literal["read", "revise", "curate", "ask_for_help"]
AUTHOR_MAY_REVISE = (Story.Status.NEW, Story.Status.NEEDS_CHANGES)


class StoryPolicy:
    def stories_for(self, user: Any, action: StoryAction) -> StoryQuerySet:
        stories: StoryQuerySet = Story.objects.all()  # type: ignore[assignment]
        signed_in = getattr(user, "is_authenticated", False)
        if signed_in and curates_stories(user):
            if action == "ask_for_help":
                return stories.exclude(status=Story.Status.REJECTED)
            return stories
        if action == "read":
            published = Q(status=Story.Status.PUBLISHED)
            return stories.filter(published | Q(author=user) if signed_in else published)
        if not signed_in or action == "curate":
            return stories.none()
        if action == "revise":
            return stories.filter(author=user, status__in=AUTHOR_MAY_REVISE)
        return stories.filter(author=user).exclude(status=Story.Status.REJECTED)

    def allows(self, user: Any, action: StoryAction, story: Story) -> bool:
        return self.stories_for(user, action).filter(pk=story.pk).exists()


story_policy = StoryPolicy()
