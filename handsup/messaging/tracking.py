"""What the mail provider tells us after sending: bounces, refusals and spam complaints.

`django-anymail`'s webhooks (mounted at `/anymail/<provider>/tracking/` when a provider
is configured: see settings `ANYMAIL_WEBHOOKS`) turn each provider's events into one
`anymail.signals.tracking` signal, which `on_tracking_event` receives (connected in
`MessagingConfig.ready`). For a hard bounce, a provider's refusal or a complaint it:

* records an `AddressSuppression` for the account whose address it is (case-insensitive;
  one active row per account and address, so repeated events add nothing), which pacing
  reads: every later message to that address is suppressed, with the reason
  `address_bounced` or `complained` in the person's ledger;
* marks the outbox row the event is about (`OutboxItem.feedback`) and counts it once on
  its message (`bounced_count`, `complained_count`) for the sender's history.

Soft bounces (`deferred`) and every other event change nothing: the provider retries
those itself, and a final failure arrives as `bounced`.

Which message an event is about: we set the Message-ID from the idempotency key
(`delivery.message_id_header`), and most providers hand it back, as the event's
`message_id` (Mailgun, Postal) or inside the raw event (SendGrid's `smtp-id`, Amazon
SES's `mail.commonHeaders`). We look for our own ids in both and match them against the
person's recent mail (their ledger, a few hundred rows by an index). An event that names
none of ours still suppresses the address; it just counts on no message.

The suppression ends when the person confirms the address again (allauth's
`email_confirmed`: they clicked a link we emailed there, so it works now), from the
link on their ledger page. A changed address never matched it in the first place.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.db import IntegrityError, transaction
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from handsup.accounts.models import User
from handsup.messaging.delivery import message_id_domain, message_id_header
from handsup.messaging.models import (
    AddressSuppression,
    Decision,
    LedgerEntry,
    Message,
    OutboxItem,
    Reason,
)
from handsup.privacy.audit import record_audit

logger = logging.getLogger("handsup.messaging.tracking")

Cause = AddressSuppression.Cause

# The provider's event types that stop mail to an address, and what we call them.
CAUSES: dict[str, str] = {
    EventType.BOUNCED: Cause.BOUNCED,
    EventType.REJECTED: Cause.REJECTED,
    EventType.COMPLAINED: Cause.COMPLAINED,
}
# How far back an event's message is looked for in the person's ledger.
MATCH_WINDOW = timedelta(days=60)
MATCH_ROWS = 500


@dataclass(frozen=True)
class Feedback:
    """One provider event, as much of it as we keep."""

    address: str
    cause: str
    at: datetime
    detail: str
    provider: str
    message_ids: frozenset[str]  # every id of ours it mentions, bare ("hex@domain")


@receiver(tracking, dispatch_uid="messaging.record_mail_feedback")
def on_tracking_event(*, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    cause = CAUSES.get(str(event.event_type))
    if cause is None or not event.recipient:
        return
    feedback = Feedback(
        address=str(event.recipient).strip().lower(),
        cause=cause,
        at=event.timestamp or timezone.now(),
        detail=" ".join(str(event.mta_response or event.description or "").split())[:300],
        provider=str(esp_name or "")[:40],
        message_ids=frozenset(our_message_ids(event)),
    )
    do_record_feedback(feedback=feedback)


def our_message_ids(event: AnymailTrackingEvent) -> set[str]:
    """The Message-IDs of ours an event mentions: its `message_id`, its metadata, or
    anywhere in the raw event. Bare and lower-cased, without angle brackets."""
    pattern = re.compile(rf"[0-9a-f]{{32}}@{re.escape(message_id_domain().lower())}")
    texts = [str(event.message_id or ""), str(event.metadata or ""), str(event.esp_event or "")]
    return {found for text in texts for found in pattern.findall(text.lower())}


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").lower()


@transaction.atomic
def do_record_feedback(*, feedback: Feedback) -> AddressSuppression | None:
    """Suppress the address and count the event on its message; None when the address
    is nobody's (mail to an erased account, or a forwarded address we never sent to)."""
    user = (
        User.objects.filter(email=feedback.address).first()
        or User.objects.filter(email__iexact=feedback.address).first()
    )
    if user is None:
        logger.info("%s event for an address of no account: ignored", feedback.cause)
        return None
    message_id = _find_message(user, feedback.message_ids)
    suppression = AddressSuppression.objects.filter(
        user=user, address=feedback.address, cleared_at__isnull=True
    ).first()
    if suppression is None:
        try:
            with transaction.atomic():
                suppression = AddressSuppression.objects.create(
                    user=user,
                    address=feedback.address,
                    cause=feedback.cause,
                    reason=(
                        Reason.COMPLAINED
                        if feedback.cause == Cause.COMPLAINED
                        else Reason.ADDRESS_BOUNCED
                    ),
                    detail=feedback.detail,
                    provider=feedback.provider,
                    message_id=message_id,
                    at=feedback.at,
                )
        except IntegrityError:
            # The same event, delivered twice at once: the other one recorded it.
            suppression = AddressSuppression.objects.get(
                user=user, address=feedback.address, cleared_at__isnull=True
            )
        else:
            record_audit(
                actor=None,
                action="messaging.address_suppressed",
                obj=user,
                details={"cause": feedback.cause, "provider": feedback.provider},
            )
    if message_id is not None:
        _count_on_message(user, message_id, feedback.cause)
    return suppression


