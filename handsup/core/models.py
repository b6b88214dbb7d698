"""Shared infrastructure rows: scheduled job runs, private files, demo mail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.core.storage import private_storage


class JobRun(models.Model):
    """One row per periodic job and period: the unique key is the once-only claim."""

    job = models.CharField(max_length=100)
    period_start = models.DateTimeField()
    claimed_at = models.DateTimeField(auto_now_add=True)
    claimed_by = models.CharField(max_length=100)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    # How many times the job body ran for this period: always 1 once finished.
    run_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "period_start"], name="jobrun_once_per_period"),
        ]
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"{self.job} @ {self.period_start:%Y-%m-%d %H:%M}"


class PrivateFile(PublicIdModel):
    """A file with no public URL (imports, exports): served only by a checked view."""

    file = models.FileField(storage=private_storage, upload_to="%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="private_files"
    )
    group = models.ForeignKey(
        "groups.Group",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="private_files",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class DemoMail(models.Model):
    """Mail captured in demo mode so the demo "sent mail" page can show it."""

    sent_at = models.DateTimeField(auto_now_add=True)
    to = models.TextField()
    subject = models.CharField(max_length=500)
    body = models.TextField()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return self.subject
