"""Every change messaging makes: `do_*` functions, atomic and audited.

The `check_*` functions validate input and raise `ValidationError` (or return field →
message) with words a person can act on; views call them before the action, and the
actions call them again, so a bad input can never write anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.models import (
    CampaignPeriod,
    ContactLimits,
    Decision,
    Kind,
    Message,
    Unsubscribe,
)
from handsup.messaging.pacing import PacingCounts, pace
from handsup.privacy.audit import record_audit
from handsup.privacy.consent import do_record_consent, has_consent
from handsup.privacy.models import ConsentEvent
from handsup.privacy.register import PurposeCode

KINDS_FROM_A_GROUP = (Kind.ASK, Kind.GROUP_UPDATE, Kind.MOVEMENT_NEWS)


# --- Messages --------------------------------------------------------------------------


def check_message(*, kind: str, group: Group | None, subject: str) -> None:
    """A message's own fields make sense (the composer checks its Markdown itself)."""
    problems: dict[str, str] = {}
    if kind not in Kind.values:
        problems["kind"] = _("Choose what kind of message this is.")
    elif kind in KINDS_FROM_A_GROUP and group is None:
        problems["group"] = _("Choose the group this message is from.")
    if not subject.strip():
        problems["subject"] = _("Give the message a subject.")
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def do_create_message(
    *,
    author: User | None,
    kind: str,
    group: Group | None,
    subject: str,
    body_markdown: str = "",
    body_html: str = "",
    body_text: str = "",
    audience_description: str = "",
) -> Message:
    """A draft: nothing is decided or sent until `do_send_message`."""
    check_message(kind=kind, group=group, subject=subject)
    message = Message.objects.create(
        kind=kind,
        group=group,
        author=author,
        subject=subject.strip(),
        body_markdown=body_markdown,
        body_html=body_html,
        body_text=body_text,
        audience_description=audience_description,
    )
    record_audit(
        actor=author,
        action="messaging.message_drafted",
        obj=message,
        group=group,
        details={"kind": kind},
    )
    return message


def check_sendable(message: Message, audience: models.QuerySet[Any, Any]) -> None:
    """The message can go to this audience: not sent already, and someone to send it to."""
    check_message(kind=message.kind, group=message.group, subject=message.subject)
    if message.sent_at is not None:
        raise ValidationError(_("This message has already been sent."), code="already_sent")
    if not audience.exists():
        raise ValidationError(
            _("Nobody is in this audience: choose who the message goes to."), code="no_audience"
        )


