"""Asks for people who are not online: an organiser phones or writes, then records the answer.

Someone registered on paper or by phone (`people.offline`) may have no email address we
can use. When a group asks them for a need, the invitation goes on the relay list of the
group that registered them: its organisers already have the person's consent to phone
or write (`group_phone`, `group_post`), so they pass the ask on and record the answer.

The one place that says who may relay for whom is `relay_route(group)`: the group
registered the person (the registration's audit row, `people.offline_person_registered`,
names the group) and the person's latest consent for that group still allows phone or
post, and their profile says yes to that channel with a number or address to use. It is
a filter, so the relay list and its count are one query; `may_relay_for`,
`relay_group_ids` and `relayable_user_ids` ask it too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.groups.permissions import group_policy
from handsup.messaging.actions import do_create_message
from handsup.messaging.models import Decision, Kind, LedgerEntry, Message, Reason
from handsup.needs.models import Invitation, Need
from handsup.people.models import Person
from handsup.people.offline import PLACEHOLDER_EMAIL_DOMAIN, REGISTERED_ACTION
from handsup.privacy.audit import record_audit
from handsup.privacy.consent import user_ids_with_consent
from handsup.privacy.models import AuditEntry
from handsup.privacy.register import PurposeCode


class RelayProblem(ValidationError):
    """A relayed answer that can't be recorded; the message is for the organiser."""


# --- Who may relay for whom ---------------------------------------------------------------

PERSON_LABEL = Person._meta.label_lower


def _registered_by(group: Group, prefix: str) -> Q:
    """People `group` registered on paper or by phone: its registration audit rows."""
    registrations = AuditEntry.objects.filter(
        action=REGISTERED_ACTION, object_type=PERSON_LABEL, group=group
    ).values("object_public_id")
    return Q(**{f"{prefix}person__public_id__in": registrations})


def may_phone(group: Group, prefix: str = "") -> Q:
    """Their latest consent lets `group` phone them, they say yes to phone calls, and
    there is a number. `prefix` reaches the user from another model ("user__")."""
    return (
        Q(**{f"{prefix}pk__in": user_ids_with_consent(PurposeCode.GROUP_PHONE, group=group)})
        & Q(**{f"{prefix}person__profile__contact_by_phone": True})
        & ~Q(**{f"{prefix}person__profile__phone": ""})
    )


def may_write(group: Group, prefix: str = "") -> Q:
    """The same for letters: consent to `group` writing, yes to post, an address."""
    return (
        Q(**{f"{prefix}pk__in": user_ids_with_consent(PurposeCode.GROUP_POST, group=group)})
        & Q(**{f"{prefix}person__profile__contact_by_post": True})
        & ~Q(**{f"{prefix}person__profile__postal_address": ""})
    )


def relay_route(group: Group, prefix: str = "") -> Q:
    """The one rule for who `group` may pass asks on to: people it registered, whom it
    may still phone or write to. A filter on users (or, with `prefix`, on a model
    that reaches them), so lists and counts are one query."""
    return _registered_by(group, prefix) & (may_phone(group, prefix) | may_write(group, prefix))


def _registering_groups(user_ids: Collection[int]) -> dict[Group, set[int]]:
    """Each group that registered some of these people, with which of them."""
    rows = AuditEntry.objects.filter(
        action=REGISTERED_ACTION,
        object_type=PERSON_LABEL,
        group__isnull=False,
        object_public_id__in=Person.objects.filter(user_id__in=list(user_ids)).values("public_id"),
    ).values_list("group_id", "object_public_id")
    pairs = list(rows)
    if not pairs:
        return {}
    user_of = dict(
        Person.objects.filter(public_id__in={p for _g, p in pairs}).values_list(
            "public_id", "user_id"
        )
    )
    groups = Group.objects.in_bulk({group_id for group_id, _p in pairs})
    found: dict[Group, set[int]] = {}
    for group_id, public_id in pairs:
        if group_id in groups and user_of.get(public_id) is not None:
            found.setdefault(groups[group_id], set()).add(user_of[public_id])
    return found


def relayable_user_ids(user_ids: Collection[int]) -> set[int]:
    """Which of these people some group may pass asks on to (a query per registering
    group; offline people are registered by one group, or a few)."""
    reachable: set[int] = set()
    for group, members in _registering_groups(user_ids).items():
        reachable |= set(
            User.objects.filter(pk__in=members)
            .filter(relay_route(group))
            .values_list("pk", flat=True)
        )
    return reachable


def relay_group_ids(user_id: int) -> set[int]:
    """The groups that may pass asks on to this person by phone or post."""
    return {
        group.pk
        for group, _members in _registering_groups([user_id]).items()
        if User.objects.filter(pk=user_id).filter(relay_route(group)).exists()
    }


def may_relay_for(actor: User, invitation: Invitation) -> bool:
    """Whether `actor` may record the answer to a relayed invitation: they organise a
    group that registered the invitee and may still phone or write to them."""
    if invitation.channel != Invitation.Channel.RELAY:
        return False
    groups = relay_group_ids(invitation.user_id)
    return (
        bool(groups) and group_policy.groups_for(actor, "organise").filter(pk__in=groups).exists()
    )


