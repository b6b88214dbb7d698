"""allauth adapters: our names for things, and demo-friendly TOTP."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # Service mail (verification, reset) ignores contact budgets by design.
        super().send_mail(template_prefix, email, context)


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_label(self, user: Any) -> str:
        return str(user.email)
