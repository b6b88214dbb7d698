"""Shared helpers for the platform tests: make a tool directly."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.platform.models import Tool, ToolMaintainer


def make_tool(
    submitted_by: User | None = None,
    review: str = Tool.Review.PUBLISHED,
    *,
    maintainers: Iterable[User] = (),
    maintainer_groups: Iterable[Group] = (),
    used_by: Iterable[Group] = (),
    **fields: Any,
) -> Tool:
    """A tool as if it had been submitted (and, unless `review` says otherwise, published).

    Extra keyword arguments are Tool fields; `maintainers` are people who added
    themselves, `maintainer_groups` and `used_by` are groups."""
    defaults: dict[str, Any] = {
        "name": "Doorstep",
        "summary": "Plan a canvassing session on a shared map.",
        "description": "Doorstep splits streets between canvassers and tracks **who knocked**.",
        "licence": "AGPL-3.0",
        "source_url": "https://example.org/doorstep",
        "status": Tool.Status.IN_USE,
        "tags": ["canvassing", "maps"],
    }
    defaults.update(fields)
    tool = Tool.objects.create(submitted_by=submitted_by, review=review, **defaults)
    for user in maintainers:
        ToolMaintainer.objects.create(tool=tool, user=user)
    tool.maintainer_groups.set(list(maintainer_groups))
    tool.used_by.set(list(used_by))
    return tool
