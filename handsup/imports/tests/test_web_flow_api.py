"""The engine's API for the web pages: upload, preview, mapping, dry run, import, report."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django_tasks_db.models import DBTaskResult

from handsup.accounts.models import User
from handsup.core.models import PrivateFile
from handsup.imports.actions import (
    access_import_job,
    do_set_mapping,
    do_start_import,
    do_upload_import,
    import_policy,
)
from handsup.imports.engine import preview_rows
from handsup.imports.models import ImportJob
from handsup.imports.reading import FileFormat
from handsup.imports.tasks import run_import_job

pytestmark = pytest.mark.django_db

CONTENT = (
    "Full name,Email address,Where,Mobile\n"
    "Ann Archer,ann@example.org,M1 1AE,0161 496 0000\n"
    "Bad Email,nope,M1 1AE,\n"
    "Ben Baker,ben@example.org,M1,\n"
)


def _upload(cast, content: str = CONTENT, who: str = "organiser_a") -> ImportJob:
    return do_upload_import(
        actor=cast.users[who],
        group=cast.groups["group_a"],
        upload=SimpleUploadedFile("volunteers.csv", content.encode(), "text/csv"),
        name="volunteers.csv",
    )


def _run_task(job: ImportJob) -> None:
    """What the worker does with the queued task."""
    queued = (
        DBTaskResult.objects.filter(args_kwargs__kwargs__job_public_id=job.public_id)
        .order_by("-enqueued_at")
        .first()
    )
    assert queued is not None
    assert queued.task_path.endswith("run_import_job")
    run_import_job.call(job_public_id=job.public_id)
    job.refresh_from_db()


def test_an_upload_is_stored_privately_and_its_columns_guessed(cast, places):
    job = _upload(cast)
    assert job.status == ImportJob.Status.UPLOADED
    assert job.columns == ["Full name", "Email address", "Where", "Mobile"]
    assert job.mapping == ["name", "email", "", "phone"]
    assert job.file_errors == []
    assert job.rows_total == 3
    stored = job.source_file
    assert stored is not None and stored.owner == cast.users["organiser_a"]
    assert stored.name == "volunteers.csv"
    assert "volunteers" not in str(stored.file.name)  # the stored name says nothing
    with pytest.raises(ValueError, match="no public URL"):
        stored.file.url  # noqa: B018


def test_the_preview_shows_rows_with_their_problems(cast, places):
    job = _upload(cast)
    assert job.source_file is not None
    with job.source_file.file.open("rb") as source:
        rows = preview_rows(
            source,
            FileFormat(job.encoding, job.delimiter, job.columns),
            job.mapping,
            limit=2,
        )
    assert [row.number for row in rows] == [2, 3]
    assert rows[0].errors == []
    assert [e.field for e in rows[1].errors] == ["Email address"]


def test_fixing_the_mapping_then_dry_run_then_import(cast, places):
    organiser = cast.users["organiser_a"]
    job = _upload(cast)
    problems = do_set_mapping(actor=organiser, job=job, mapping=["name", "name", "", ""])
    assert problems and "more than one column" in problems[0]
    assert (
        do_set_mapping(actor=organiser, job=job, mapping=["name", "email", "postcode", "phone"])
        == []
    )

    do_start_import(actor=organiser, job=job, dry_run=True)
    assert job.status == ImportJob.Status.QUEUED
    _run_task(job)
    assert job.status == ImportJob.Status.VALIDATED
    assert (job.created_count, job.rejected_count) == (2, 1)
    assert not User.objects.filter(email="ann@example.org").exists()

    do_start_import(
        actor=organiser, job=job, dry_run=False, lawful_basis=ImportJob.LawfulBasis.CONSENT_ONLINE
    )
    _run_task(job)
    assert job.status == ImportJob.Status.DONE
    assert job.progress_percent == 100
    assert (job.rows_processed, job.rows_total) == (3, 3)
    assert job.created_count == 2
    assert User.objects.filter(email="ann@example.org").exists()
    report = job.report_file
    assert report is not None and report.owner == organiser
    with report.file.open("rb") as stored:
        rows = list(csv.reader(io.StringIO(stored.read().decode())))
    assert rows[0] == ["Row", "Full name", "Email address", "Where", "Mobile", "Problems"]
    assert rows[1][:3] == ["3", "Bad Email", "nope"]
    assert "isn't an email address" in rows[1][-1]


def test_a_real_import_needs_a_lawful_basis(cast, places):
    job = _upload(cast)
    with pytest.raises(ValueError, match="lawful basis"):
        do_start_import(actor=cast.users["organiser_a"], job=job, dry_run=False)


def test_an_unreadable_upload_says_why(cast, places):
    job = _upload(cast, content="just,one\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00line")
    assert job.file_errors
    assert job.source_file is not None
    assert PrivateFile.objects.filter(pk=job.source_file.pk).exists()


def test_who_may_import_and_see_imports(cast, places):
    group_a, group_b = cast.groups["group_a"], cast.groups["group_b"]
    assert import_policy.may_import(cast.users["organiser_a"], group_a)
    assert not import_policy.may_import(cast.users["organiser_a"], group_b)
    assert not import_policy.may_import(cast.users["volunteer_other"], group_b)
    assert not import_policy.may_import(cast.users["organiser_a"], None)
    assert import_policy.may_import(cast.users["platform_admin"], None)
    job = _upload(cast)
    assert access_import_job(cast.users["organiser_a"], job.public_id) == job
    assert access_import_job(cast.users["platform_admin"], job.public_id) == job
    for outsider in ("organiser_b", "volunteer_other"):
        with pytest.raises(Http404):
            access_import_job(cast.users[outsider], job.public_id)
    with pytest.raises(Http404):
        access_import_job(cast.users["organiser_a"], "no-such-import")
