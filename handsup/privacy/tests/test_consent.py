"""Consent records: every change kept, the latest row is the state, audiences set-based."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from handsup.accounts.models import User
from handsup.privacy.consent import (
    NoPublishedNotice,
    current_consents,
    do_record_consent,
    grant_standard_consents,
    has_consent,
    user_ids_with_consent,
    users_with_consent,
)
from handsup.privacy.models import AuditEntry, ConsentEvent, PrivacyNotice, Purpose
from handsup.privacy.register import PurposeCode
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

EMAIL = PurposeCode.GROUP_EMAIL
FOUND = PurposeCode.FOUND_MOVEMENT


def person(n: int) -> User:
    return User.objects.create_user(f"person{n}@example.invalid", "not-a-real-password")


def audience(purpose, **key) -> set[User]:
    """Those of this test's people (not the personas, who consent too) in the audience."""
    return set(users_with_consent(purpose, **key).filter(email__endswith="@example.invalid"))


def give(user: User, purpose: str = EMAIL, *, given: bool = True, **key) -> ConsentEvent:
    return do_record_consent(
        user=user, purpose=purpose, given=given, source="web", recorded_by=user, **key
    )


def test_every_change_is_kept_and_the_latest_is_the_state(cast: Cast):
    volunteer, organiser = person(1), cast.users["organiser_a"]
    group = cast.groups["group_a"]
    notice = PrivacyNotice.objects.current()

    do_record_consent(
        user=volunteer, purpose=EMAIL, given=True, source="web", recorded_by=volunteer, group=group
    )
    assert has_consent(volunteer, EMAIL, group=group)
    do_record_consent(
        user=volunteer,
        purpose=EMAIL,
        given=False,
        source="phone",
        recorded_by=organiser,
        group=group,
    )
    assert not has_consent(volunteer, EMAIL, group=group)
    do_record_consent(
        user=volunteer,
        purpose=EMAIL,
        given=True,
        source="paper",
        recorded_by=organiser,
        group=group,
        wording="Tick to let the branch email you.",
    )

    history = list(ConsentEvent.objects.filter(user=volunteer).order_by("at", "pk"))
    assert [(e.given, e.source, e.recorded_by) for e in history] == [
        (True, "web", volunteer),
        (False, "phone", organiser),
        (True, "paper", organiser),
    ]
    assert {e.notice_version for e in history} == {notice}
    purpose_text = Purpose.objects.get(code=EMAIL).text
    assert [e.wording for e in history] == [
        purpose_text,
        purpose_text,
        "Tick to let the branch email you.",
    ]
    assert has_consent(volunteer, EMAIL, group=group)
    [current] = current_consents(volunteer)
    assert current == history[-1]


def test_a_new_notice_version_is_cited_from_when_it_is_published(cast: Cast):
    volunteer, group = person(1), cast.groups["group_a"]
    first = give(volunteer, group=group)
    PrivacyNotice.objects.create(version=2, text="Draft, not yet published.")
    assert give(volunteer, group=group).notice_version == first.notice_version
    PrivacyNotice.objects.create(version=3, text="Version three.", published_at=timezone.now())
    assert give(volunteer, group=group).notice_version.version == 3
    first.refresh_from_db()
    assert first.notice_version.version == 1


def test_a_consent_is_per_group_per_purpose_and_per_channel(cast: Cast):
    volunteer, group_a, group_b = person(1), cast.groups["group_a"], cast.groups["group_b"]
    give(volunteer, group=group_a)
    assert has_consent(volunteer, EMAIL, group=group_a)
    assert not has_consent(volunteer, EMAIL, group=group_b)
    assert not has_consent(volunteer, PurposeCode.GROUP_PHONE, group=group_a)
    assert not has_consent(volunteer, FOUND)
    give(volunteer, PurposeCode.SHARE_CONTACT_WITH_GROUP, group=group_a, channel="email")
    assert has_consent(
        volunteer, PurposeCode.SHARE_CONTACT_WITH_GROUP, group=group_a, channel="email"
    )
    assert not has_consent(volunteer, PurposeCode.SHARE_CONTACT_WITH_GROUP, group=group_a)


