"""A group's webhooks and API tokens in the authorisation matrix (merged into `MATRIX` by
the test): group A's admins and platform admins, nobody else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.authorisation.matrix import ADMINISTER_A, Expect


def _manage_a(suffix: str) -> Callable[[Any], str]:
    return lambda world: f"/groups/manage/{world.groups['group_a'].public_id}/{suffix}"


def _endpoint(suffix: str = "") -> Callable[[Any], str]:
    """An endpoint of group A's (a literal public address: no DNS lookup)."""

    def build(world: Any) -> str:
        from handsup.platform.webhooks import do_register_endpoint

        endpoint = do_register_endpoint(
            actor=world.users["admin_a"],
            group=world.groups["group_a"],
            url="https://93.184.216.34/hook",
            description="",
            events=["need.created"],
        )
        return _manage_a(f"webhooks/{endpoint.public_id}/{suffix}")(world)

    return build


PLATFORM_MATRIX: dict[str, Expect] = {
    "groups/manage/<str:public_id>/webhooks/": Expect(ADMINISTER_A, path=_manage_a("webhooks/")),
    "groups/manage/<str:public_id>/webhooks/<str:endpoint_id>/": Expect(
        ADMINISTER_A, path=_endpoint(), why="shows the signing secret"
    ),
    "groups/manage/<str:public_id>/webhooks/<str:endpoint_id>/delete/": Expect(
        ADMINISTER_A, path=_endpoint("delete/"), method="post"
    ),
    "groups/manage/<str:public_id>/webhooks/<str:endpoint_id>/enable/": Expect(
        ADMINISTER_A, path=_endpoint("enable/"), method="post"
    ),
}
