"""Request types for views that only signed-in people reach."""

from __future__ import annotations

from django.http import HttpRequest

from handsup.accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """What a view behind `login_required` receives: `user` is a real account."""

    user: User  # type: ignore[assignment]
