"""The import pages, as an organiser uses them: upload, fix the columns, dry run, import,
download what was left out. The background task is run here as the worker would."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from handsup.accounts.models import User
from handsup.groups.models import Membership
from handsup.imports.actions import do_run_import
from handsup.imports.models import ImportJob
from handsup.privacy.models import ConsentEvent
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

LIST = (
    "E-mail,Full name,Post code,Notes\n"
    "ann@example.org,Ann Example,,likes cake\n"
    "bob@example.org,Bob Example,,\n"
    "not-an-email,Carol Example,,\n"
    "ann@example.org,Ann Again,,\n"
)


def _upload(client, cast: Cast, text: str = LIST, name: str = "list.csv"):
    url = f"/groups/manage/{cast.groups['group_a'].public_id}/import/"
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(url, {"file": upload})


def _run_queued(job: ImportJob) -> None:
    """What `handsup worker` does with the queued task."""
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    do_run_import(job=job)
    job.refresh_from_db()


def test_an_organiser_imports_a_list_end_to_end(cast: Cast) -> None:
    client = cast.client_for("organiser_a")
    response = _upload(client, cast)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.public_id}/"

    page = client.get(response["Location"]).content.decode()
    assert "ann@example.org" in page  # the preview
    assert "Carol Example" in page and "not-an-email" in page
    assert 'value="email" selected' in page  # "E-mail" was recognised

    # The importer ignores the notes column explicitly.
    response = client.post(
        f"/imports/{job.public_id}/columns/",
        {"column_0": "email", "column_1": "name", "column_2": "postcode", "column_3": ""},
    )
    assert response.status_code == 302

    # Dry run: counts, nothing written.
    client.post(f"/imports/{job.public_id}/start/", {"dry_run": "1"})
    page = client.get(f"/imports/{job.public_id}/").content.decode()
    assert "import-progress" in page  # the progress bar, polled by htmx
    _run_queued(job)
    assert job.status == ImportJob.Status.VALIDATED
    assert (job.created_count, job.rejected_count, job.duplicate_count) == (2, 1, 1)
    assert not User.objects.filter(email="ann@example.org").exists()
    page = client.get(f"/imports/{job.public_id}/").content.decode()
    assert "What the import would do" in page
    assert "rejected-rows.csv" in page

    # Without a lawful basis nothing starts.
    response = client.post(f"/imports/{job.public_id}/start/", {})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED

    client.post(f"/imports/{job.public_id}/start/", {"lawful_basis": "consent_paper"})
    _run_queued(job)
    assert job.status == ImportJob.Status.DONE
    ann = User.objects.get(email="ann@example.org")
    assert Membership.objects.filter(user=ann, group=cast.groups["group_a"]).exists()
    consent = ConsentEvent.objects.filter(user=ann).first()
    assert consent is not None
    assert consent.source == "import" and consent.recorded_by == cast.users["organiser_a"]

    report = client.get(f"/imports/{job.public_id}/rejected-rows.csv")
    assert report.status_code == 200
    text = b"".join(report.streaming_content).decode()  # type: ignore[attr-defined]
    assert "not-an-email" in text and "Ann Again" in text


def test_progress_fragment_polls_until_done_then_reloads(cast: Cast) -> None:
    client = cast.client_for("organiser_a")
    _upload(client, cast)
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.public_id}/start/", {"dry_run": "1"})
    fragment = client.get(f"/imports/{job.public_id}/progress/", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in fragment.content.decode()
    assert "HX-Refresh" not in fragment
    _run_queued(job)
    fragment = client.get(f"/imports/{job.public_id}/progress/", headers={"HX-Request": "true"})
    assert fragment["HX-Refresh"] == "true"


def test_cancelling_a_queued_import_keeps_nothing(cast: Cast) -> None:
    client = cast.client_for("organiser_a")
    _upload(client, cast)
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.public_id}/start/", {"lawful_basis": "consent_paper"})
    client.post(f"/imports/{job.public_id}/cancel/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert do_run_import(job=job) is None
    assert not User.objects.filter(email="bob@example.org").exists()


def test_an_empty_file_is_refused_at_upload(cast: Cast) -> None:
    response = _upload(cast.client_for("organiser_a"), cast, "")
    assert response.status_code == 400
    assert "That file is empty." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_with_duplicate_headers_is_explained_and_cannot_run(cast: Cast) -> None:
    client = cast.client_for("organiser_a")
    response = _upload(client, cast, "name,name\nAnn,Ann\n")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Before this file can be imported" in page
    assert "Dry run: check every row" not in page
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.public_id}/start/", {"dry_run": "1"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED  # nothing was queued


def test_another_group_cannot_see_or_touch_the_import(cast: Cast) -> None:
    _upload(cast.client_for("organiser_a"), cast)
    job = ImportJob.objects.get()
    other = cast.client_for("organiser_b")
    for path in ("", "progress/", "rejected-rows.csv"):
        assert other.get(f"/imports/{job.public_id}/{path}").status_code == 404
    assert other.post(f"/imports/{job.public_id}/start/", {"dry_run": "1"}).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED
    # Nor upload into group A.
    assert _upload(other, cast).status_code == 404


def test_the_list_of_imports_logs_whose_names_it_shows(cast: Cast) -> None:
    from handsup.privacy.models import AccessLogEntry

    _upload(cast.client_for("organiser_a"), cast)
    page = cast.client_for("admin_a").get(
        f"/groups/manage/{cast.groups['group_a'].public_id}/import/"
    )
    assert cast.users["organiser_a"].full_name in page.content.decode()
    assert AccessLogEntry.objects.filter(
        actor=cast.users["admin_a"], subject=cast.users["organiser_a"], purpose="import_list"
    ).exists()
