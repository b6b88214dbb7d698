"""Imports of people from a group's own lists, and which people each group imported.

An `ImportJob` is one uploaded file on its way in: its column mapping, the lawful basis
the importer stated, where the work has got to (polled by the progress bar) and, once
finished, what happened to every row. `ImportedPerson` remembers that a group brought a
person in, so that re-importing the group's list updates that group's own records and
never anybody else's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel

# Uploaded files and rejected-rows reports are kept this long, then the retention job
# deletes them (the job row and its counts stay, with nothing that names anyone).
IMPORT_FILES_KEPT = timedelta(days=30)


def default_delete_after() -> datetime:
    return timezone.now() + IMPORT_FILES_KEPT


class ImportJob(PublicIdModel):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        VALIDATED = "validated", _("Checked (dry run)")
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Running")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Stage(models.TextChoices):
        WAITING = "", _("Not started")
        READING = "reading", _("Reading and checking rows")
        SAVING = "saving", _("Saving")
        FINISHED = "finished", _("Finished")

    class LawfulBasis(models.TextChoices):
        # The three consent bases record group consents (source "import"); membership
        # records none, so a later consent-based feature never treats it as consent.
        CONSENT_PAPER = "consent_paper", _("They agreed on paper (a sign-up sheet or form)")
        CONSENT_IN_PERSON = (
            "consent_in_person",
            _("They agreed in person or by phone (at a stall, event or phone bank)"),
        )
        CONSENT_ONLINE = "consent_online", _("They agreed on the group's own online form")
        MEMBERSHIP = (
            "legitimate_interests_membership",
            _(
                "They are members of the group: keeping in touch with members about the "
                "group's work is its legitimate interest (no consent is recorded)"
            ),
        )

    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="import_jobs",
        help_text=_("Empty for a movement-wide import, which only platform admins make."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    source_file = models.ForeignKey(
        "core.PrivateFile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The uploaded file; empty for command-line imports and after retention."),
    )
    report_file = models.ForeignKey(
        "core.PrivateFile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The rejected rows, as CSV, once a run has finished."),
    )
    # What the file turned out to be, and how its columns map to our fields.
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    columns = models.JSONField(default=list, blank=True, help_text=_("The header, as read."))
    mapping = models.JSONField(
        default=list,
        blank=True,
        help_text=_('One field name per column ("" = ignored), in column order.'),
    )
    file_errors = models.JSONField(
        default=list, blank=True, help_text=_("Problems with the whole file; none to go on.")
    )
    lawful_basis = models.CharField(max_length=40, choices=LawfulBasis.choices, blank=True)
    dry_run = models.BooleanField(
        default=False, help_text=_("Whether the latest run only checks, changing nothing.")
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPLOADED)
    stage = models.CharField(max_length=20, choices=Stage.choices, blank=True, default="")
    failure = models.CharField(max_length=500, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Progress, committed as the rows are read so a page can poll it.
    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    # What happened (or, after a dry run, would happen) to the rows.
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    invited_count = models.PositiveIntegerField(
        default=0,
        help_text=_("Rows whose email already has an account: counted, never changed."),
    )
    rejected_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    row_errors = models.JSONField(
        default=list,
        blank=True,
        help_text=_("The first problems found, as {row, field, message}; all are in the report."),
    )
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    delete_after = models.DateTimeField(default=default_delete_after)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"Import {self.public_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in {
            self.Status.VALIDATED,
            self.Status.DONE,
            self.Status.FAILED,
            self.Status.CANCELLED,
        }

    @property
    def progress_percent(self) -> int:
        if self.stage == self.Stage.FINISHED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_processed * 100 // self.rows_total)

    @property
    def records_consent(self) -> bool:
        return bool(self.lawful_basis) and self.lawful_basis != self.LawfulBasis.MEMBERSHIP


class ImportedPerson(models.Model):
    """A group (or, with no group, the movement) brought this account in by import.

    Only while the account is unclaimed (nobody has logged in to it) does the group's
    next import update it; after that the person owns it and imports only count it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Found through the unique constraints below; no index of their own. The job is
    # bookkeeping without a database constraint, which would cost the bulk insert a
    # check per row for a link nothing depends on.
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    job = models.ForeignKey(
        ImportJob,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text=_("The import that first brought the person in."),
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group"],
                condition=Q(group__isnull=False),
                name="imported_person_once_per_group",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(group__isnull=True),
                name="imported_person_once_movement_wide",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} imported by {self.group_id}"