def test_nobody_has_consent_until_they_give_it(cast: Cast):
    assert not has_consent(cast.users["volunteer_no_consent"], FOUND)
    assert current_consents(cast.users["volunteer_no_consent"]) == []


def test_users_with_consent_counts_only_each_persons_latest_row(cast: Cast):
    group_a, group_b = cast.groups["group_a"], cast.groups["group_b"]
    gave, withdrew, came_back, never, elsewhere, movement_only = (person(n) for n in range(6))
    give(gave, group=group_a)
    give(withdrew, group=group_a)
    give(withdrew, group=group_a, given=False)
    give(came_back, group=group_a, given=False)
    give(came_back, group=group_a)
    give(never, group=group_a, given=False)
    give(elsewhere, group=group_b)
    give(movement_only, FOUND)

    assert audience(EMAIL, group=group_a) == {gave, came_back}
    assert audience(EMAIL, group=group_b) == {elsewhere}
    assert audience(FOUND) == {movement_only}
    # A group purpose asked movement-wide matches nobody: the key includes the group.
    assert list(users_with_consent(EMAIL)) == []
    purpose = Purpose.objects.get(code=EMAIL)
    assert audience(purpose, group=group_a) == {gave, came_back}
    # The id form filters another table's user column without joining the user table.
    ids = user_ids_with_consent(EMAIL, group=group_a)
    ours = User.objects.filter(pk__in=ids, email__endswith="@example.invalid")
    assert set(ours) == {gave, came_back}
    assert "accounts_user" not in str(ids.query)


def test_users_with_consent_orders_by_time_then_by_row(cast: Cast):
    group = cast.groups["group_a"]
    same_moment, back_dated = person(1), person(2)
    purpose = Purpose.objects.get(code=EMAIL)
    notice = PrivacyNotice.objects.current()
    assert notice is not None
    moment = timezone.now()

    def row(user: User, given: bool, at) -> None:
        ConsentEvent.objects.create(
            user=user,
            purpose=purpose,
            group=group,
            given=given,
            at=at,
            source="import",
            notice_version=notice,
            wording=purpose.text,
        )

    # Two rows at the same instant: the one recorded last is the state.
    row(same_moment, True, moment)
    row(same_moment, False, moment)
    # A row imported later but dated earlier does not override a newer choice.
    row(back_dated, True, moment)
    row(back_dated, False, moment - timedelta(days=30))

    assert audience(EMAIL, group=group) == {back_dated}
    assert not has_consent(same_moment, EMAIL, group=group)
    assert has_consent(back_dated, EMAIL, group=group)


def test_users_with_consent_is_one_set_based_statement(cast: Cast, django_assert_num_queries):
    group = cast.groups["group_a"]
    people = [person(n) for n in range(20)]
    for n, someone in enumerate(people):
        give(someone, group=group)
        if n % 3 == 0:
            give(someone, group=group, given=False)
    everyone = users_with_consent(EMAIL, group=group)
    # No ids were fetched to build it: the latest-row test is a subquery in the SQL.
    assert "EXISTS" in str(everyone.query).upper()
    ours = everyone.filter(email__endswith="@example.invalid")
    expected = {p for n, p in enumerate(people) if n % 3}
    with django_assert_num_queries(1):
        found = set(ours)
    assert found == expected
    with django_assert_num_queries(1):
        assert ours.filter(email__startswith="person1").count() == len(
            [p for p in expected if p.email.startswith("person1")]
        )


def test_reads_of_one_person_are_one_query(cast: Cast, django_assert_num_queries):
    volunteer, group = person(1), cast.groups["group_a"]
    give(volunteer, group=group)
    give(volunteer, FOUND)
    give(volunteer, FOUND, given=False)
    with django_assert_num_queries(1):
        assert has_consent(volunteer, EMAIL, group=group)
    with django_assert_num_queries(1):
        current = current_consents(volunteer)
        summary = [(e.purpose.code, e.group.name if e.group else None, e.given) for e in current]
    assert summary == [(FOUND, None, False), (EMAIL, group.name, True)]


