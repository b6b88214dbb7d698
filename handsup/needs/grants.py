"""Reading a volunteer's contact-release grants: what they shared, with whom, until when.

The changes (revoke, renew) are actions in `answers.py`; this module only reads, and only
ever the signed-in person's own grants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.accounts.models import User
from handsup.needs.answers import need_ends_at, renewal_expiry
from handsup.needs.models import ContactGrant, Need


class GrantState:
    CURRENT = "current"
    EXPIRED = "expired"
    REVOKED = "revoked"


STATE_LABELS = {
    GrantState.CURRENT: _("Shared"),
    GrantState.EXPIRED: _("Ended"),
    GrantState.REVOKED: _("You stopped sharing"),
}


@dataclass(frozen=True)
class GrantRow:
    grant: ContactGrant
    state: str
    can_revoke: bool
    can_renew: bool

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def shares_phone(self) -> bool:
        return self.grant.share_phone


def grant_state(grant: ContactGrant, now: datetime) -> str:
    if grant.stopped_early:
        return GrantState.REVOKED
    if grant.revoked_at is not None:
        return GrantState.EXPIRED  # closed by retention once it had ended
    return GrantState.CURRENT if grant.expires_at > now else GrantState.EXPIRED


def is_renewable(grant: ContactGrant, now: datetime) -> bool:
    """The same rule `do_renew_grant` keeps, to show the button only when it would work.

    Needs the grant's need with its windows prefetched for a list."""
    need = grant.need
    if grant.revoked_at is not None or need.status == Need.Status.CLOSED:
        return False
    if need_ends_at(need) <= now:
        return False
    return renewal_expiry(grant, need, now) is not None


def grants_of(user: User, now: datetime | None = None) -> list[GrantRow]:
    """Every grant `user` has made, newest first, with what they can do to each."""
    now = now or timezone.now()
    grants = (
        ContactGrant.objects.filter(user=user)
        .select_related("group", "need", "invitation")
        .prefetch_related("need__windows")
        .order_by("-created_at", "-pk")
    )
    return [
        GrantRow(
            grant=grant,
            state=grant_state(grant, now),
            can_revoke=grant.revoked_at is None,
            can_renew=is_renewable(grant, now),
        )
        for grant in grants
    ]


def access_own_grant(user: User, invitation_public_id: str) -> ContactGrant:
    """One of `user`'s own grants, by its invitation's public id; 404 for anyone else's."""
    grant = (
        ContactGrant.objects.filter(user=user, invitation__public_id=invitation_public_id)
        .select_related("need", "group")
        .first()
    )
    if grant is None:
        raise Http404("No such introduction.")
    return grant
