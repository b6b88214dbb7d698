"""What we send people, what we decided for each of them, and what is waiting to go out.

* `Message`: one piece of mail (a group update, an ask, a digest, movement news or
  service mail) and the counts of what happened to it, for the group's history.
* `LedgerEntry`: one decision per person per message (sent, held, folded into the
  digest, suppressed) and its reason: the person's "what we sent you and what we held
  back", and the history every budget is counted from.
* `OutboxItem`: one row per recipient to deliver, written in the same transaction as
  the decision; the delivery worker claims due rows with an expiring lease.
* `CampaignPeriod`: a declared campaign, movement-wide or for one group's part of the
  tree, during which budgets may rise to the people's own campaign limits.
* `Unsubscribe`: a person's "stop" for everything, one group or one kind of mail.
* `AddressSuppression`: an address the mail provider says bounced or complained.
* `ContactLimits`: the movement's hard limits across all groups (one row).
* `Digest`: one person's digest for one period of their cadence: the once-only key
  (unique per person and period) and what it holds, section by section.

Rows of the first three are written set-based by `pacing.py`, never one `save()` at a
time; its docstring says why each column is what it is.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.messaging.querysets import (
    CampaignPeriodQuerySet,
    LedgerEntryQuerySet,
    OutboxItemQuerySet,
)


class Kind(models.TextChoices):
    SERVICE = "service", _("Service message")
    ASK = "ask", _("Ask for help")
    GROUP_UPDATE = "group_update", _("Group update")
    DIGEST = "digest", _("Digest")
    MOVEMENT_NEWS = "movement_news", _("Movement news")


class Decision(models.TextChoices):
    SENT = "sent", _("Sent")
    HELD = "held", _("Held for quiet hours")
    FOLDED = "folded", _("Folded into the digest")
    SUPPRESSED = "suppressed", _("Not sent")


class Reason(models.TextChoices):
    # Why it went (or will go).
    WITHIN_BUDGET = "within_budget", _("Within your limits")
    SERVICE = "service", _("Service message: always sent")
    QUIET_HOURS = "quiet_hours", _("Your quiet hours: held until they end")
    # Why it was folded into the digest (group updates, news) or refused (asks).
    OVER_BUDGET_DAY = "over_budget_day", _("Over the limit for one day")
    OVER_BUDGET_WEEK = "over_budget_week", _("Over the limit for one week")
    OVER_GROUP_POLICY = "over_group_policy", _("Over the group's own limit for one week")
    DIGEST_CADENCE = "digest_cadence", _("You had a digest more recently than you asked")
    DIGEST_OFF = "digest_off", _("You asked for no digest")
    DIGEST_EMPTY = "digest_empty", _("Nothing new to put in your digest, so we didn't send one")
    # Why it was not sent at all.
    UNSUBSCRIBED = "unsubscribed", _("You unsubscribed")
    NO_CONSENT = "no_consent", _("You have not agreed to this group emailing you")
    BLOCKED = "blocked", _("You blocked this group")
    EMAIL_OFF = "email_off", _("You asked not to be contacted by email")
    NO_ADDRESS = "no_address", _("No usable email address")
    # The mail provider told us the address doesn't work, or that the person reported
    # our mail as spam (`AddressSuppression`).
    ADDRESS_BOUNCED = "address_bounced", _("Your address bounced: we stopped emailing it")
    COMPLAINED = "complained", _("You reported our email as spam: we stopped emailing you")


class Message(PublicIdModel):
    """One message to an audience, with the counts of what pacing and delivery did."""

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        help_text=_("The group it is from; empty for service mail and digests."),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    subject = models.CharField(_("subject"), max_length=200)
    body_markdown = models.TextField(_("message"), blank=True)
    body_html = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    audience_description = models.CharField(
        _("who it goes to"),
        max_length=300,
        blank=True,
        help_text=_('In words, e.g. "all members" or "members with first aid in M1".'),
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When pacing decided for the whole audience (the ledger rows' `at`).
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    held_count = models.PositiveIntegerField(default=0)
    folded_count = models.PositiveIntegerField(default=0)
    suppressed_count = models.PositiveIntegerField(default=0)
    # Counts per "decision:reason", e.g. {"suppressed:no_consent": 12}.
    reason_counts = models.JSONField(default=dict, blank=True)
    # Kept up to date by the delivery worker as the outbox drains.
    delivered_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    # Kept up to date from the mail provider's tracking events (`tracking.py`).
    bounced_count = models.PositiveIntegerField(default=0, db_default=0)
    complained_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["group", "-created_at"], name="message_group_history_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class LedgerEntry(models.Model):
    """The decision for one person and one message, with its reason.

    `kind` and `group` repeat the message's, so budgets are counted from this table
    alone. Only `sent` and `held` rows count against a budget, at their `at` (the
    moment of the decision), so a message held overnight is counted from the evening
    it was decided, not from the morning it leaves.
    """

    # No database-level foreign keys here or in the outbox: pacing writes half a million
    # rows at once, every one from ids it has just joined against their tables, and a
    # per-row key check would double the time. Django still cascades deletes (erasure).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="contact_ledger",
        db_index=False,  # the (user, at) index serves every lookup by user
        db_constraint=False,
    )
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="ledger",
        db_index=False,  # a BRIN index on PostgreSQL (migration 0004), none on SQLite
        db_constraint=False,
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    at = models.DateTimeField()
    decision = models.CharField(max_length=12, choices=Decision.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    release_at = models.DateTimeField(
        null=True, blank=True, help_text=_("For held rows: when the quiet hours end.")
    )
    # Folded rows: the digest that settled them (digests.py), so none is repeated in the
    # next. DO_NOTHING: a digest is only ever deleted with its person, whose ledger rows
    # go too, and SET_NULL would scan this whole unindexed column for each one.
    digest = models.ForeignKey(
        "Digest",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    objects: ClassVar[LedgerEntryQuerySet] = LedgerEntryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("contact ledger entry")
        verbose_name_plural = _("contact ledger")
        # One row per (message, user) is pacing's doing (it decides for each account of
        # the audience once, and `do_send_message` refuses a message already sent), not
        # a unique index's: that index cost every send half a million entries.
        constraints = [
            models.CheckConstraint(
                condition=Q(decision="held", release_at__isnull=False)
                | (~Q(decision="held") & Q(release_at__isnull=True)),
                name="ledger_release_only_when_held",
            ),
        ]
        indexes = [
            # The person's own ledger, and budgets (SQLite probes it person by person).
            models.Index(fields=["user", "at"], name="ledger_user_at_idx"),
            # On PostgreSQL, budgets read the last weeks' rows through a BRIN index on
            # `at` (rows arrive in time order, so it is tiny and nearly free to keep):
            # see migration 0002. A B-tree there would cost every send half a million
            # more index entries.
        ]

    def __str__(self) -> str:
        return f"{self.decision} ({self.reason}) for message {self.message_id}"


class OutboxItem(models.Model):
    """One email to deliver. The delivery worker owns every state after `queued`.

    The pair (message, user) is the per-recipient idempotency key, and `idempotency_key`
    spells it for the Message-ID header, so a worker that crashes after the SMTP server
    accepted a message can't send it again under another id. Pacing writes one row per
    pair (and `do_send_message` refuses a message already sent); no unique index checks
    it again, which would cost every send half a million index entries.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Failed, gave up")
        # The person unsubscribed while it waited (e.g. held overnight): never sent.
        CANCELLED = "cancelled", _("Not sent: unsubscribed before delivery")

    class Feedback(models.TextChoices):
        NONE = "", _("Nothing reported")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Reported as spam")

    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="outbox",
        db_index=False,  # a BRIN index on PostgreSQL (migration 0004), none on SQLite
        db_constraint=False,
    )
    # Unindexed by user alone: the outbox is a queue, kept short by the worker; erasure's
    # cascade scans it, which is cheaper than indexing every row of every send.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Copied when decided, so the worker needs no join and a changed address is not
    # sent a message meant for the old one.
    address = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField(help_text=_("Not before: the end of quiet hours when held."))
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # What the mail provider reported after sending: bounced, complained, or nothing.
    # A database default, because pacing inserts rows without naming it.
    feedback = models.CharField(
        max_length=12, choices=Feedback.choices, blank=True, default="", db_default=""
    )

    objects: ClassVar[OutboxItemQuerySet] = OutboxItemQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("outbox item")
        indexes = [
            # "Claim due rows": status and due time, oldest first.
            models.Index(fields=["status", "due_at"], name="outbox_claim_idx"),
        ]

    def __str__(self) -> str:
        return f"outbox {self.pk} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        return f"{self.message_id}.{self.user_id}"


