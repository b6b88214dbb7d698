"""The movement's registry of tools: published entries only."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from handsup.platform.api.paging import page
from handsup.platform.api.schemas import PageQuery, ToolOut, ToolPage, responses
from handsup.platform.api_auth import require_scope
from handsup.platform.models import Scope, Tool

router = Router(tags=["tools"])


@router.get("", response=responses({200: ToolPage}), summary="Published tools")
def list_tools(request: HttpRequest, paging: Query[PageQuery]) -> ToolPage:
    require_scope(request, Scope.TOOLS_READ)
    items, next_cursor = page(
        Tool.objects.filter(review=Tool.Review.PUBLISHED).prefetch_related(
            "maintainer_groups", "used_by"
        ),
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return ToolPage(
        items=[
            ToolOut(
                id=tool.public_id,
                name=tool.name,
                summary=tool.summary,
                description=tool.description,
                licence=tool.licence,
                source_url=tool.source_url,
                status=tool.status,
                tags=[str(tag) for tag in tool.tags or []],
                maintainer_groups=[group.public_id for group in tool.maintainer_groups.all()],
                used_by=[group.public_id for group in tool.used_by.all()],
            )
            for tool in items
        ],
        next_cursor=next_cursor,
    )
