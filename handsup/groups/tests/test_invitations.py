"""An import that names someone who already has an account invites them instead: the
account is not changed, and its owner decides on their own page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from handsup.groups.models import GroupBlock, GroupInvitation, Membership
from handsup.imports.actions import do_run_import, do_start_import, do_upload_import
from handsup.imports.models import ImportJob
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db


def _import(cast: Cast, *, dry_run: bool = False) -> ImportJob:
    other = cast.users["volunteer_other"]  # has an account, member of group B only
    text = f"email,name\n{other.email},Somebody Else\nnew.person@example.org,New Person\n"
    job = do_upload_import(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        upload=SimpleUploadedFile("list.csv", text.encode(), content_type="text/csv"),
        name="list.csv",
    )
    do_start_import(
        actor=cast.users["organiser_a"],
        job=job,
        dry_run=dry_run,
        lawful_basis="" if dry_run else ImportJob.LawfulBasis.CONSENT_PAPER,
    )
    do_run_import(job=job)
    job.refresh_from_db()
    return job


def test_an_existing_account_is_invited_not_changed(cast: Cast) -> None:
    other = cast.users["volunteer_other"]
    name_before = other.full_name
    job = _import(cast)
    assert job.invited_count == 1
    other.refresh_from_db()
    assert other.full_name == name_before  # "Somebody Else" was not written
    assert not Membership.objects.filter(user=other, group=cast.groups["group_a"]).exists()
    invitation = GroupInvitation.objects.get(user=other)
    assert invitation.group == cast.groups["group_a"]
    # Importing the same list again does not invite twice.
    _import(cast)
    assert GroupInvitation.objects.filter(user=other).count() == 1


def test_a_dry_run_invites_nobody(cast: Cast) -> None:
    _import(cast, dry_run=True)
    assert not GroupInvitation.objects.exists()


def test_someone_who_blocked_the_group_is_not_invited(cast: Cast) -> None:
    GroupBlock.objects.create(user=cast.users["volunteer_other"], group=cast.groups["group_a"])
    job = _import(cast)
    assert job.invited_count == 1  # counted, as the report promises
    assert not GroupInvitation.objects.exists()


def test_the_invited_person_joins_from_their_page(cast: Cast) -> None:
    _import(cast)
    invitation = GroupInvitation.objects.get()
    client = cast.client_for("volunteer_other")
    page = client.get("/me/").content.decode()
    assert f"{cast.groups['group_a'].name} invites you to join it." in page
    # Nobody else can answer it, and a GET changes nothing.
    assert (
        cast.client_for("volunteer")
        .post(f"/groups/invitations/{invitation.public_id}/", {"decision": "join"})
        .status_code
        == 404
    )
    assert client.get(f"/groups/invitations/{invitation.public_id}/").status_code == 405
    response = client.post(f"/groups/invitations/{invitation.public_id}/", {"decision": "join"})
    assert response.status_code == 302
    assert Membership.objects.filter(
        user=cast.users["volunteer_other"], group=cast.groups["group_a"]
    ).exists()
    invitation.refresh_from_db()
    assert invitation.accepted is True and invitation.answered_at is not None
    assert "invites you to join" not in client.get("/me/").content.decode()


def test_no_thanks_closes_the_invitation(cast: Cast) -> None:
    _import(cast)
    invitation = GroupInvitation.objects.get()
    client = cast.client_for("volunteer_other")
    client.post(f"/groups/invitations/{invitation.public_id}/", {"decision": "decline"})
    invitation.refresh_from_db()
    assert invitation.accepted is False
    assert not Membership.objects.filter(
        user=cast.users["volunteer_other"], group=cast.groups["group_a"]
    ).exists()
