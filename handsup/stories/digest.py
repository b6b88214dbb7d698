"""The digest's "Stories from the movement": stories featured since the person's last digest.

Registered with messaging's digest sections when the app is ready (`StoriesConfig.ready`
imports this module). One query for the whole batch: the stories featured between the
earliest `since` of the batch and `until`, newest first; each person gets the first
three featured after their own `since`. Featured stories are public, so everyone in the
batch gets them; the group's name is the source, never the author's.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from handsup.messaging.digest_sections import DigestItem, DigestWindow, register_section
from handsup.stories.models import Story
from handsup.stories.sharing import story_place, story_summary

STORIES_PER_DIGEST = 3
SUMMARY_LENGTH = 160


@register_section(
    "stories",
    title=gettext_lazy("Stories from the movement"),
    intro=gettext_lazy("What local groups did, featured by the movement's story curators."),
    order=30,
)
def featured_stories(window: DigestWindow) -> dict[int, list[DigestItem]]:
    if not window.since:
        return {}
    featured = list(
        Story.objects.using(window.using)
        .featured()
        .filter(featured_at__gt=window.earliest, featured_at__lte=window.until)
        .select_related("group")
        .only(
            "public_id",
            "title",
            "body",
            "district",
            "region",
            "featured_at",
            "status",
            "group__name",
        )
    )
    if not featured:
        return {}
    items = {story.pk: _item(story) for story in featured}
    found: dict[int, list[DigestItem]] = {}
    for user_id, since in window.since.items():
        mine = [items[story.pk] for story in featured if story.featured_at > since]
        if mine:
            found[user_id] = mine[:STORIES_PER_DIGEST]
    return found


def _item(story: Story) -> DigestItem:
    place = story_place(story)
    summary = story_summary(story, SUMMARY_LENGTH)
    return DigestItem(
        title=story.title,
        summary=f"{place}. {summary}" if place else summary,
        url=reverse("stories:story", args=[story.public_id]),
        source=story.group.name if story.group is not None else "",
        at=story.featured_at.isoformat() if story.featured_at else "",
    )