class CampaignPeriod(models.Model):
    """A declared campaign: movement-wide (no group) or for a group and its sub-groups."""

    name = models.CharField(_("name"), max_length=200)
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="campaign_periods",
        help_text=_("Empty for the whole movement."),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[CampaignPeriodQuerySet] = CampaignPeriodQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError(
                {"ends_at": _("A campaign period must end after it starts.")},
                code="campaign_ends_before_start",
            )


class Unsubscribe(models.Model):
    """A person's "stop": from everything, from one group, or from one kind of mail.

    Service mail (sign-in codes, receipts for what the person did) is never stopped.
    """

    class Scope(models.TextChoices):
        EVERYTHING = "everything", _("Everything")
        GROUP = "group", _("One group")
        KIND = "kind", _("One kind of message")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unsubscribes"
    )
    scope = models.CharField(max_length=12, choices=Scope.choices)
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="everything", group__isnull=True, kind="")
                | Q(scope="group", group__isnull=False, kind="")
                | (Q(scope="kind", group__isnull=True) & ~Q(kind="") & ~Q(kind="service")),
                name="unsubscribe_scope_fits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} unsubscribed ({self.scope})"


class AddressSuppression(models.Model):
    """An address we no longer send to, because the mail provider told us it bounced, was
    rejected, or its owner reported our mail as spam (`tracking.py`).

    Pacing suppresses mail to the account while its current address matches an active
    row (reason `address_bounced` or `complained`). Confirming the address again (the
    email confirmation link) clears it; a changed address never matches.
    """

    class Cause(models.TextChoices):
        BOUNCED = "bounced", _("Bounced")
        REJECTED = "rejected", _("Refused by the mail provider")
        COMPLAINED = "complained", _("Reported as spam")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="address_suppressions"
    )
    # Lower-cased, as pacing compares it with LOWER(the account's address).
    address = models.EmailField()
    cause = models.CharField(max_length=12, choices=Cause.choices)
    reason = models.CharField(
        max_length=20,
        choices=[(r.value, r.label) for r in (Reason.ADDRESS_BOUNCED, Reason.COMPLAINED)],
    )
    # The provider's words (an SMTP reply, usually), for the person and the platform.
    detail = models.CharField(max_length=300, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(help_text=_("When the provider saw it happen."))
    created_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One active suppression per account and address; later events add nothing.
            models.UniqueConstraint(
                fields=["user", "address"],
                condition=Q(cleared_at__isnull=True),
                name="one_active_suppression_per_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.cause} at {self.at:%Y-%m-%d}"


class ContactLimits(models.Model):
    """The movement's hard limits on contact, across all groups (one row).

    People choose their own limits (`people.Profile`) up to these; a group's policy
    (`groups.Group.updates_per_week_*`, bounded by `groups.MovementLimits`) can only be
    stricter. The campaign figures apply while a campaign period covers the message.
    """

    group_updates_per_day = models.PositiveSmallIntegerField(
        _("group updates a person may get in one day, from all groups"),
        default=1,
        validators=[MaxValueValidator(5)],
    )
    group_updates_per_week_normal = models.PositiveSmallIntegerField(
        _("group updates a person may get in a week, from all groups, normally"),
        default=3,
        validators=[MaxValueValidator(14)],
    )
    group_updates_per_week_campaign = models.PositiveSmallIntegerField(
        _("group updates a person may get in a week, from all groups, during campaigns"),
        default=7,
        validators=[MaxValueValidator(21)],
    )
    asks_per_day = models.PositiveSmallIntegerField(
        _("asks for help a person may get in one day"),
        default=1,
        validators=[MaxValueValidator(5)],
    )
    asks_per_week_normal = models.PositiveSmallIntegerField(
        _("asks for help a person may get in a week, normally"),
        default=3,
        validators=[MaxValueValidator(7)],
    )
    asks_per_week_campaign = models.PositiveSmallIntegerField(
        _("asks for help a person may get in a week, during campaigns"),
        default=7,
        validators=[MaxValueValidator(14)],
    )
    news_per_day = models.PositiveSmallIntegerField(
        _("movement news a person may get in one day"),
        default=1,
        validators=[MaxValueValidator(5)],
    )
    news_per_week_normal = models.PositiveSmallIntegerField(
        _("movement news a person may get in a week, normally"),
        default=1,
        validators=[MaxValueValidator(7)],
    )
    news_per_week_campaign = models.PositiveSmallIntegerField(
        _("movement news a person may get in a week, during campaigns"),
        default=3,
        validators=[MaxValueValidator(14)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact limits")
        verbose_name_plural = _("contact limits")

    def __str__(self) -> str:
        return "Contact limits"

    @classmethod
    def current(cls) -> ContactLimits:
        limits, _ = cls.objects.get_or_create(pk=1)
        return limits

    def clean(self) -> None:
        problems: dict[str, str] = {}
        for kind in ("group_updates", "asks", "news"):
            normal = getattr(self, f"{kind}_per_week_normal")
            campaign = getattr(self, f"{kind}_per_week_campaign")
            per_day = getattr(self, f"{kind}_per_day")
            if campaign < normal:
                problems[f"{kind}_per_week_campaign"] = str(
                    _("During campaigns the limit can be the same as normal or higher, not lower.")
                )
            if per_day > campaign:
                problems[f"{kind}_per_day"] = str(
                    _("A day's limit can't be higher than the week's.")
                )
        if problems:
            raise ValidationError(problems)


class Digest(models.Model):
    """One person's digest for one period of their cadence, whatever became of it.

    The row is the once-only claim: (user, period_start) is unique, so however many
    workers build digests at once, a person gets at most one per period. It is written
    for everyone whose period came round, also when there was nothing to say (then
    `item_count` is 0 and the ledger says `digest_empty`), so the run is not repeated
    hourly for them. `sections` is what goes in the email, kept small: for folded
    messages only their ids, since the delivery worker renders the email from it.
    Whether it went is the ledger's row for (`message`, `user`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="digests",
        db_index=False,  # the unique (user, period_start) index serves lookups by user
        db_constraint=False,  # written a batch at a time from ids just joined
    )
    # The local date (in the person's time zone) the period began: a Monday for weekly
    # and fortnightly digests, the 1st for monthly ones.
    period_start = models.DateField()
    cadence = models.CharField(max_length=20)
    # The run's message: its ledger and outbox rows are this digest's.
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="digests",
        db_index=False,
        db_constraint=False,
    )
    since = models.DateTimeField(help_text=_("News after this moment went in."))
    until = models.DateTimeField(help_text=_("When it was put together."))
    item_count = models.PositiveIntegerField(default=0)
    sections = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period_start"], name="digest_once_per_person_and_period"
            ),
        ]

    def __str__(self) -> str:
        return f"digest for {self.user_id} from {self.period_start}"
