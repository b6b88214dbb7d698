"""A cancelled or failed import leaves nothing half-imported."""

from __future__ import annotations

import io

import pytest

from handsup.accounts.models import User
from handsup.groups.models import Membership
from handsup.imports import engine
from handsup.imports.actions import (
    do_cancel_import,
    do_create_command_line_import,
    do_run_import,
)
from handsup.imports.loading import Staging
from handsup.imports.models import ImportedPerson, ImportJob
from handsup.people.models import Person
from handsup.privacy.models import ConsentEvent

pytestmark = pytest.mark.django_db


def _rows(count: int) -> bytes:
    lines = ["Name,Email"] + [f"Person {i},person{i}@example.org" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def _job(cast, content: bytes) -> ImportJob:
    return do_create_command_line_import(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        source=io.BytesIO(content),
        lawful_basis=ImportJob.LawfulBasis.CONSENT_PAPER,
        dry_run=False,
    )


def _nothing_imported() -> None:
    assert not User.objects.filter(email__endswith="@example.org").exists()
    assert not Person.objects.filter(display_name__startswith="Person ").exists()
    assert not ImportedPerson.objects.exists()
    assert not ConsentEvent.objects.filter(source=ConsentEvent.Source.IMPORT).exists()


def test_cancelling_between_batches_rolls_everything_back(cast, places, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_ROWS", 10)
    content = _rows(50)
    job = _job(cast, content)
    seen: list[int] = []

    def cancel_after_first_batch(processed: int, expected: int) -> None:
        seen.append(processed)
        if processed == 10:
            do_cancel_import(actor=cast.users["organiser_a"], job=job)

    outcome = do_run_import(job=job, source=io.BytesIO(content), progress=cancel_after_first_batch)
    job.refresh_from_db()
    assert outcome is None
    assert seen == [10]
    assert job.status == ImportJob.Status.CANCELLED
    _nothing_imported()


def test_a_queued_import_that_is_cancelled_never_runs(cast, places):
    content = _rows(3)
    job = _job(cast, content)
    do_cancel_import(actor=cast.users["organiser_a"], job=job)
    assert job.status == ImportJob.Status.CANCELLED
    assert do_run_import(job=job, source=io.BytesIO(content)) is None
    _nothing_imported()


def test_a_clash_while_saving_rolls_everything_back(cast, places, monkeypatch):
    """Someone signs up with one of the addresses after the rows were classified: the
    insert fails, and none of the other rows (already written) stay."""
    content = _rows(30)
    classify = Staging.classify

    def classify_then_someone_signs_up(self: Staging, *, group_id: int | None) -> None:
        classify(self, group_id=group_id)
        User.objects.create_user("person17@example.org", "a-password-of-theirs")

    monkeypatch.setattr(Staging, "classify", classify_then_someone_signs_up)
    job = _job(cast, content)
    do_run_import(job=job, source=io.BytesIO(content))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "Run the import again" in job.failure
    assert User.objects.filter(email__endswith="@example.org").count() == 0
    assert not ImportedPerson.objects.exists()
    assert (
        not Membership.objects.filter(group=cast.groups["group_a"], role="member")
        .filter(user__email__startswith="person")
        .exists()
    )


def test_an_unexpected_error_fails_the_job_and_imports_nothing(cast, places, monkeypatch):
    content = _rows(30)
    record = Staging._record_consent

    def fail_halfway(self: Staging, plan: object, consent: object, present: set[str]) -> None:
        record(self, plan, consent, present)  # type: ignore[arg-type]
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(Staging, "_record_consent", fail_halfway)
    job = _job(cast, content)
    do_run_import(job=job, source=io.BytesIO(content))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "nothing was imported" in job.failure
    _nothing_imported()


def test_no_privacy_notice_means_no_consent_import(cast, places):
    from handsup.privacy.models import PrivacyNotice

    PrivacyNotice.objects.update(published_at=None)
    content = _rows(3)
    job = _job(cast, content)
    do_run_import(job=job, source=io.BytesIO(content))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "privacy notice" in job.failure
    _nothing_imported()
