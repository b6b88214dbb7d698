"""The tools registry's routes in the authorisation matrix (merged into `MATRIX` by the test).

Each path builder makes the tool it needs: one of the volunteer's waiting for a curator
(readable only by her and curators), and a published one that group A's organiser
maintains in person (her name is shown to signed-in readers, access-logged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.authorisation.matrix import ENROLLED, PUBLIC, Expect

CURATORS = frozenset({"curator", "platform_admin"})


def _tool(world: Any, *, published: bool) -> Any:
    from handsup.platform.models import Tool, ToolMaintainer

    tool = Tool.objects.create(
        name="Doorstep",
        summary="Plan canvassing on a map.",
        description="Splits streets between canvassers.",
        licence="AGPL-3.0",
        source_url="https://example.org/doorstep",
        tags=["maps"],
        review=Tool.Review.PUBLISHED if published else Tool.Review.PENDING,
        submitted_by=world.users["organiser_a" if published else "volunteer"],
    )
    if published:
        ToolMaintainer.objects.create(tool=tool, user=world.users["organiser_a"])
    return tool


def _pending(world: Any) -> str:
    return f"/tools/{_tool(world, published=False).public_id}/"


def _published(suffix: str = "") -> Callable[[Any], str]:
    return lambda world: f"/tools/{_tool(world, published=True).public_id}/{suffix}"


def _review(world: Any) -> str:
    return f"/curate/tools/{_tool(world, published=False).public_id}/review/"


TOOLS_MATRIX: dict[str, Expect] = {
    "tools/": Expect(PUBLIC, why="the registry of published tools"),
    "tools/new/": Expect(ENROLLED, why="anyone signed in submits a tool"),
    "tools/new/thanks/": Expect(ENROLLED),
    "tools/<str:public_id>/": Expect(
        frozenset({"volunteer"}) | CURATORS,
        path=_pending,
        why="a tool waiting for a curator: its submitter and curators",
    ),
    "tools/<str:public_id>/edit/": Expect(
        frozenset({"organiser_a"}) | CURATORS,
        path=_published("edit/"),
        why="its maintainers and curators",
    ),
    "tools/<str:public_id>/used-by/": Expect(
        frozenset({"organiser_a", "admin_a"}),
        path=_published("used-by/"),
        method="post",
        data=lambda world: {"uses": "on", "group": world.groups["group_a"].pk},
        why="organisers mark a group they organise as using it",
    ),
    "tools/<str:public_id>/help/": Expect(
        frozenset({"organiser_a"}),
        path=_published("help/"),
        why="a maintainer opens a help-wanted need for a group they organise",
    ),
    "curate/tools/": Expect(CURATORS),
    "curate/tools/<str:public_id>/review/": Expect(CURATORS, path=_review),
}
