"""Fetch needs the same way for "missing" and "not yours", so ids can't be probed."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from handsup.groups.models import Group
from handsup.needs.models import Need
from handsup.needs.permissions import NeedAction, need_policy


def access_need(user: Any, public_id: str, action: NeedAction) -> Need:
    need = (
        need_policy.needs_for(user, action)
        .filter(public_id=public_id)
        .select_related("group")
        .first()
    )
    if need is None:
        raise Http404("No such need.")
    return need


def access_group_need(user: Any, group: Group, public_id: str) -> Need:
    """A need of a group the caller may organise (`access_group` has checked the group).

    Asking the policy too, not just filtering by group, keeps one answer to "may this
    person manage this need?" even if the group check above ever changes."""
    need = (
        need_policy.needs_for(user, "manage")
        .filter(group=group, public_id=public_id)
        .select_related("group")
        .first()
    )
    if need is None:
        raise Http404("No such need.")
    return need
