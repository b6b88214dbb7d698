"""Retention for imports: files go after `delete_after`; stuck runs are closed.

An uploaded list and its rejected-rows report hold other people's details, so they are
kept only while the importer may still need them (`IMPORT_FILES_KEPT`). The job row
stays, with its counts and nothing that names anyone.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from handsup.core.models import PrivateFile
from handsup.core.schedule import periodic
from handsup.imports.models import ImportJob

# A run that has said nothing for this long died with its worker: its transaction
# never committed, so nothing was imported.
STUCK_AFTER = timedelta(hours=6)
BATCH = 200


@periodic(every=timedelta(hours=1))
def delete_expired_import_files() -> str:
    """Delete the files and row problems of imports past `delete_after`."""
    now = timezone.now()
    expired = (
        ImportJob.objects.filter(delete_after__lte=now)
        .exclude(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
        .filter(Q(source_file__isnull=False) | Q(report_file__isnull=False) | ~Q(row_errors=[]))
    )
    cleared = 0
    while jobs := list(expired.select_related("source_file", "report_file")[:BATCH]):
        for job in jobs:
            _clear(job)
        cleared += len(jobs)
    stuck = ImportJob.objects.filter(
        status=ImportJob.Status.RUNNING, started_at__lt=now - STUCK_AFTER
    ).update(
        status=ImportJob.Status.FAILED,
        stage=ImportJob.Stage.FINISHED,
        finished_at=now,
        failure="The import stopped unexpectedly; nothing was imported.",
    )
    return f"{cleared} expired imports cleared, {stuck} stuck imports closed"


@transaction.atomic
def _clear(job: ImportJob) -> None:
    files = [f for f in (job.source_file, job.report_file) if f is not None]
    ImportJob.objects.filter(pk=job.pk).update(source_file=None, report_file=None, row_errors=[])
    for stored in files:
        name = str(stored.file.name)
        storage = stored.file.storage
        PrivateFile.objects.filter(pk=stored.pk).delete()
        # The stored file goes once the row is gone for certain.
        transaction.on_commit(partial(storage.delete, name))