def test_recording_consent_writes_an_audit_row(cast: Cast):
    volunteer, organiser = person(1), cast.users["organiser_a"]
    group = cast.groups["group_a"]
    event = do_record_consent(
        user=volunteer,
        purpose=PurposeCode.GROUP_PHONE,
        given=True,
        source="paper",
        recorded_by=organiser,
        group=group,
    )
    entry = AuditEntry.objects.get(object_public_id=volunteer.public_id)
    assert entry.action == "privacy.consent_given"
    assert entry.actor == organiser
    assert entry.group == group
    assert (entry.object_type, entry.object_public_id) == ("accounts.user", volunteer.public_id)
    assert entry.details == {
        "purpose": "group_phone",
        "channel": "",
        "source": "paper",
        "notice_version": 1,
        "consent_event": event.pk,
    }
    do_record_consent(
        user=volunteer,
        purpose=PurposeCode.GROUP_PHONE,
        given=False,
        source="web",
        recorded_by=volunteer,
        group=group,
    )
    assert AuditEntry.objects.latest("pk").action == "privacy.consent_withdrawn"


@pytest.mark.parametrize(
    ("purpose", "key", "message"),
    [
        (EMAIL, {}, "name the group"),
        (FOUND, {"group": "group_a"}, "movement-wide"),
        (EMAIL, {"group": "group_a", "channel": "phone"}, "without a channel"),
        (FOUND, {"channel": "fax"}, "Unknown channel"),
    ],
)
def test_a_key_that_does_not_fit_the_purpose_is_refused(cast: Cast, purpose, key, message):
    if "group" in key:
        key = {**key, "group": cast.groups[key["group"]]}
    someone = person(1)
    with pytest.raises(ValueError, match=message):
        give(someone, purpose, **key)
    assert not ConsentEvent.objects.filter(user=someone).exists()
    assert not AuditEntry.objects.filter(object_public_id=someone.public_id).exists()


def test_unknown_sources_and_purposes_are_refused(cast: Cast):
    volunteer = person(1)
    with pytest.raises(ValueError, match="source"):
        do_record_consent(
            user=volunteer, purpose=FOUND, given=True, source="carrier pigeon", recorded_by=None
        )
    with pytest.raises(Purpose.DoesNotExist):
        give(volunteer, "sell_my_data")
    assert not ConsentEvent.objects.filter(user=volunteer).exists()


def test_consent_needs_a_published_notice(cast: Cast):
    PrivacyNotice.objects.update(published_at=None)
    with pytest.raises(NoPublishedNotice):
        give(person(1), FOUND)


def test_consent_events_are_append_only():
    event = give(person(1), FOUND)
    event.given = False
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    event.refresh_from_db()
    assert event.given


def test_standard_consents_for_personas_and_demo_data(cast: Cast, django_assert_max_num_queries):
    volunteer, organiser = person(1), cast.users["organiser_a"]
    groups = [cast.groups["group_a"], cast.groups["group_b"]]
    with django_assert_max_num_queries(8):
        events = grant_standard_consents(volunteer, groups, source="paper", recorded_by=organiser)
    assert len(events) == 5
    assert has_consent(volunteer, FOUND)
    for group in groups:
        assert has_consent(volunteer, EMAIL, group=group)
        assert has_consent(volunteer, PurposeCode.SHARE_CONTACT_WITH_GROUP, group=group)
        assert not has_consent(volunteer, PurposeCode.GROUP_PHONE, group=group)
    audit = AuditEntry.objects.filter(object_public_id=volunteer.public_id)
    assert [(e.action, e.actor) for e in audit] == [("privacy.consent_given", organiser)] * 5
    assert {e.source for e in ConsentEvent.objects.filter(user=volunteer)} == {"paper"}
    # Running it again records nothing new; a withdrawn consent is given again.
    assert grant_standard_consents(volunteer, groups, source="web", recorded_by=None) == []
    give(volunteer, EMAIL, group=groups[0], given=False)
    [again] = grant_standard_consents(volunteer, groups, source="web", recorded_by=None)
    assert (again.purpose.code, again.group) == (EMAIL, groups[0])
    assert ConsentEvent.objects.filter(user=volunteer).count() == 7
