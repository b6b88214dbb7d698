"""Every change to an import: upload, mapping, start, cancel, run.

The web pages and the command line share these. Views check permission with
`import_policy` (and fetch jobs with `access_import_job`), then call the action.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.core.models import PrivateFile
from handsup.groups.models import Group
from handsup.groups.permissions import group_policy, is_platform_admin
from handsup.imports.columns import mapping_problems
from handsup.imports.engine import (
    FileProblem,
    ImportCancelled,
    ImportOutcome,
    Progress,
    describe_file,
    run_import,
)
from handsup.imports.models import ImportJob
from handsup.privacy.audit import record_audit

logger = logging.getLogger("handsup.imports")

# --- Who may import -----------------------------------------------------------------------


class ImportPolicy:
    """Organisers and admins import into their group; platform admins anywhere, and
    movement-wide (no group)."""

    def may_import(self, user: Any, group: Group | None) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if is_platform_admin(user):
            return True
        return group is not None and group_policy.allows(user, "organise", group)

    def jobs_for(self, user: Any) -> QuerySet[ImportJob]:
        if not getattr(user, "is_authenticated", False):
            return ImportJob.objects.none()
        if is_platform_admin(user):
            return ImportJob.objects.all()
        organised = group_policy.groups_for(user, "organise")
        return ImportJob.objects.filter(Q(group__in=organised))


import_policy = ImportPolicy()


def access_import_job(user: Any, public_id: str) -> ImportJob:
    """The job, if `user` may see it; missing and not-yours fail alike."""
    job = (
        import_policy.jobs_for(user)
        .select_related("group", "source_file", "report_file")
        .filter(public_id=public_id)
        .first()
    )
    if job is None:
        raise Http404("No such import.")
    return job


# --- Upload and mapping -------------------------------------------------------------------


@transaction.atomic
def do_upload_import(
    *, actor: User, group: Group | None, upload: File[Any], name: str
) -> ImportJob:
    """Store the uploaded file privately and read its header.

    The job comes back with its encoding, delimiter, header and a guessed mapping, or
    with `file_errors` saying why the file can't be imported (the page asks for another).
    """
    stored = PrivateFile(name=name[:200], content_type="text/csv", owner=actor, group=group)
    # The stored name says nothing about the contents; the original is kept in `name`.
    stored.file.save("import.csv", upload, save=False)
    stored.save()
    job = ImportJob(group=group, created_by=actor, source_file=stored)
    with stored.file.open("rb") as source:
        _describe_into(job, source, size=stored.file.size)
    job.save()
    record_audit(
        actor=actor,
        action="imports.file_uploaded",
        obj=job,
        group=group,
        details={"rows_estimate": job.rows_total, "readable": not job.file_errors},
    )
    return job


@transaction.atomic
def do_set_mapping(*, actor: User, job: ImportJob, mapping: Sequence[str]) -> list[str]:
    """Use `mapping` (one field name or "" per column); return what still stops the import.

    The mapping is saved even when it has problems, so the page can show it back.
    """
    problems = mapping_problems(job.columns, mapping)
    job.mapping = list(mapping)
    job.file_errors = problems
    job.save(update_fields=["mapping", "file_errors"])
    record_audit(
        actor=actor, action="imports.mapping_changed", obj=job, group=job.group, details={}
    )
    return problems


# --- Running --------------------------------------------------------------------------------


@transaction.atomic
def do_start_import(
    *, actor: User, job: ImportJob, dry_run: bool, lawful_basis: str = ""
) -> ImportJob:
    """Queue a dry run, or the import itself, for the background worker.

    The caller has checked that the job has no `file_errors`, that it isn't already
    queued or running, and (for a real import) that `lawful_basis` is one of
    `ImportJob.LawfulBasis`.
    """
    from handsup.imports.tasks import run_import_job

    if not dry_run and lawful_basis not in ImportJob.LawfulBasis.values:
        raise ValueError(f"An import needs a lawful basis, not {lawful_basis!r}.")
    _reset_for_run(job, dry_run=dry_run)
    if lawful_basis:
        job.lawful_basis = lawful_basis
    job.save()
    # Enqueued in the same transaction: the job is queued exactly when its task is.
    run_import_job.enqueue(job_public_id=job.public_id)
    record_audit(
        actor=actor,
        action="imports.dry_run_queued" if dry_run else "imports.import_queued",
        obj=job,
        group=job.group,
        details={"lawful_basis": job.lawful_basis},
    )
    return job


@transaction.atomic
def do_cancel_import(*, actor: User, job: ImportJob) -> ImportJob:
    """Stop a queued or running import. A running one stops at its next batch and
    rolls back; a queued one never starts."""
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested_at=now)
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.CANCELLED, stage=ImportJob.Stage.FINISHED, finished_at=now
    )
    job.refresh_from_db()
    record_audit(actor=actor, action="imports.import_cancelled", obj=job, group=job.group)
    return job


def do_create_command_line_import(
    *,
    actor: User | None,
    group: Group | None,
    source: IO[bytes],
    lawful_basis: str,
    dry_run: bool,
) -> ImportJob:
    """A queued job for a file on the server's disk, run by `handsup import volunteers`.

    The file is read where it is (it is never copied into storage) and the report is
    written beside it, so the job has no files of its own.
    """
    job = ImportJob(group=group, created_by=actor, lawful_basis=lawful_basis)
    source.seek(0, 2)
    size = source.tell()
    _describe_into(job, source, size=size)
    _reset_for_run(job, dry_run=dry_run)
    job.save()
    return job


def do_run_import(
    *,
    job: ImportJob,
    source: IO[bytes] | None = None,
    progress: Progress | None = None,
    report_path: Path | None = None,
) -> ImportOutcome | None:
    """Run a queued job now: the background task's body, and the command line's.

    Not one transaction: the engine commits progress as it reads and does the import
    itself in one transaction (see `engine.py`). Returns None if the job was not queued
    (cancelled first, or already run). Reads the job's stored file unless `source` is
    given; the rejected rows go to a private file, or to `report_path` if given.
    """
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING,
        stage=ImportJob.Stage.READING,
        started_at=timezone.now(),
    )
    if not claimed:
        return None
    job.refresh_from_db()
    outcome: ImportOutcome | None = None
    status = ImportJob.Status.FAILED
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as report:
        try:
            if source is None:
                if job.source_file is None:
                    raise FileProblem(_("The uploaded file has been deleted."))
                with job.source_file.file.open("rb") as stored:
                    outcome = run_import(
                        job, stored, report=report, dry_run=job.dry_run, progress=progress
                    )
            else:
                outcome = run_import(
                    job, source, report=report, dry_run=job.dry_run, progress=progress
                )
            status = ImportJob.Status.VALIDATED if job.dry_run else ImportJob.Status.DONE
        except ImportCancelled:
            status = ImportJob.Status.CANCELLED
        except FileProblem as problem:
            job.file_errors = [problem.message]
            job.failure = problem.message[:500]
        except IntegrityError:
            logger.warning("Import %s clashed with a concurrent change", job.public_id)
            job.failure = _(
                "Someone joined with one of these email addresses while the import ran, "
                "so nothing was imported. Run the import again."
            )
        except Exception:
            logger.exception("Import %s failed", job.public_id)
            job.failure = _("Something went wrong on our side; nothing was imported.")
        if outcome is not None:
            _store_outcome(job, outcome, report, report_path)
    job.status = status
    job.stage = ImportJob.Stage.FINISHED
    job.finished_at = timezone.now()
    with transaction.atomic():
        job.save()
        if status == ImportJob.Status.DONE:
            # The group's systems hear of the new members once, with the job's counts.
            from handsup.platform.events import emit_import_finished

            emit_import_finished(job)
    return outcome


# --- Helpers ------------------------------------------------------------------------------


def _describe_into(job: ImportJob, source: IO[bytes], *, size: int) -> None:
    try:
        description = describe_file(source, size=size)
    except FileProblem as problem:
        job.file_errors = [problem.message]
        return
    job.encoding = description.file_format.encoding
    job.delimiter = description.file_format.delimiter
    job.columns = description.file_format.header
    job.mapping = description.mapping
    job.file_errors = description.problems
    job.rows_total = description.rows_estimate


def _reset_for_run(job: ImportJob, *, dry_run: bool) -> None:
    job.dry_run = dry_run
    job.status = ImportJob.Status.QUEUED
    job.stage = ImportJob.Stage.WAITING
    job.cancel_requested_at = None
    job.failure = ""
    job.rows_processed = 0
    job.created_count = job.updated_count = job.invited_count = 0
    job.rejected_count = job.duplicate_count = 0
    job.row_errors = []
    job.notes = []
    job.started_at = job.finished_at = None


def _store_outcome(
    job: ImportJob, outcome: ImportOutcome, report: IO[str], report_path: Path | None
) -> None:
    job.rows_total = job.rows_processed = outcome.rows
    job.created_count = outcome.created
    job.updated_count = outcome.updated
    job.invited_count = outcome.invited
    job.rejected_count = outcome.rejected
    job.duplicate_count = outcome.duplicates
    job.row_errors = [error.as_dict() for error in outcome.row_errors]
    job.notes = outcome.notes
    if not (outcome.rejected or outcome.duplicates):
        return
    report.flush()
    report.seek(0)
    if report_path is not None:
        with report_path.open("w", encoding="utf-8", newline="") as out:
            while chunk := report.read(1024 * 1024):
                out.write(chunk)
        return
    if job.created_by is None:
        return
    stored = PrivateFile(
        name=f"rejected-rows-{job.public_id}.csv"[:200],
        content_type="text/csv",
        owner=job.created_by,
        group=job.group,
    )
    with tempfile.TemporaryFile() as binary:
        while chunk := report.read(1024 * 1024):
            binary.write(chunk.encode("utf-8"))
        binary.seek(0)
        stored.file.save("rejected-rows.csv", File(binary), save=False)
    stored.save()
    old = job.report_file
    job.report_file = stored
    if old is not None:
        old.file.delete(save=False)
        old.delete()
