"""The token's group's members: only what each member's consent lets the group see.

The same function as the site's member list (`groups.members.member_rows`): a name and
role for everyone, the email address only for members who agreed to share contact
details with the group; everyone returned is written to the access log."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from handsup.groups.members import member_rows
from handsup.groups.models import Membership
from handsup.platform.api.paging import page
from handsup.platform.api.schemas import MemberOut, MemberPage, PageQuery, responses
from handsup.platform.api_auth import require_scope
from handsup.platform.models import Scope

router = Router(tags=["members"])


@router.get("", response=responses({200: MemberPage}), summary="The group's members")
def list_members(request: HttpRequest, paging: Query[PageQuery]) -> MemberPage:
    token = require_scope(request, Scope.MEMBERS_READ)
    assert token.created_by is not None  # token_problem refuses tokens without one
    memberships, next_cursor = page(
        Membership.objects.filter(group=token.group).select_related("user"),
        cursor=paging.cursor,
        limit=paging.limit,
    )
    rows = member_rows(viewer=token.created_by, group=token.group, memberships=memberships)
    return MemberPage(
        items=[
            MemberOut(
                id=row.membership.public_id,
                name=row.name,
                email=row.email,
                role=row.membership.role,
                joined_at=row.joined_at,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )
