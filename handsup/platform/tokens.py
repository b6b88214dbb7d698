"""API tokens: made by a group's admin, shown once, stored as a digest, revocable.

A secret is ``hu_`` + 32 random bytes (URL-safe base64). Only its SHA-256 hex digest is
stored, so a token is found by hashing what the caller sent and looking the digest up:
no secret is ever compared character by character, and a leak of the table is useless.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.groups.permissions import group_policy
from handsup.platform.models import ApiToken, Scope
from handsup.privacy.audit import record_audit

SECRET_PREFIX = "hu_"  # noqa: S105 (a label, not a secret)
# How much of the secret the list shows: enough to tell tokens apart, never to use one.
PREFIX_LENGTH = 10
MIN_DAYS = 1
MAX_DAYS = 365


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    # The only time the secret exists outside the caller's hands: show it, then drop it.
    secret: str


@transaction.atomic
def do_create_token(
    *,
    actor: User,
    group: Group,
    name: str,
    scopes: Iterable[str],
    expires_in_days: int,
    now: datetime | None = None,
) -> NewToken:
    """A new token for `group` with `scopes`, expiring in `expires_in_days` days."""
    now = now or timezone.now()
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        group=group,
        name=name.strip(),
        scopes=sorted(set(scopes) & set(Scope.values)),
        prefix=secret[:PREFIX_LENGTH],
        secret_digest=secret_digest(secret),
        created_by=actor,
        expires_at=now + timedelta(days=expires_in_days),
    )
    record_audit(
        actor=actor,
        action="platform.token_created",
        obj=token,
        group=group,
        details={"prefix": token.prefix, "scopes": token.scopes, "days": expires_in_days},
    )
    return NewToken(token=token, secret=secret)


@transaction.atomic
def do_revoke_token(*, actor: User, token: ApiToken) -> ApiToken:
    """Stop a token working from now on (revoking twice changes nothing)."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_audit(
            actor=actor,
            action="platform.token_revoked",
            obj=token,
            group=token.group,
            details={"prefix": token.prefix},
        )
    return token


def find_token(secret: str) -> ApiToken | None:
    """The token with this secret, whatever its state (None when there is none)."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    return (
        ApiToken.objects.filter(secret_digest=secret_digest(secret))
        .select_related("group", "created_by")
        .first()
    )


def token_problem(token: ApiToken, now: datetime | None = None) -> str | None:
    """Why this token may not be used now, in words for the caller; None when it may."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return _("This token has been revoked.")
    if token.expires_at <= now:
        return _("This token has expired.")
    if token.group.status != Group.Status.ACTIVE:
        return _("The token's group is not active.")
    # A token acts for the admin who made it: it stops when they stop being an admin.
    if token.created_by is None or not group_policy.allows(
        token.created_by, "administer", token.group
    ):
        return _("The person who created this token can no longer administer the group.")
    return None


def authenticate(secret: str, now: datetime | None = None) -> ApiToken | None:
    """The usable token with this secret, or None."""
    token = find_token(secret)
    if token is None or token_problem(token, now) is not None:
        return None
    return token
