"""Published stories of the whole movement (what anyone can read on the site)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from handsup.platform.api.paging import page
from handsup.platform.api.schemas import PageQuery, StoryOut, StoryPage, responses
from handsup.platform.api_auth import require_scope
from handsup.platform.models import Scope
from handsup.stories.models import Story

router = Router(tags=["stories"])


@router.get("", response=responses({200: StoryPage}), summary="Published stories")
def list_stories(request: HttpRequest, paging: Query[PageQuery]) -> StoryPage:
    require_scope(request, Scope.STORIES_READ)
    items, next_cursor = page(
        Story.objects.published().select_related("group"),
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return StoryPage(
        items=[
            StoryOut(
                id=story.public_id,
                title=story.title,
                body=story.body,
                happened_on=story.happened_on,
                district=story.district,
                region=story.region,
                group=story.group.public_id if story.group else None,
                published_at=story.published_at,
            )
            for story in items
        ],
        next_cursor=next_cursor,
    )
