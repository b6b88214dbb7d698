"""The REST API and a group's API token pages in the authorisation matrix (merged into
`MATRIX` by the test).

No signed-in session opens an API operation: the API answers only to a bearer token
(401 to every persona here); what each token may reach is tested with tokens in
handsup/platform/tests/test_api_*.py and tests/test_api_schemathesis.py. The token pages
are for group A's admins and platform admins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.authorisation.matrix import ADMINISTER_A, NONE, Expect


def _manage_a(suffix: str) -> Callable[[Any], str]:
    return lambda world: f"/groups/manage/{world.groups['group_a'].public_id}/{suffix}"


def _token_a(suffix: str) -> Callable[[Any], str]:
    def build(world: Any) -> str:
        from handsup.platform.tokens import do_create_token

        made = do_create_token(
            actor=world.users["admin_a"],
            group=world.groups["group_a"],
            name="Matrix",
            scopes=["groups:read"],
            expires_in_days=30,
        )
        return _manage_a(f"api-tokens/{made.token.public_id}/{suffix}")(world)

    return build


def _need_a(suffix: str = "") -> Callable[[Any], str]:
    def build(world: Any) -> str:
        from handsup.needs.models import Need

        need = Need.objects.filter(group=world.groups["group_a"]).first()
        need_id = need.public_id if need else "no-such-need"
        return f"/api/v1/needs/{need_id}{suffix}"

    return build


TOKEN_ONLY = "answers only to an API token (401 to any session)"

API_MATRIX: dict[str, Expect] = {
    "groups/manage/<str:public_id>/api-tokens/": Expect(
        ADMINISTER_A, path=_manage_a("api-tokens/"), why="lists and creates the group's tokens"
    ),
    "groups/manage/<str:public_id>/api-tokens/<str:token_id>/revoke/": Expect(
        ADMINISTER_A, path=_token_a("revoke/"), method="post"
    ),
    "api/v1/groups/me": Expect(NONE, why=TOKEN_ONLY),
    "api/v1/groups/<public_id>": Expect(
        NONE,
        path=lambda world: f"/api/v1/groups/{world.groups['group_a'].public_id}",
        why=TOKEN_ONLY,
    ),
    "api/v1/skills": Expect(NONE, why=TOKEN_ONLY),
    "api/v1/needs": Expect(NONE, why=TOKEN_ONLY),
    "api/v1/needs/<need_id>": Expect(NONE, path=_need_a(), why=TOKEN_ONLY),
    "api/v1/needs/<need_id>/publish": Expect(
        NONE, path=_need_a("/publish"), method="post", why=TOKEN_ONLY
    ),
    "api/v1/needs/<need_id>/close": Expect(
        NONE, path=_need_a("/close"), method="post", why=TOKEN_ONLY
    ),
    "api/v1/needs/<need_id>/shortlist": Expect(NONE, path=_need_a("/shortlist"), why=TOKEN_ONLY),
    "api/v1/needs/<need_id>/invitations": Expect(
        NONE, path=_need_a("/invitations"), why=TOKEN_ONLY
    ),
    "api/v1/members": Expect(NONE, why=TOKEN_ONLY),
    "api/v1/stories": Expect(NONE, why=TOKEN_ONLY),
    "api/v1/tools": Expect(NONE, why=TOKEN_ONLY),
    "api/v1/updates": Expect(NONE, method="post", why=TOKEN_ONLY),
    "api/v1/updates/preview": Expect(NONE, method="post", why=TOKEN_ONLY),
}