def has_no_usable_email(*, email: str, contact_by_email: bool | None) -> bool:
    """No address we may write to: none, the placeholder of someone registered offline,
    or they said no to email."""
    return not email or email.endswith("@" + PLACEHOLDER_EMAIL_DOMAIN) or contact_by_email is False


# --- Counting a relayed ask --------------------------------------------------------------


def record_relayed_asks(
    *, actor: User, need: Need, user_ids: Collection[int], subject: str, body: str, now: datetime
) -> Message | None:
    """Put relayed asks on the contact ledger, so budgets and fairness count them.

    An ask passed on by phone or post is still an ask: it goes on the person's ledger as
    an ask from the need's group, sent within budget at the moment it was decided, like
    any ask pacing sends. It has its own message (the same words as the email), which
    never reaches the outbox: nothing is emailed. Call inside the asking transaction;
    the people are already known to be under their budget (`eligible_people`).
    """
    ids = sorted(set(user_ids))
    if not ids:
        return None
    message = do_create_message(
        author=actor,
        kind=Kind.ASK,
        group=need.group,
        subject=subject,
        body_markdown=body,
        audience_description=ngettext(
            "%(n)d person, by phone or post through the group that registered them",
            "%(n)d people, by phone or post through the groups that registered them",
            len(ids),
        )
        % {"n": len(ids)},
    )
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                user_id=user_id,
                message=message,
                kind=Kind.ASK,
                group=need.group,
                at=now,
                decision=Decision.SENT,
                reason=Reason.WITHIN_BUDGET,
            )
            for user_id in ids
        ]
    )
    Message.objects.filter(pk=message.pk).update(
        sent_at=now,
        recipients=len(ids),
        sent_count=len(ids),
        reason_counts={f"{Decision.SENT}:{Reason.WITHIN_BUDGET}": len(ids)},
    )
    return message


# --- The relay list and its answers ------------------------------------------------------


def relay_invitations(group: Group, *, now: datetime | None = None) -> QuerySet[Invitation]:
    """Pending relayed invitations, for open needs, of the people `group` may relay to,
    each annotated with how: `by_phone`, `by_post`. One query."""
    now = now or timezone.now()
    return (
        Invitation.objects.filter(
            relay_route(group, "user__"),
            channel=Invitation.Channel.RELAY,
            status=Invitation.Status.PENDING,
            expires_at__gt=now,
            need__status=Need.Status.OPEN,
        )
        .annotate(
            by_phone=ExpressionWrapper(may_phone(group, "user__"), output_field=BooleanField()),
            by_post=ExpressionWrapper(may_write(group, "user__"), output_field=BooleanField()),
        )
        .select_related("need__group", "user__person__profile")
        .prefetch_related("need__windows")
        .order_by("expires_at", "pk")
    )


def access_relay_invitation(group: Group, public_id: str) -> Invitation | None:
    """One invitation on `group`'s relay list (any state), or None: the caller 404s."""
    return (
        Invitation.objects.filter(
            relay_route(group, "user__"), channel=Invitation.Channel.RELAY, public_id=public_id
        )
        .select_related("need__group", "user")
        .first()
    )


@dataclass(frozen=True)
class RelayedAnswer:
    yes: bool
    share_phone: bool = False
    reason: str = ""


@transaction.atomic
def do_record_relayed_answer(
    *,
    actor: User,
    invitation: Invitation,
    answer: RelayedAnswer,
    now: datetime | None = None,
) -> Invitation:
    """Record what someone said when an organiser phoned or wrote: yes (and whether
    their phone number may be passed on) or no (and why, if they said).

    The answer goes through the same actions as one given online (`answers.do_accept`,
    `answers.do_decline`), which check the invitation is still open to an answer; here
    we check first that the organiser may relay for this person.
    """
    # answers imports this module to ask `may_relay_for`; import it here, not at the top.
    from handsup.needs import answers

    now = now or timezone.now()
    if not may_relay_for(actor, invitation):
        raise RelayProblem(
            _("You can't record an answer for this person."), code="not_a_relay_organiser"
        )
    if answer.yes:
        answers.do_accept(
            invitation=invitation, actor=actor, share_phone=answer.share_phone, now=now
        )
    else:
        answers.do_decline(invitation=invitation, actor=actor, reason=answer.reason, now=now)
    # The answer actions note `relayed_by` themselves when someone answers for another.
    invitation.refresh_from_db()
    record_audit(
        actor=actor,
        action="needs.relayed_answer_recorded",
        obj=invitation,
        group=invitation.need.group,
        details={
            "need": invitation.need.public_id,
            "answer": "yes" if answer.yes else "no",
            "share_phone": answer.share_phone if answer.yes else False,
            "reason": "" if answer.yes else answer.reason,
        },
    )
    return invitation
