"""Atom feeds of published stories, one per combination of the index's filters.

`stories/feed/?issue=housing&region=wales` is the feed of what the index shows for the
same filters: the latest 30 published stories. Entries carry the story's opening as
plain text (HTML-escaped: the author's words never reach a feed reader as markup), the
group's name as author (never the person who wrote it: that is personal data), and the
story's tags as categories. An unknown filter value is a 404 with a plain message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _

from handsup.stories.filters import StoryFilters, parse_filters
from handsup.stories.models import Story
from handsup.stories.sharing import story_summary, story_url

FEED_LENGTH = 30
NO_GROUP_AUTHOR = "Hands Up"


class StoryFeed(Feed):  # type: ignore[type-arg]
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> StoryFilters:
        filters = getattr(request, "story_filters", None)
        return filters if filters is not None else parse_filters(request.GET)

    def title(self, obj: StoryFilters) -> str:
        if obj.active:
            return _("Stories from Hands Up: %(filters)s") % {"filters": obj.describe()}
        return _("Stories from Hands Up")

    def subtitle(self, obj: StoryFilters) -> str:
        return _("What local groups across the movement did, told by their members.")

    def link(self, obj: StoryFilters) -> str:
        return reverse("stories:index") + obj.query_string()

    def feed_url(self, obj: StoryFilters) -> str:
        return reverse("stories:feed") + obj.query_string()

    def author_name(self, obj: StoryFilters) -> str:
        return NO_GROUP_AUTHOR

    def items(self, obj: StoryFilters) -> list[Story]:
        stories = obj.apply(Story.objects.published())
        return list(
            stories.select_related("group", "action_type")
            .prefetch_related("issues")
            .order_by("-published_at", "-pk")[:FEED_LENGTH]
        )

    def item_title(self, item: Story) -> str:
        return item.title

    def item_description(self, item: Story) -> str:
        # Atom's summary is HTML: escape the plain text so "<" stays a character.
        return str(escape(story_summary(item)))

    def item_link(self, item: Story) -> str:
        return reverse("stories:story", args=[item.public_id])

    def item_guid(self, item: Story) -> str:
        # Atom ids must never change: the site's own address, not the request's host.
        return story_url(item)

    def item_pubdate(self, item: Story) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Story) -> datetime:
        return item.updated_at

    def item_author_name(self, item: Story) -> str:
        return item.group.name if item.group is not None else NO_GROUP_AUTHOR

    def item_categories(self, item: Story) -> list[str]:
        names = [tag.name for tag in item.issues.all()]
        if item.action_type is not None:
            names.append(item.action_type.name)
        return names


story_feed = StoryFeed()


def feed(request: HttpRequest) -> HttpResponse:
    filters = parse_filters(request.GET)
    if filters.problems:
        return HttpResponseNotFound(
            "\n".join(filters.problems) + "\n", content_type="text/plain; charset=utf-8"
        )
    request.story_filters = filters  # type: ignore[attr-defined]
    return story_feed(request)
