"""Fetch tenant-owned rows the same way for "missing" and "not yours"."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from handsup.groups.models import Group
from handsup.groups.permissions import GroupAction, group_policy


def access_group(user: Any, public_id: str, action: GroupAction) -> Group:
    group = group_policy.groups_for(user, action).filter(public_id=public_id).first()
    if group is None:
        raise Http404("No such group.")
    return group
