"""The access log: one row per person shown to someone else, in one insert."""

from __future__ import annotations

import pytest

from handsup.accounts.models import User
from handsup.privacy.access import access_log_for, log_access
from handsup.privacy.models import AccessLogEntry
from tests.authorisation.access_log import access_log_rows
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db


def people(count: int) -> list[User]:
    return [
        User.objects.create_user(f"member{n}@example.invalid", "not-a-real-password")
        for n in range(count)
    ]


def test_a_list_page_logs_every_person_shown_in_one_insert(cast: Cast, django_assert_num_queries):
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    members = people(40)
    with django_assert_num_queries(1):
        log_access(
            actor=organiser,
            subjects=members,
            purpose="member_list",
            fields=["full_name", "email"],
            group=group,
        )
    rows = AccessLogEntry.objects.filter(actor=organiser)
    assert sorted(rows.values_list("subject_id", flat=True)) == sorted(m.pk for m in members)
    assert {(r.purpose, tuple(r.fields), r.group_id) for r in rows} == {
        ("member_list", ("full_name", "email"), group.pk)
    }
    # One instant for the whole page.
    assert len({r.at for r in rows}) == 1


def test_reading_your_own_data_is_not_logged(cast: Cast, django_assert_num_queries):
    organiser = cast.users["organiser_a"]
    [other] = people(1)
    log_access(
        actor=organiser,
        subjects=[organiser.pk, other.pk, other],
        purpose="member_list",
        fields=["full_name"],
    )
    assert list(AccessLogEntry.objects.values_list("actor_id", "subject_id")) == [
        (organiser.pk, other.pk)
    ]
    with django_assert_num_queries(0):
        log_access(actor=organiser, subjects=[organiser], purpose="profile_view", fields=["email"])
    assert AccessLogEntry.objects.count() == 1


def test_a_read_without_a_signed_in_reader_is_logged_without_an_actor(cast: Cast):
    [subject] = people(1)
    log_access(actor=None, subjects=[subject], purpose="api_read", fields=["full_name"])
    entry = AccessLogEntry.objects.get()
    assert (entry.actor, entry.subject) == (None, subject)


@pytest.mark.parametrize(
    ("purpose", "fields"),
    [("Member list!", ["email"]), ("member_list", []), ("member_list", "email")],
)
def test_a_read_must_say_why_and_what(cast: Cast, purpose, fields):
    [subject] = people(1)
    with pytest.raises(ValueError):
        log_access(
            actor=cast.users["organiser_a"], subjects=[subject], purpose=purpose, fields=fields
        )
    assert not AccessLogEntry.objects.exists()


def test_the_ledger_query_and_the_matrix_hook_see_the_rows(cast: Cast, django_assert_num_queries):
    organiser_a, organiser_b = cast.users["organiser_a"], cast.users["organiser_b"]
    volunteer = cast.users["volunteer"]
    log_access(actor=organiser_a, subjects=[volunteer], purpose="member_list", fields=["email"])
    log_access(
        actor=organiser_b,
        subjects=[volunteer],
        purpose="profile_view",
        fields=["full_name"],
        group=cast.groups["group_b"],
    )
    with django_assert_num_queries(1):
        ledger = [(e.actor, e.purpose, e.group) for e in access_log_for(volunteer)]
    assert ledger == [
        (organiser_b, "profile_view", cast.groups["group_b"]),
        (organiser_a, "member_list", None),
    ]
    assert list(access_log_for(organiser_a)) == []
    assert access_log_rows(viewer=organiser_a, subject=volunteer) == 1
    assert access_log_rows(viewer=organiser_a, subject=organiser_b) == 0
    assert access_log_rows(viewer=None, subject=volunteer) == 0


def test_access_log_rows_are_append_only(cast: Cast):
    [subject] = people(1)
    log_access(actor=cast.users["dpo"], subjects=[subject], purpose="dpo_view", fields=["email"])
    entry = AccessLogEntry.objects.get()
    entry.fields = []
    with pytest.raises(TypeError):
        entry.save()
