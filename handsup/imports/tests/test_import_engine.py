"""What an import does with good rows: people, profiles, memberships and consents."""

from __future__ import annotations

import pytest

from handsup.accounts.models import User
from handsup.groups.models import Membership
from handsup.imports.engine import IMPORTED_ACTION
from handsup.imports.models import ImportedPerson, ImportJob
from handsup.imports.tests.helpers import run_csv
from handsup.people.models import Person
from handsup.people.offline import has_placeholder_email
from handsup.places.models import PostcodeDistrict
from handsup.privacy.models import AuditEntry, ConsentEvent
from handsup.privacy.register import PurposeCode

pytestmark = pytest.mark.django_db

GOOD = (
    "Name,Email,Postcode,Phone,Skills\n"
    "Ann Archer,Ann@Example.org,m1 1ae,0161 496 0000,leafleting\n"
    "Bob Baker,bob@example.org,M1,,\n"
    "Cat Carter,,,07700 900123,\n"
)


def test_good_rows_become_people_in_the_group(cast, places, tmp_path):
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    audits_before = AuditEntry.objects.count()
    job, report = run_csv(GOOD, actor=organiser, group=group, tmp_path=tmp_path)

    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.updated_count, job.invited_count) == (3, 0, 0)
    assert (job.rejected_count, job.duplicate_count) == (0, 0)
    assert report == ""
    ann = User.objects.get(email="ann@example.org")
    assert not ann.has_usable_password()
    assert ann.full_name == "Ann Archer"
    person = Person.objects.get(user=ann)
    assert (person.postcode, person.district) == ("M1 1AE", "M1")
    assert person.eastings is not None
    assert person.profile.phone == "0161 496 0000"
    assert person.profile.talents == "leafleting"
    assert person.profile.contact_by_email and person.profile.contact_by_phone
    bob = Person.objects.get(display_name="Bob Baker")
    district = PostcodeDistrict.objects.get(code="M1")
    assert (bob.postcode, bob.district) == ("", "M1")
    assert (bob.eastings, bob.northings) == (district.eastings, district.northings)
    cat = User.objects.get(full_name="Cat Carter")
    assert has_placeholder_email(cat)
    assert not cat.person.profile.contact_by_email

    imported = User.objects.filter(pk__in=ImportedPerson.objects.values("user"))
    assert imported.count() == 3
    assert Membership.objects.filter(group=group, user__in=imported, role="member").count() == 3
    events = ConsentEvent.objects.filter(user__in=imported)
    assert {(e.user.full_name, e.purpose.code) for e in events} == {
        ("Ann Archer", PurposeCode.GROUP_EMAIL),
        ("Ann Archer", PurposeCode.GROUP_PHONE),
        ("Bob Baker", PurposeCode.GROUP_EMAIL),
        ("Cat Carter", PurposeCode.GROUP_PHONE),
    }
    assert {(e.source, e.recorded_by, e.group, e.given) for e in events} == {
        (ConsentEvent.Source.IMPORT, organiser, group, True)
    }
    assert all(e.wording == e.purpose.text and e.notice_version_id for e in events)
    # One audit row for the import as a whole, none per row or per consent.
    new_audits = AuditEntry.objects.order_by("pk")[audits_before:]
    assert [a.action for a in new_audits] == [IMPORTED_ACTION]
    assert new_audits[0].details["created"] == 3
    assert new_audits[0].actor == organiser


def test_membership_basis_records_no_consent(cast, places, tmp_path):
    job, _report = run_csv(
        GOOD,
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        tmp_path=tmp_path,
        lawful_basis=ImportJob.LawfulBasis.MEMBERSHIP,
    )
    assert job.created_count == 3
    imported = ImportedPerson.objects.values("user")
    assert not ConsentEvent.objects.filter(user__in=imported).exists()
    assert Membership.objects.filter(user__in=imported).count() == 3


