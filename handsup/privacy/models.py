"""The records that let people trust what happens to their data.

* `Purpose` and `PrivacyNotice`: the purposes register and the versioned notice.
* `ConsentEvent`: every consent given or withdrawn, never a boolean on a person.
* `AccessLogEntry`: every read of a person's personal data by someone else.
* `AuditEntry`: every action, who did it, to what, in which group.

The three logs are append-only: a row, once written, is never changed by `save()`.
Erasure (a later issue) removes or anonymises rows set-based, through the field
inventory, never one `save()` at a time.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.privacy.querysets import ConsentEventQuerySet, PrivacyNoticeQuerySet


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    POST = "post", _("Post")


class AppendOnlyModel(models.Model):
    """A log row: created once, never updated through `save()`."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError(
                f"{type(self).__name__} rows are append-only: record a new row instead."
            )
        super().save(*args, **kwargs)


class Purpose(models.Model):
    """One reason we process someone's data, as the person is told it."""

    class LawfulBasis(models.TextChoices):
        CONSENT = "consent", _("Consent")
        LEGITIMATE_INTERESTS = "legitimate_interests", _("Legitimate interests")
        CONTRACT = "contract", _("Contract")
        LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")

    class Scope(models.TextChoices):
        MOVEMENT = "movement", _("The whole movement")
        GROUP = "group", _("One group")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    text = models.TextField(
        _("what the person agrees to"),
        help_text=_("Plain words, as shown to the person when they choose."),
    )
    lawful_basis = models.CharField(_("lawful basis"), max_length=30, choices=LawfulBasis.choices)
    # Support for a party or campaign reveals political opinions (Article 9 UK GDPR).
    special_category_condition = models.CharField(
        _("special-category condition"), max_length=300, blank=True
    )
    scope = models.CharField(
        _("given to"),
        max_length=20,
        choices=Scope.choices,
        help_text=_("Whether a consent for this purpose is given to one group or movement-wide."),
    )
    channel = models.CharField(
        _("contact channel"),
        max_length=10,
        choices=Channel.choices,
        blank=True,
        help_text=_("The one channel this purpose is about (e.g. email), if any."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes register")

    def __str__(self) -> str:
        return self.name


class PrivacyNotice(models.Model):
    """A version of the privacy notice; published versions are never edited."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    text = models.TextField(_("text"))
    published_at = models.DateTimeField(
        _("published"),
        null=True,
        blank=True,
        help_text=_("Empty while a draft. The newest published version is the current one."),
    )
    needs_fresh_consent = models.BooleanField(
        _("needs fresh consent"),
        # A database default too, so rows written by older migrations' code still save.
        default=False,
        db_default=False,
        help_text=_(
            "The change is big enough that people must agree again: each is asked at their "
            "next visit, and until they do, only what needs no consent continues."
        ),
    )

    objects: ClassVar[PrivacyNoticeQuerySet] = PrivacyNoticeQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-version"]
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")

    def __str__(self) -> str:
        return f"Privacy notice, version {self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None and self.published_at <= timezone.now()


class ConsentEvent(AppendOnlyModel):
    """One consent given or withdrawn. The latest row per key is the current state.

    The key is (user, purpose, group, channel): `group` is empty for movement-wide
    purposes, `channel` is empty unless the person chose per channel.
    """

    class Source(models.TextChoices):
        WEB = "web", _("On the website")
        PAPER = "paper", _("On paper")
        PHONE = "phone", _("By phone")
        IMPORT = "import", _("Imported")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_events"
    )
    # No index of its own: the (purpose, group, channel, user, at) index leads with it.
    purpose = models.ForeignKey(
        Purpose, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="consent_events",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True, default="")
    given = models.BooleanField(help_text=_("Given, or (if not) withdrawn."))
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices)
    # The person themselves, or the organiser who took the consent on paper or by phone.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    notice_version = models.ForeignKey(
        PrivacyNotice, on_delete=models.PROTECT, related_name="consent_events"
    )
    wording = models.TextField(help_text=_("The exact words the person was shown."))

    objects: ClassVar[ConsentEventQuerySet] = ConsentEventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        indexes = [
            # Serves "latest row per key" for one person and for a whole audience.
            models.Index(
                fields=["purpose", "group", "channel", "user", "at"],
                name="consent_key_latest_idx",
            ),
        ]

    def __str__(self) -> str:
        # Printed in admin delete confirmations: no one's identity.
        return f"Consent event {self.pk}"


class AccessLogEntry(AppendOnlyModel):
    """Someone (`actor`) read some of another person's (`subject`) personal data."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for reads by an API token, or after the reader's erasure."),
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        # The (subject, at) index below serves every lookup by subject.
        db_index=False,
    )
    purpose = models.CharField(max_length=50, help_text=_('Why it was read, e.g. "member_list".'))
    fields = models.JSONField(default=list, help_text=_("The names of the fields shown."))
    group = models.ForeignKey(
        "groups.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [models.Index(fields=["subject", "at"], name="accesslog_subject_at_idx")]

    def __str__(self) -> str:
        return f"Access log entry {self.pk}"


class AuditEntry(AppendOnlyModel):
    """Who did what to which object, in which group, when.

    `details` holds codes and public ids only, never names or contact details, so the
    audit log never becomes a second copy of anyone's personal data.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=100, help_text=_('e.g. "group.member_role_changed"'))
    object_type = models.CharField(max_length=100, blank=True, help_text=_('e.g. "groups.group"'))
    object_public_id = models.CharField(max_length=64, blank=True)
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["group", "at"], name="audit_group_at_idx"),
            models.Index(fields=["object_type", "object_public_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"Audit entry {self.pk}: {self.action}"


class ErasedIdentity(models.Model):
    """What is left of an erased person: a one-way hash of an email address they used, so
    that the address is never emailed or imported again. Nothing here can be read back
    into the address; only someone who already knows it can recognise it
    (`handsup.privacy.erased.identity_digest`)."""

    digest = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("erased identity")
        verbose_name_plural = _("erased identities")

    def __str__(self) -> str:
        return f"Erased identity {self.pk}"


class DataExport(PublicIdModel):
    """One "download my data" request: built in the background, downloadable by its
    owner until `expires_at`, then its file is deleted."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Being built")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # 0–100, for the progress bar.
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.ForeignKey(
        "core.PrivateFile", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # What went wrong, in words for the person (never a traceback).
    failure = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        indexes = [models.Index(fields=["user", "created_at"], name="export_user_created_idx")]

    def __str__(self) -> str:
        return f"Data export {self.public_id}"


class DataRequest(PublicIdModel):
    """A data-protection request (access, erasure, rectification, objection), however it
    arrived, on the data protection officer's desk: received on a date, due one calendar
    month later (extendable to three months, with a recorded reason, within the first
    month), identity checked before anything is done."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access (a copy of their data)")
        ERASURE = "erasure", _("Erasure")
        RECTIFICATION = "rectification", _("Rectification (correct their data)")
        OBJECTION = "objection", _("Objection (stop processing)")

    class Channel(models.TextChoices):
        WEB = "web", _("On the website")
        EMAIL = "email", _("By email")
        POST = "post", _("By post")
        PHONE = "phone", _("By phone")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        IDENTITY_CHECKED = "identity_checked", _("Identity checked")
        COMPLETED = "completed", _("Completed")
        REFUSED = "refused", _("Refused")

    kind = models.CharField(max_length=15, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # Whose data, once the desk has matched the request to an account.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="data_requests",
    )
    # How the requester described themselves (a name and address from a letter, say),
    # until the desk matches them; cleared when the request is closed.
    requester_details = models.TextField(blank=True)
    received_on = models.DateField()
    due_on = models.DateField()
    extended_to = models.DateField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    identity_checked_at = models.DateTimeField(null=True, blank=True)
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # How identity was checked, in words (never a copy of the document).
    identity_check_note = models.CharField(max_length=300, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        verbose_name = _("data-protection request")
        verbose_name_plural = _("data-protection requests")
        indexes = [models.Index(fields=["status", "due_on"], name="data_request_due_idx")]

    def __str__(self) -> str:
        return f"Data request {self.public_id}"


class ReconfirmRequest(models.Model):
    """A volunteer inactive for long enough was asked whether to keep their account;
    unless they sign in or confirm by `anonymise_after`, retention erases it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reconfirm_requests"
    )
    asked_at = models.DateTimeField()
    anonymise_after = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["anonymise_after"], name="reconfirm_due_idx")]

    def __str__(self) -> str:
        return f"Reconfirm request {self.pk}"


class RetentionRun(models.Model):
    """One run of retention (scheduled, or `handsup retention`): what it did, or with
    `dry_run` would do, as counts per rule. No personal data in `report`."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The moment the rules were applied as of (the clock, or a test's).
    as_of = models.DateTimeField()
    dry_run = models.BooleanField(default=False)
    report = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Retention run {self.pk}"


class AccessLogSummary(models.Model):
    """Access-log rows older than the kept period, aggregated: how many reads of which
    purpose a group made in a month, with nobody named."""

    month = models.DateField(help_text=_("The first day of the month."))
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    purpose = models.CharField(max_length=50)
    reads = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["group", "month"], name="access_summary_group_idx")]

    def __str__(self) -> str:
        return f"{self.reads} reads for {self.purpose} in {self.month:%Y-%m}"