def _find_message(user: User, message_ids: frozenset[str]) -> int | None:
    """Which of the person's recent messages carried one of these Message-IDs."""
    if not message_ids:
        return None
    recent = (
        LedgerEntry.objects.filter(
            user=user,
            at__gte=timezone.now() - MATCH_WINDOW,
            decision__in=[Decision.SENT, Decision.HELD],
        )
        .order_by("-at")
        .values_list("message_id", flat=True)[:MATCH_ROWS]
    )
    for message_id in recent:
        if _bare(message_id_header(message_id, user.pk)) in message_ids:
            return int(message_id)
    return None


def _count_on_message(user: User, message_id: int, cause: str) -> None:
    """Mark the outbox row; count it on its message the first time only."""
    Feedback = OutboxItem.Feedback
    feedback = Feedback.COMPLAINED if cause == Cause.COMPLAINED else Feedback.BOUNCED
    marked = (
        OutboxItem.objects.filter(message_id=message_id, user_id=user.pk)
        .exclude(feedback=feedback)
        .update(feedback=feedback)
    )
    if marked:
        column = "complained_count" if feedback == Feedback.COMPLAINED else "bounced_count"
        Message.objects.filter(pk=message_id).update(**{column: F(column) + 1})


@transaction.atomic
def do_clear_suppression(*, user: User, address: str, via: str) -> int:
    """Start emailing `address` again (it was confirmed to work); returns rows cleared."""
    cleared = AddressSuppression.objects.filter(
        user=user, address=address.strip().lower(), cleared_at__isnull=True
    ).update(cleared_at=timezone.now())
    if cleared:
        record_audit(
            actor=user, action="messaging.address_unsuppressed", obj=user, details={"via": via}
        )
    return cleared


@receiver(email_confirmed, dispatch_uid="messaging.clear_suppression_on_confirmation")
def clear_on_confirmation(*, email_address: EmailAddress, **kwargs: Any) -> None:
    do_clear_suppression(
        user=email_address.user, address=email_address.email, via="email_confirmed"
    )


def active_suppression(user: User) -> AddressSuppression | None:
    """The suppression stopping mail to the person's current address, if any."""
    return (
        AddressSuppression.objects.filter(
            user=user, address=user.email.lower(), cleared_at__isnull=True
        )
        .order_by("-at")
        .first()
    )
