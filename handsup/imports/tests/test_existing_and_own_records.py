"""An import never changes, enrols or reveals an existing account; it updates only the
group's own imported records, and never gives back a consent someone withdrew."""

from __future__ import annotations

import pytest

from handsup.accounts.models import User
from handsup.groups.models import Departure, Membership
from handsup.imports.models import ImportedPerson
from handsup.imports.tests.helpers import run_csv
from handsup.people.models import Person
from handsup.privacy.consent import do_record_consent, has_consent
from handsup.privacy.models import ConsentEvent
from handsup.privacy.register import PurposeCode

pytestmark = pytest.mark.django_db


def _import(cast, tmp_path, content, organiser="organiser_a", group="group_a"):
    return run_csv(
        content, actor=cast.users[organiser], group=cast.groups[group], tmp_path=tmp_path
    )


def test_an_existing_account_is_only_counted_as_an_invitation(cast, places, tmp_path):
    existing = cast.users["volunteer_other"]  # a member of group B only
    before = User.objects.values().get(pk=existing.pk)
    person_before = Person.objects.values().get(user=existing)
    events_before = ConsentEvent.objects.filter(user=existing).count()
    content = (
        "Name,Email,Postcode,Phone\n"
        f"Somebody Else,{existing.email.upper()},M1 1AE,0161 496 0999\n"
        "New Person,new@example.org,,\n"
    )
    job, report = _import(cast, tmp_path, content)

    assert (job.created_count, job.invited_count, job.updated_count) == (1, 1, 0)
    assert User.objects.values().get(pk=existing.pk) == before
    assert Person.objects.values().get(user=existing) == person_before
    assert ConsentEvent.objects.filter(user=existing).count() == events_before
    assert not Membership.objects.filter(user=existing, group=cast.groups["group_a"]).exists()
    assert not ImportedPerson.objects.filter(user=existing).exists()
    # Nothing in the job or its report says which row it was.
    assert report == ""
    assert job.row_errors == []
    assert existing.email not in str(job.notes)


def test_reimporting_updates_the_groups_own_records(cast, places, tmp_path):
    first = "Name,Email,Postcode,Phone\nAnn Archer,ann@example.org,M1 1AE,0161 496 0000\n"
    _import(cast, tmp_path, first)
    ann = User.objects.get(email="ann@example.org")
    events = ConsentEvent.objects.filter(user=ann).count()

    second = "Name,Email,Postcode,Phone\nAnn Archer-Smith,ann@example.org,CF10 1AA,\n"
    job, _report = _import(cast, tmp_path, second)

    assert (job.created_count, job.updated_count, job.invited_count) == (0, 1, 0)
    ann.refresh_from_db()
    assert ann.full_name == "Ann Archer-Smith"
    person = Person.objects.get(user=ann)
    assert (person.display_name, person.district) == ("Ann Archer-Smith", "CF10")
    # A blank cell keeps what we had.
    assert person.profile.phone == "0161 496 0000"
    assert ConsentEvent.objects.filter(user=ann).count() == events
    assert User.objects.filter(email="ann@example.org").count() == 1
    first_job = ImportedPerson.objects.get(user=ann).job
    assert first_job is not None and first_job.public_id != job.public_id


def test_a_reimport_never_gives_back_a_withdrawn_consent(cast, places, tmp_path):
    content = "Name,Email\nAnn Archer,ann@example.org\n"
    _import(cast, tmp_path, content)
    ann = User.objects.get(email="ann@example.org")
    group = cast.groups["group_a"]
    do_record_consent(
        user=ann,
        purpose=PurposeCode.GROUP_EMAIL,
        given=False,
        source=ConsentEvent.Source.PHONE,
        recorded_by=cast.users["organiser_a"],
        group=group,
    )
    job, _report = _import(cast, tmp_path, content)
    assert job.updated_count == 1
    assert not has_consent(ann, PurposeCode.GROUP_EMAIL, group=group)


def test_a_claimed_account_is_no_longer_the_groups_to_update(cast, places, tmp_path):
    _import(cast, tmp_path, "Name,Email\nAnn Archer,ann@example.org\n")
    ann = User.objects.get(email="ann@example.org")
    ann.set_password("claimed-and-mine-now")
    ann.save()
    job, _report = _import(cast, tmp_path, "Name,Email\nSomeone Else,ann@example.org\n")
    assert (job.updated_count, job.invited_count) == (0, 1)
    ann.refresh_from_db()
    assert ann.full_name == "Ann Archer"


def test_another_groups_imported_record_is_not_updated(cast, places, tmp_path):
    _import(cast, tmp_path, "Name,Email\nAnn Archer,ann@example.org\n", "organiser_b", "group_b")
    job, _report = _import(cast, tmp_path, "Name,Email\nAnn Changed,ann@example.org\n")
    assert (job.updated_count, job.invited_count) == (0, 1)
    ann = User.objects.get(email="ann@example.org")
    assert ann.full_name == "Ann Archer"
    assert not Membership.objects.filter(user=ann, group=cast.groups["group_a"]).exists()


def test_someone_who_left_the_group_is_not_added_back(cast, places, tmp_path):
    _import(cast, tmp_path, "Name,Email\nAnn Archer,ann@example.org\n")
    ann = User.objects.get(email="ann@example.org")
    group = cast.groups["group_a"]
    Membership.objects.filter(user=ann, group=group).delete()
    Departure.objects.create(user=ann, group=group, retain_until="2099-01-01")
    job, report = _import(cast, tmp_path, "Name,Email\nAnn Archer,ann@example.org\n")
    assert (job.updated_count, job.rejected_count) == (0, 1)
    assert "left the group" in job.row_errors[0]["message"]
    assert "left the group" in report
    assert not Membership.objects.filter(user=ann, group=group).exists()


def test_someone_erased_is_left_out_and_only_counted(cast, places, tmp_path):
    from handsup.privacy.erased import identity_digest
    from handsup.privacy.models import ErasedIdentity

    ErasedIdentity.objects.create(digest=identity_digest("Gone.Person@example.org"))
    content = (
        "Name,Email,Postcode\n"
        "Gone Person,gone.person@EXAMPLE.org,M1 1AE\n"
        "New Person,new@example.org,\n"
    )
    job, report = _import(cast, tmp_path, content)

    assert (job.created_count, job.rejected_count) == (1, 0)
    assert not User.objects.filter(email="gone.person@example.org").exists()
    assert User.objects.filter(email="new@example.org").exists()
    # Counted, never pointed at: nothing says which row it was or whose address.
    assert report == ""
    assert job.row_errors == []
    assert "gone.person" not in str(job.notes).lower()
    assert "1 row was left out" in str(job.notes)
