from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator


def has_enrolled_mfa(user: Any) -> bool:
    cached = getattr(user, "_handsup_has_mfa", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._handsup_has_mfa = cached
    return bool(cached)
