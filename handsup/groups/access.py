"""Fetch tenant-owned rows the same way for "missing" and "not yours"."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from handsup.groups.models import Group, JoinRequest, Membership
from handsup.groups.permissions import GroupAction, group_policy


def access_group(user: Any, public_id: str, action: GroupAction) -> Group:
    group = group_policy.groups_for(user, action).filter(public_id=public_id).first()
    if group is None:
        raise Http404("No such group.")
    return group


def access_group_by_slug(user: Any, slug: str) -> Group:
    group = group_policy.groups_for(user, "view").filter(slug=slug).first()
    if group is None:
        raise Http404("No such group.")
    return group


def access_membership(user: Any, group: Group, public_id: str) -> Membership:
    """A membership of a group the caller administers (the group is already checked)."""
    membership = (
        Membership.objects.filter(group=group, public_id=public_id).select_related("user").first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


def access_join_request(user: Any, group: Group, public_id: str) -> JoinRequest:
    request = (
        JoinRequest.objects.filter(group=group, public_id=public_id, status="pending")
        .select_related("user")
        .first()
    )
    if request is None:
        raise Http404("No such request.")
    return request