@transaction.atomic
def do_send_message(
    *,
    actor: User | None,
    message: Message,
    audience: models.QuerySet[Any, Any],
    now: datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> PacingCounts:
    """Decide for everyone in `audience` and queue what goes: ledger, outbox, counts.

    One transaction: the ledger rows, the outbox rows, the message's counts and the
    audit row appear together or not at all. The delivery worker picks the outbox rows
    up from their `due_at` (now, or the end of the person's quiet hours).
    """
    now = now or datetime.now(UTC)
    # Lock the row: two clicks on "send" must not pace the message twice.
    locked = Message.objects.using(using).select_for_update().get(pk=message.pk)
    check_sendable(locked, audience)
    counts = pace(locked, audience, now=now, using=using)
    locked.sent_at = now
    locked.recipients = counts.recipients
    locked.sent_count = counts.sent
    locked.held_count = counts.held
    locked.folded_count = counts.folded
    locked.suppressed_count = counts.suppressed
    locked.reason_counts = counts.as_json()
    locked.save(
        using=using,
        update_fields=[
            "sent_at",
            "recipients",
            "sent_count",
            "held_count",
            "folded_count",
            "suppressed_count",
            "reason_counts",
        ],
    )
    # Keep the caller's instance in step with what was stored.
    for name in ("sent_at", "recipients", "sent_count", "held_count", "folded_count"):
        setattr(message, name, getattr(locked, name))
    message.suppressed_count = locked.suppressed_count
    message.reason_counts = locked.reason_counts
    record_audit(
        actor=actor,
        action="messaging.message_sent",
        obj=locked,
        group=locked.group,
        details={
            "kind": locked.kind,
            "recipients": counts.recipients,
            Decision.SENT: counts.sent,
            Decision.HELD: counts.held,
            Decision.FOLDED: counts.folded,
            Decision.SUPPRESSED: counts.suppressed,
            "campaign": counts.campaign.pk if counts.campaign else None,
        },
    )
    if counts.sent:
        # Start delivering at once rather than at the schedule's next tick.
        from handsup.messaging.jobs import kick_delivery

        transaction.on_commit(kick_delivery, using=using)
    return counts


# --- Campaign periods ------------------------------------------------------------------


def check_campaign_period(*, name: str, starts_at: datetime, ends_at: datetime) -> None:
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = _("Give the campaign period a name, like “General election”.")
    if ends_at <= starts_at:
        problems["ends_at"] = _("A campaign period must end after it starts.")
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def do_declare_campaign_period(
    *,
    actor: User | None,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    group: Group | None = None,
) -> CampaignPeriod:
    """Declare a campaign: movement-wide (no group) or for `group` and its sub-groups.

    Who may declare one (a platform admin movement-wide, a group's admins for their
    part of the tree) is the view's permission check, not this function's.
    """
    check_campaign_period(name=name, starts_at=starts_at, ends_at=ends_at)
    period = CampaignPeriod.objects.create(
        name=name.strip(), group=group, starts_at=starts_at, ends_at=ends_at, declared_by=actor
    )
    record_audit(
        actor=actor,
        action="messaging.campaign_declared",
        obj=group,
        group=group,
        details={"campaign_period": period.pk},
    )
    return period


# --- Limits ----------------------------------------------------------------------------


def check_personal_limits(
    *, asks_per_week_normal: int, asks_per_week_campaign: int
) -> dict[str, str]:
    """Field name → message for a person's own limit above the movement's hard limit.

    For the people app's contact-preferences form: a person may ask for fewer, never
    for more than the movement allows.
    """
    limits = ContactLimits.current()
    problems: dict[str, str] = {}
    if asks_per_week_normal > limits.asks_per_week_normal:
        problems["asks_per_week_normal"] = _(
            "The movement sends at most %(n)d asks a week: choose %(n)d or fewer."
        ) % {"n": limits.asks_per_week_normal}
    if asks_per_week_campaign > limits.asks_per_week_campaign:
        problems["asks_per_week_campaign"] = _(
            "During campaigns the movement sends at most %(n)d asks a week: choose %(n)d or fewer."
        ) % {"n": limits.asks_per_week_campaign}
    return problems


@transaction.atomic
def do_set_contact_limits(*, actor: User | None, **values: int) -> ContactLimits:
    """Change the movement's hard limits (platform admins). Raises `ValidationError`."""
    limits = ContactLimits.objects.select_for_update().get_or_create(pk=1)[0]
    unknown = set(values) - {
        f.name for f in ContactLimits._meta.concrete_fields if f.name not in ("id", "updated_at")
    }
    if unknown:
        raise TypeError(f"Not contact limits: {', '.join(sorted(unknown))}.")
    before = {name: getattr(limits, name) for name in values}
    for name, value in values.items():
        setattr(limits, name, value)
    limits.full_clean()
    limits.save()
    record_audit(
        actor=actor,
        action="messaging.contact_limits_changed",
        details={"from": before, "to": values},
    )
    return limits


# --- Unsubscribing ---------------------------------------------------------------------


@transaction.atomic
def do_unsubscribe(
    *,
    user: User,
    scope: str,
    group: Group | None = None,
    kind: str = "",
    via: str = "web",
) -> Unsubscribe:
    """Stop `user`'s mail: everything, one group's, or one kind. Doing it twice is harmless.

    From one group, it also withdraws the `group_email` consent for that group, so the
    consent record (what the person sees, what the DPO reports) says the same as the
    outbox. `via` is "link" for the one-click link in an email, "web" for the site.
    """
    if scope == Unsubscribe.Scope.EVERYTHING:
        group, kind = None, ""
    elif scope == Unsubscribe.Scope.GROUP:
        if group is None:
            raise ValueError("Unsubscribing from a group names the group.")
        kind = ""
    elif scope == Unsubscribe.Scope.KIND:
        if kind not in Kind.values or kind == Kind.SERVICE:
            raise ValueError(f"Can't unsubscribe from {kind!r} messages.")
        group = None
    else:
        raise ValueError(f"Unknown unsubscribe scope {scope!r}.")
    existing = Unsubscribe.objects.filter(user=user, scope=scope, group=group, kind=kind).first()
    if existing is not None:
        return existing
    unsubscribe = Unsubscribe.objects.create(user=user, scope=scope, group=group, kind=kind)
    if group is not None and has_consent(user, PurposeCode.GROUP_EMAIL, group=group):
        do_record_consent(
            user=user,
            purpose=PurposeCode.GROUP_EMAIL,
            given=False,
            source=ConsentEvent.Source.WEB,
            recorded_by=user,
            group=group,
        )
    record_audit(
        actor=user,
        action="messaging.unsubscribed",
        obj=user,
        group=group,
        details={"scope": scope, "kind": kind, "via": via},
    )
    return unsubscribe


@transaction.atomic
def do_resubscribe(*, user: User, unsubscribe: Unsubscribe) -> None:
    """Undo one of `user`'s unsubscribes (consent for a group is given separately)."""
    if unsubscribe.user_id != user.pk:
        raise ValueError("People undo only their own unsubscribes.")
    record_audit(
        actor=user,
        action="messaging.resubscribed",
        obj=user,
        group=unsubscribe.group,
        details={"scope": unsubscribe.scope, "kind": unsubscribe.kind},
    )
    unsubscribe.delete()


# --- Dead letters -----------------------------------------------------------------------


@transaction.atomic
def do_retry_dead_letters(*, actor: User, message: Message) -> int:
    """Give a message's given-up rows another full set of attempts, from now.

    Returns how many were queued again; the message's failed count drops by as many.
    """
    from django.db.models import F
    from django.utils import timezone

    from handsup.messaging.models import OutboxItem

    retried = OutboxItem.objects.filter(message=message, status=OutboxItem.Status.DEAD).update(
        status=OutboxItem.Status.QUEUED,
        attempts=0,
        due_at=timezone.now(),
        lease_until=None,
        last_error="",
    )
    if retried:
        Message.objects.filter(pk=message.pk).update(failed_count=F("failed_count") - retried)
        record_audit(
            actor=actor,
            action="messaging.dead_letters_retried",
            obj=message,
            group=message.group,
            details={"rows": retried},
        )
        from handsup.messaging.jobs import kick_delivery

        transaction.on_commit(kick_delivery)
    return retried
