"""The authorisation matrix: for every URL, which personas get a 2xx.

Everyone not listed must be refused (403, 404, 405, or a redirect away). A URL the
resolver knows but this table does not fails the test, so every new view must come
here with its answer per persona. Admin pages are generated per registered model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PERSONAS = (
    "anonymous",
    "volunteer",
    "volunteer_no_consent",
    "volunteer_other",
    "organiser_a",
    "admin_a",
    "organiser_b",
    "admin_parent",
    "curator",
    "dpo",
    "platform_admin",
    "organiser_no_mfa",
)
# API tokens scoped to a group arrive with the open-platform issue; until then the
# API has no token-authenticated operation to test them against.

EVERYONE = frozenset(PERSONAS)
SIGNED_IN = EVERYONE - {"anonymous"}
# Privileged personas who have enrolled MFA, and everyone without a privileged role.
ENROLLED = SIGNED_IN - {"organiser_no_mfa"}
PRIVILEGED = frozenset(
    {"organiser_a", "admin_a", "organiser_b", "admin_parent", "curator", "dpo", "platform_admin"}
)
WITH_MFA = PRIVILEGED  # the personas whose MFA is enrolled
NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Expect:
    allowed: frozenset[str]
    # Build the concrete path from the route's parameters; None for a route without any.
    path: Callable[[Any], str] | None = None
    method: str = "get"
    data: dict[str, str] = field(default_factory=dict)
    why: str = ""


def _group_a(world: Any) -> str:
    return f"/groups/{world.groups['group_a'].public_id}/organise/"


def _private_file(world: Any) -> str:
    return f"/files/{world.private_file.public_id}/"


MATRIX: dict[str, Expect] = {
    "": Expect(EVERYONE, why="home page"),
    "about/": Expect(EVERYONE),
    "me/": Expect(ENROLLED),
    "platform/": Expect(frozenset({"platform_admin"})),
    "files/<str:public_id>/": Expect(
        frozenset({"organiser_a", "admin_a", "platform_admin"}),
        path=_private_file,
        why="group A's export, owned by organiser A: its owner and A's admins",
    ),
    "demo/sent-mail/": Expect(NONE, why="404 outside demo mode"),
    "groups/<str:public_id>/organise/": Expect(
        frozenset({"organiser_a", "admin_a", "admin_parent", "platform_admin"}),
        path=_group_a,
        why="A's figures: its organisers and admins, admins of its parent, platform admin",
    ),
    # Account pages: a signed-in person manages their own account only.
    "accounts/login/": Expect(frozenset({"anonymous"}), why="signed-in people are redirected"),
    "accounts/logout/": Expect(SIGNED_IN),
    "accounts/inactive/": Expect(EVERYONE),
    "accounts/signup/": Expect(frozenset({"anonymous"})),
    "accounts/reauthenticate/": Expect(SIGNED_IN),
    "accounts/reauthenticate/code/": Expect(SIGNED_IN, why="one's own reauthentication"),
    "accounts/reauthenticate/code/confirm/": Expect(NONE, why="login by code is off"),
    "accounts/email/": Expect(SIGNED_IN),
    "accounts/confirm-email/": Expect(EVERYONE),
    "accounts/password/change/": Expect(SIGNED_IN),
    "accounts/password/set/": Expect(NONE, why="everyone has a password: redirects"),
    "accounts/password/reset/": Expect(EVERYONE),
    "accounts/login/code/confirm/": Expect(NONE, why="login by code is off"),
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": Expect(
        EVERYONE, path=lambda world: "/accounts/confirm-email/not-a-real-key/"
    ),
    "accounts/password/reset/key/done/": Expect(EVERYONE),
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": Expect(
        EVERYONE, path=lambda world: "/accounts/password/reset/key/1-not-a-key/"
    ),
    "accounts/password/reset/done/": Expect(EVERYONE),
    "accounts/2fa/": Expect(SIGNED_IN),
    "accounts/2fa/authenticate/": Expect(NONE, why="only during a login with MFA"),
    "accounts/2fa/reauthenticate/": Expect(WITH_MFA),
    "accounts/2fa/totp/activate/": Expect(
        SIGNED_IN - WITH_MFA, why="only for people without TOTP yet"
    ),
    "accounts/2fa/totp/deactivate/": Expect(WITH_MFA),
    "accounts/2fa/recovery-codes/": Expect(WITH_MFA),
    "accounts/2fa/recovery-codes/generate/": Expect(SIGNED_IN, why="one's own codes"),
    "accounts/2fa/recovery-codes/download/": Expect(WITH_MFA),
    # The API: only the health check exists so far; docs are public.
    "api/v1/openapi.json": Expect(EVERYONE),
    "api/v1/docs": Expect(EVERYONE),
    "api/v1/health": Expect(EVERYONE),
    "api/v1/": Expect(NONE, why="no operation at the API root"),
}

# The Django admin: staff only, and only the platform admin is staff.
ADMIN_STAFF = frozenset({"platform_admin"})
ADMIN_FIXED: dict[str, Expect] = {
    "admin/": Expect(ADMIN_STAFF),
    "admin/login/": Expect(NONE, why="redirects everyone to allauth's login, MFA included"),
    "admin/logout/": Expect(ADMIN_STAFF, method="post"),
    "admin/password_change/": Expect(ADMIN_STAFF),
    "admin/password_change/done/": Expect(ADMIN_STAFF),
    "admin/autocomplete/": Expect(NONE, why="needs a model and field; 403 for staff"),
    "admin/jsi18n/": Expect(ADMIN_STAFF),
    "admin/r/<path:content_type_id>/<path:object_id>/": Expect(
        NONE, path=lambda world: "/admin/r/1/1/", why="no model has a public page"
    ),
    "admin/(?P<url>.*)$": Expect(NONE, path=lambda world: "/admin/no-such-page/"),
}
# Per registered model: the list, add, and object pages.
ADMIN_MODEL_ROUTES = {
    "": ADMIN_STAFF,
    "add/": ADMIN_STAFF,
    "<path:object_id>/history/": ADMIN_STAFF,
    "<path:object_id>/delete/": ADMIN_STAFF,
    "<path:object_id>/change/": ADMIN_STAFF,
    "<path:object_id>/": NONE,  # redirects to the change page
}
# Pages an admin class switches off: task results are never added or deleted by hand.
ADMIN_SWITCHED_OFF = {
    "django_tasks_database/dbtaskresult/": {"add/", "<path:object_id>/delete/"},
}
