"""Organisers, admins and movement-wide roles must enrol MFA before using the site."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from handsup.accounts.mfa import has_enrolled_mfa
from handsup.groups.permissions import holds_privileged_role

# Pages a privileged person may still reach before enrolling: enrolment itself,
# logging out, and public pages that reveal nothing.
_ALWAYS_ALLOWED_PREFIXES = (
    "/accounts/",
    "/static/",
    "/media/",
    "/api/v1/health",
    "/api/v1/docs",
    "/api/v1/openapi.json",
    "/about/",
)


class RequireMFAForPrivilegedRoles:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and request.path != "/"
            and not request.path.startswith(_ALWAYS_ALLOWED_PREFIXES)
            and holds_privileged_role(user)
            and not has_enrolled_mfa(user)
        ):
            return redirect(reverse("mfa_activate_totp") + "?required=1")
        return self.get_response(request)
