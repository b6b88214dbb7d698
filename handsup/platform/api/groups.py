"""The token's own group: a token sees no other group."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Router

from handsup.groups.models import Group
from handsup.platform.api.schemas import GroupOut, responses
from handsup.platform.api_auth import require_scope
from handsup.platform.models import Scope

router = Router(tags=["groups"])


def group_out(group: Group) -> GroupOut:
    return GroupOut(
        id=group.public_id,
        name=group.name,
        slug=group.slug,
        kind=group.kind,
        status=group.status,
        parent=group.parent.public_id if group.parent_id and group.parent else None,
    )


@router.get("/me", response=responses({200: GroupOut}), summary="The token's group")
def my_group(request: HttpRequest) -> GroupOut:
    token = require_scope(request, Scope.GROUPS_READ)
    return group_out(token.group)


@router.get("/{public_id}", response=responses({200: GroupOut}), summary="A group by id")
def group_by_id(request: HttpRequest, public_id: str) -> GroupOut:
    """Only the token's own group; any other id is 404, as if it did not exist."""
    token = require_scope(request, Scope.GROUPS_READ)
    if public_id != token.group.public_id:
        raise Http404
    return group_out(token.group)