def test_a_movement_wide_import_joins_no_group(cast, places, tmp_path):
    job, _report = run_csv(GOOD, actor=cast.users["platform_admin"], group=None, tmp_path=tmp_path)
    assert job.created_count == 3
    imported = ImportedPerson.objects.filter(group=None).values("user")
    assert not Membership.objects.filter(user__in=imported).exists()
    codes = set(
        ConsentEvent.objects.filter(user__in=imported).values_list("purpose__code", flat=True)
    )
    assert codes == {PurposeCode.FOUND_MOVEMENT}


def test_a_dry_run_counts_and_changes_nothing(cast, places, tmp_path):
    users = User.objects.count()
    job, report = run_csv(
        GOOD + "Dup,bob@example.org,,,\nBad,bad@,,,\n",
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        tmp_path=tmp_path,
        dry_run=True,
    )
    assert job.status == ImportJob.Status.VALIDATED
    assert (job.created_count, job.duplicate_count, job.rejected_count) == (3, 1, 1)
    assert User.objects.count() == users
    assert "bad@" in report and "row 3" in report


def test_first_and_last_name_columns_make_the_name(cast, places, tmp_path):
    job, _report = run_csv(
        "First name;Surname;E-mail address\nDai;Davies;dai@example.org\n",
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        tmp_path=tmp_path,
    )
    assert job.delimiter == ";"
    assert job.mapping == ["first_name", "last_name", "email"]
    assert User.objects.get(email="dai@example.org").full_name == "Dai Davies"


@pytest.mark.parametrize("repeats", [1, 6], ids=["most-rows-new", "many-repeats"])
def test_every_new_person_is_joined_to_their_own_account(cast, places, tmp_path, repeats):
    """New ids are handed out two ways on SQLite (a first import: the staged row's
    position; otherwise one after another), and on PostgreSQL from the sequences. Either
    way each person, profile, membership and consent must belong to the account made
    from the same row, also when left-out rows between them leave gaps."""
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    lines = ["Name,Email,Phone"]
    for n in range(30):
        lines.append(f"Person {n},person{n}@example.org,07700 900{n:03d}")
        if n % 10 == 4:
            for _ in range(repeats):  # the same address again: counted as a duplicate
                lines.append(f"Not Person {n},person{n}@example.org,")
    job, _report = run_csv("\n".join(lines) + "\n", actor=organiser, group=group, tmp_path=tmp_path)
    assert (job.created_count, job.duplicate_count) == (30, 3 * repeats)
    for n in range(30):
        user = User.objects.get(email=f"person{n}@example.org")
        assert user.full_name == f"Person {n}"
        assert user.person.display_name == f"Person {n}"
        assert user.person.profile.phone == f"07700 900{n:03d}"
        assert Membership.objects.filter(user=user, group=group).exists()
        assert ImportedPerson.objects.filter(user=user, group=group).exists()
        assert set(
            ConsentEvent.objects.filter(user=user).values_list("purpose__code", flat=True)
        ) == {PurposeCode.GROUP_EMAIL, PurposeCode.GROUP_PHONE}


def test_a_first_import_runs_no_statement_for_updates(cast, places, tmp_path):
    """A first import must not join the accounts it has just inserted (the planner may
    still think the table nearly empty and scan it once per staged row); statements for
    outcomes no row has are left out. A re-import does run them."""
    from django.db import connection

    statements: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, params, many, context)

    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    with connection.execute_wrapper(record):
        job, _report = run_csv(GOOD, actor=organiser, group=group, tmp_path=tmp_path)
    assert job.created_count == 3
    assert not [sql for sql in statements if sql.startswith('UPDATE "accounts_user"')]
    statements.clear()
    with connection.execute_wrapper(record):
        job, _report = run_csv(
            GOOD.replace("Ann Archer", "Ann Archer-Smith"),
            actor=organiser,
            group=group,
            tmp_path=tmp_path,
        )
    assert job.updated_count == 2  # Cat has no email: a new person each time
    assert [sql for sql in statements if sql.startswith('UPDATE "accounts_user"')]
    assert User.objects.get(email="ann@example.org").full_name == "Ann Archer-Smith"
