"""One-click unsubscribe tokens (RFC 8058).

Every non-service email carries a link whose token names the person and what the link
stops (everything, one group, or one kind of mail). The token is signed with the site's
secret and a salt of its own, and dated, so it can't be forged, reused for something
else, or kept for ever. Opening the link (GET) only shows a page with a button, because
mail scanners follow links; a POST, with or without the `List-Unsubscribe=One-Click`
body a mail client sends, unsubscribes, without a login.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.models import Kind, Message, Unsubscribe

SALT = "handsup.messaging.unsubscribe"
# Long enough for the oldest email someone might still act on.
MAX_AGE_SECONDS = 180 * 24 * 60 * 60
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


class BadUnsubscribeToken(Exception):
    """The token was altered, is for something else, or has expired (`expired`)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclass(frozen=True)
class UnsubscribeRequest:
    user: User
    scope: str
    group: Group | None = None
    kind: str = ""


def unsubscribe_token(user: User, *, scope: str, group: Group | None = None, kind: str = "") -> str:
    payload: dict[str, Any] = {"u": user.public_id, "s": scope}
    if group is not None:
        payload["g"] = group.public_id
    if kind:
        payload["k"] = kind
    return signing.dumps(payload, salt=SALT, compress=True)


def read_unsubscribe_token(token: str, *, max_age: int | None = None) -> UnsubscribeRequest:
    """The request a token carries; raises `BadUnsubscribeToken` for any bad token."""
    try:
        payload = signing.loads(
            token, salt=SALT, max_age=MAX_AGE_SECONDS if max_age is None else max_age
        )
    except signing.SignatureExpired as error:
        raise BadUnsubscribeToken(expired=True) from error
    except signing.BadSignature as error:
        raise BadUnsubscribeToken(expired=False) from error
    if not isinstance(payload, dict) or payload.get("s") not in Unsubscribe.Scope.values:
        raise BadUnsubscribeToken(expired=False)
    user = User.objects.filter(public_id=payload.get("u"), is_active=True).first()
    if user is None:
        raise BadUnsubscribeToken(expired=False)
    group = None
    if payload["s"] == Unsubscribe.Scope.GROUP:
        group = Group.objects.filter(public_id=payload.get("g")).first()
        if group is None:
            raise BadUnsubscribeToken(expired=False)
    kind = str(payload.get("k", ""))
    if payload["s"] == Unsubscribe.Scope.KIND and (kind not in Kind.values or kind == Kind.SERVICE):
        raise BadUnsubscribeToken(expired=False)
    return UnsubscribeRequest(user=user, scope=payload["s"], group=group, kind=kind)


def unsubscribe_url(token: str) -> str:
    site: str = getattr(settings, "SITE_URL", "")
    return site + reverse("messaging:unsubscribe", args=[token])


def scope_for(message: Message) -> tuple[str, Group | None, str] | None:
    """What the link in `message` stops: its group's mail, or its kind (None: service)."""
    if message.kind == Kind.SERVICE:
        return None
    if message.group is not None:
        return Unsubscribe.Scope.GROUP, message.group, ""
    return Unsubscribe.Scope.KIND, None, message.kind


def list_unsubscribe_headers(user: User, message: Message) -> dict[str, str]:
    """The RFC 8058 headers for `message` to `user` (none for service mail)."""
    scope = scope_for(message)
    if scope is None:
        return {}
    name, group, kind = scope
    url = unsubscribe_url(unsubscribe_token(user, scope=name, group=group, kind=kind))
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK_BODY}
