"""allauth adapters: where people land after logging in, and who may drop their MFA."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest
from django.urls import reverse

from handsup.accounts.mfa import has_enrolled_mfa
from handsup.groups.permissions import holds_privileged_role


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Privileged people without MFA go straight to enrolment, not to the home page.
        if holds_privileged_role(request.user) and not has_enrolled_mfa(request.user):
            return reverse("mfa_activate_totp") + "?required=1"
        return str(super().get_login_redirect_url(request))


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_label(self, user: Any) -> str:
        return str(user.email)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # Organisers, admins and movement-wide roles must keep their second factor.
        return not holds_privileged_role(authenticator.user)
