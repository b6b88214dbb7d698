"""Uploaded files and reports go after the retention period; stuck runs are closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from handsup.core.models import PrivateFile
from handsup.core.schedule import registered_jobs
from handsup.imports.models import ImportJob
from handsup.imports.retention import delete_expired_import_files

pytestmark = pytest.mark.django_db


def _job(cast, *, delete_after, status=ImportJob.Status.DONE) -> ImportJob:
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    files = []
    for name in ("upload.csv", "rejected.csv"):
        stored = PrivateFile(name=name, owner=organiser, group=group)
        stored.file.save(name, ContentFile(b"Name,Email\nAnn,ann@example.org\n"), save=False)
        stored.save()
        files.append(stored)
    return ImportJob.objects.create(
        group=group,
        created_by=organiser,
        source_file=files[0],
        report_file=files[1],
        status=status,
        row_errors=[{"row": 2, "field": "Email", "message": "“ann@” isn't an email address."}],
        delete_after=delete_after,
    )


def test_the_retention_job_is_on_the_schedule():
    assert any(name.endswith("delete_expired_import_files") for name in registered_jobs())


def test_expired_imports_lose_their_files_and_row_problems(
    cast, django_capture_on_commit_callbacks, private_files_in_tmp
):
    now = timezone.now()
    expired = _job(cast, delete_after=now - timedelta(minutes=1))
    kept = _job(cast, delete_after=now + timedelta(days=1))
    assert expired.source_file is not None and expired.report_file is not None
    expired_paths = [expired.source_file.file.path, expired.report_file.file.path]

    with django_capture_on_commit_callbacks(execute=True):
        outcome = delete_expired_import_files()

    assert outcome is not None
    assert outcome.startswith("1 expired imports cleared")
    expired.refresh_from_db()
    assert (expired.source_file, expired.report_file, expired.row_errors) == (None, None, [])
    assert expired.created_count == 0 and expired.status == ImportJob.Status.DONE
    assert not any(private_files_in_tmp.joinpath(p).exists() for p in expired_paths)
    assert (
        PrivateFile.objects.filter(pk__in=[kept.source_file_id, kept.report_file_id]).count() == 2
    )
    kept.refresh_from_db()
    assert kept.row_errors
    # Running again finds nothing more to do.
    assert str(delete_expired_import_files()).startswith("0 expired")


def test_a_run_that_died_with_its_worker_is_closed(cast):
    job = _job(cast, delete_after=timezone.now() + timedelta(days=1), status="running")
    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(days=1))
    assert str(delete_expired_import_files()).endswith("1 stuck imports closed")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
