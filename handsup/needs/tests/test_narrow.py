"""Matching's narrow table (`narrow.py`) and the database path that reads it (`db_path.py`):
the table follows every kind of change in the same transaction, a rebuild gives the
same rows as syncing each person, bit 63 and skills past 64 survive the round trip, and
the database path shows only eligible people, exactly the exact shortlist when its
bound takes everyone in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from handsup.groups.models import GroupBlock, Membership
from handsup.needs import db_path
from handsup.needs.actions import SkillWanted, do_create_need
from handsup.needs.bench_db_path import db_path_report, overlap
from handsup.needs.db_path import shortlist_from_table
from handsup.needs.matching import ShortlistFilters, eligible_people, shortlist
from handsup.needs.models import Invitation, MatchingRow, Need
from handsup.needs.narrow import (
    COLUMNS,
    note_asks,
    rebuild_rows,
    signed_word,
    skill_words,
    skills_in_words,
    sync_rows,
)
from handsup.people.models import DateAway, Person, PersonSkill, Profile, Skill, SkillCategory
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import ConsentEvent
from handsup.privacy.register import PurposeCode

from .conftest import in_days, make_volunteer, on_site_details, record_ask


def table() -> dict[int, dict[str, Any]]:
    return {row["person_id"]: row for row in MatchingRow.objects.values(*COLUMNS)}


def row_of(user: Any) -> dict[str, Any] | None:
    return MatchingRow.objects.filter(user_id=user.pk).values(*COLUMNS).first()


def post_need(cast: Any, taxonomy: list[Skill], **changes: Any) -> Need:
    return do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(taxonomy, **changes),
        publish=True,
    )


def remote_need(cast: Any, taxonomy: list[Skill], **changes: Any) -> Need:
    return post_need(
        cast,
        taxonomy,
        location_kind=Need.LocationKind.REMOTE,
        place=None,
        radius_km=None,
        **changes,
    )


def movement(skills: list[Skill], count: int) -> list[Any]:
    """`count` people at different distances, levels and times, some remote."""
    return [
        make_volunteer(
            skills={skills[0]: (1 + i % 4, i % 2 == 0), skills[1]: (1 + (i + 1) % 4, i % 3 == 0)},
            offset_m=(350 * i, -250 * i),
            availability=(1 << (i % 21)) | (0b111 if i % 3 else 0),
            travel_radius_km=5 + i % 10,
            asks_per_week=3,
        )
        for i in range(count)
    ]


def user_ids(cards: list[Any]) -> list[int]:
    return [card.user_id for card in cards]


# --- Bits --------------------------------------------------------------------------------


def test_words_hold_bit_63_and_skills_past_64():
    for ids in ({0}, {63}, {64}, {127}, {0, 62, 63, 64, 100, 127}, set()):
        lo, hi = skill_words(ids)
        assert -(2**63) <= lo < 2**63 and -(2**63) <= hi < 2**63
        assert skills_in_words(lo, hi) == ids
    assert skill_words({63}) == (-(2**63), 0)
    assert signed_word(2**64 - 1) == -1


@pytest.fixture
def far_skills(db: None) -> list[Skill]:
    """Skills with the ids at the words' edges (63, 64, 127): made here when the
    taxonomy doesn't have them."""
    category, _ = SkillCategory.objects.get_or_create(slug="zz-narrow", defaults={"name": "Test"})
    made = []
    for skill_id in (63, 64, 127):
        skill = Skill.objects.filter(pk=skill_id).first() or Skill.objects.create(
            pk=skill_id, slug=f"zz-narrow-{skill_id}", name=f"Narrow {skill_id}", category=category
        )
        made.append(skill)
    return made


@pytest.mark.django_db
def test_bit_63_and_high_skill_ids_round_trip_through_the_database(cast, far_skills):
    user = make_volunteer(
        skills={far_skills[0]: (4, True), far_skills[1]: (2, False), far_skills[2]: (3, True)}
    )
    row = row_of(user)
    assert row is not None
    assert skills_in_words(row["skills_lo"], row["skills_hi"]) == {63, 64, 127}
    assert skills_in_words(row["level2_lo"], row["level2_hi"]) == {63, 64, 127}
    assert skills_in_words(row["level3_lo"], row["level3_hi"]) == {63, 127}
    assert skills_in_words(row["level4_lo"], row["level4_hi"]) == {63}
    assert skills_in_words(row["remote_lo"], row["remote_hi"]) == {63, 127}
    assert row["skills_lo"] < 0  # bit 63 is the sign bit
    rebuild_rows()
    assert row_of(user) == row
    for skill in far_skills:
        need = remote_need(cast, [skill], skills=(SkillWanted(skill, 1, True),))
        assert shortlist_from_table(need) == shortlist(need)


# --- Kept in step -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("chunk", [1, 2, 3, 9])
def test_each_persons_consents_reach_their_own_row_whatever_the_batch(skills, chunk):
    """The consent subqueries are compiled once per shape and reused with each batch's
    accounts in place of stand-ins (9 is past the cached sizes: compiled afresh). Every
    row must carry its own person's consents, never another's."""
    found = ["movement", "groups", None, "movement", None, "groups", "groups", None, "movement"]
    users = [make_volunteer(found=kind) for kind in found]
    MatchingRow.objects.all().delete()
    ids = [user.pk for user in users]
    for start in range(0, len(ids), chunk):
        sync_rows(ids[start : start + chunk])
        sync_rows(ids[start : start + chunk])  # the cached statement, a second time
    for user, kind in zip(users, found, strict=True):
        row = row_of(user)
        assert row is not None
        assert (row["found_movement"], row["found_my_groups"]) == (
            kind == "movement",
            kind == "groups",
        ), kind


class TestKeptInStep:
    def test_a_new_volunteer_has_a_row(self, skills):
        user = make_volunteer(skills={skills[0]: (3, True)}, travel_radius_km=12, availability=5)
        row = row_of(user)
        assert row is not None
        assert row["travel_km"] == 12 and row["availability"] == 5
        assert row["active_verified"] and row["found_movement"] and not row["found_my_groups"]
        assert skills_in_words(row["skills_lo"], row["skills_hi"]) == {skills[0].pk}
        assert row["last_asked_at"] is None and row["outcomes"] == row["helped"] == 0

    def test_profile_edit(self, skills):
        user = make_volunteer()
        profile = Profile.objects.get(person__user=user)
        profile.travel_radius_km, profile.availability = 40, 0b1010
        profile.save()
        row = row_of(user)
        assert row is not None and row["travel_km"] == 40 and row["availability"] == 0b1010
        Person.objects.get(user=user).save()  # a save with nothing changed changes nothing
        assert row_of(user) == row

    def test_moving_house(self, skills):
        user = make_volunteer()
        person = Person.objects.get(user=user)
        person.eastings, person.northings = 400_000, 300_000
        person.save()
        row = row_of(user)
        assert row is not None and (row["eastings"], row["northings"]) == (400_000, 300_000)

    def test_skill_added_changed_and_removed(self, skills):
        user = make_volunteer(skills={skills[0]: (1, False)})
        person = Person.objects.get(user=user)
        added = PersonSkill.objects.create(person=person, skill=skills[1], level=4, remote=True)
        row = row_of(user)
        assert row is not None
        assert skills_in_words(row["skills_lo"], row["skills_hi"]) == {skills[0].pk, skills[1].pk}
        assert skills_in_words(row["level4_lo"], row["level4_hi"]) == {skills[1].pk}
        assert skills_in_words(row["remote_lo"], row["remote_hi"]) == {skills[1].pk}
        added.level, added.remote = 2, False
        added.save()
        row = row_of(user)
        assert row is not None
        assert skills_in_words(row["level2_lo"], row["level2_hi"]) == {skills[1].pk}
        assert skills_in_words(row["level3_lo"], row["level3_hi"]) == set()
        assert row["remote_lo"] == row["remote_hi"] == 0
        added.delete()
        row = row_of(user)
        assert row is not None
        assert skills_in_words(row["skills_lo"], row["skills_hi"]) == {skills[0].pk}

    def test_consent_withdrawn_and_given_for_my_groups(self, skills):
        user = make_volunteer()
        do_record_consent(
            user=user,
            purpose=PurposeCode.FOUND_MOVEMENT,
            given=False,
            source="web",
            recorded_by=user,
        )
        row = row_of(user)
        assert row is not None and not row["found_movement"]
        do_record_consent(
            user=user,
            purpose=PurposeCode.FOUND_MY_GROUPS,
            given=True,
            source="web",
            recorded_by=user,
        )
        row = row_of(user)
        assert row is not None and row["found_my_groups"] and not row["found_movement"]

    def test_suspension_and_verification(self, skills):
        user = make_volunteer()
        user.is_active = False
        user.save(update_fields=["is_active"])
        row = row_of(user)
        assert row is not None and not row["active_verified"]
        user.is_active = True
        user.save(update_fields=["is_active"])
        person = Person.objects.get(user=user)
        person.verified = False
        person.save()
        row = row_of(user)
        assert row is not None and not row["active_verified"]

    def test_erasure_removes_the_row(self, skills):
        erased, unlinked = make_volunteer(), make_volunteer()
        erased.delete()
        assert row_of(erased) is None
        Person.objects.filter(user=unlinked).get().delete()
        assert row_of(unlinked) is None
        assert not MatchingRow.objects.filter(user_id__in=[erased.pk, unlinked.pk]).exists()

    def test_blocks_memberships_and_dates_away_are_not_in_the_row(self, cast, skills):
        user = make_volunteer()
        before = row_of(user)
        GroupBlock.objects.create(user=user, group=cast.groups["group_a"])
        Membership.objects.create(user=user, group=cast.groups["group_b"])
        DateAway.objects.create(
            person=Person.objects.get(user=user), starts_on=in_days(1), ends_on=in_days(20)
        )
        assert row_of(user) == before

    def test_invitation_outcomes_and_asks(self, cast, skills):
        user = make_volunteer(skills={skills[0]: (2, False)})
        need = post_need(cast, skills)
        now = timezone.now()
        invitation = Invitation.objects.create(
            need=need,
            user=user,
            source=Invitation.Source.ASK,
            status=Invitation.Status.ACCEPTED,
            created_at=now,
            expires_at=now + timedelta(days=7),
            answered_at=now,
        )
        row = row_of(user)
        assert row is not None and row["outcomes"] == 0
        invitation.helped, invitation.outcome_recorded_at = True, now
        invitation.save()
        row = row_of(user)
        assert row is not None and (row["outcomes"], row["helped"]) == (1, 1)
        asked_at = now - timedelta(days=2)
        record_ask(user, cast.groups["group_b"], asked_at)  # as pacing writes it: no signal
        note_asks([user.pk])
        row = row_of(user)
        assert row is not None and row["last_asked_at"] == asked_at

    def test_rebuild_gives_what_syncing_each_person_gave(self, cast, skills):
        people = movement(skills, 12)
        now = timezone.now()
        record_ask(people[0], cast.groups["group_b"], now - timedelta(days=3))
        do_record_consent(
            user=people[1],
            purpose=PurposeCode.FOUND_MOVEMENT,
            given=False,
            source="web",
            recorded_by=people[1],
        )
        people[2].is_active = False
        people[2].save(update_fields=["is_active"])
        # Everyone, one by one (the cast's personas were partly made behind the signals).
        for user_id in Person.objects.exclude(user=None).values_list("user_id", flat=True):
            sync_rows([user_id])
        synced = table()
        assert len(synced) >= len(people)
        MatchingRow.objects.all().delete()
        assert rebuild_rows() == len(synced)
        assert table() == synced


# --- The database path ----------------------------------------------------------------------


@pytest.mark.django_db
class TestDatabasePath:
    def test_with_everyone_in_bound_it_is_the_exact_shortlist(self, cast, skills):
        people = movement(skills, 16)
        now = timezone.now()
        group_b = cast.groups["group_b"]
        record_ask(people[0], group_b, now - timedelta(days=3))
        record_ask(people[1], group_b, now - timedelta(days=45))
        record_ask(people[2], group_b, now - timedelta(hours=2))
        note_asks([user.pk for user in people[:3]])
        Membership.objects.create(user=people[3], group=cast.groups["group_a"])
        on_site = post_need(cast, skills)
        nice_only = post_need(
            cast,
            skills,
            skills=(SkillWanted(skills[0], 3, False), SkillWanted(skills[1], 2, False)),
        )
        remote = remote_need(
            cast,
            skills,
            skills=(SkillWanted(skills[1], 1, True), SkillWanted(skills[0], 2, False)),
        )
        for need in (on_site, nice_only, remote):
            for filters in (
                None,
                ShortlistFilters(min_level=3),
                ShortlistFilters(members_only=True),
                *([ShortlistFilters(max_km=2)] if need is not remote else []),
            ):
                for limit in (50, 3):
                    exact = shortlist(need, now=now, filters=filters, limit=limit)
                    ours = shortlist_from_table(
                        need, now=now, filters=filters, limit=limit, k=len(people)
                    )
                    assert ours == exact, (need.title, filters, limit)

    @pytest.mark.parametrize("location", ["on_site", "remote"])
    def test_any_bound_shows_only_eligible_people(self, cast, skills, location, monkeypatch):
        monkeypatch.setattr(db_path, "RECHECK_MARGIN", 0)
        people = movement(skills, 14)
        now = timezone.now()
        for user in people[:4]:
            record_ask(user, cast.groups["group_b"], now - timedelta(hours=1))  # over budget
        DateAway.objects.create(
            person=Person.objects.get(user=people[5]), starts_on=in_days(0), ends_on=in_days(60)
        )
        GroupBlock.objects.create(user=people[6], group=cast.groups["group_a"])
        need = post_need(cast, skills) if location == "on_site" else remote_need(cast, skills)
        eligible = set(eligible_people(need, now=now).values_list("user_id", flat=True))
        for k in range(1, len(people) + 2):
            for limit in (1, 3, 50):
                cards = shortlist_from_table(need, now=now, limit=limit, k=k)
                assert set(user_ids(cards)) <= eligible
                assert len(cards) <= limit
        assert shortlist_from_table(need, now=now, k=len(people)) == shortlist(need, now=now)

    def test_a_stale_table_shows_nobody_ineligible(self, cast, skills):
        people = movement(skills, 8)
        need = post_need(cast, skills)
        before = user_ids(shortlist_from_table(need))
        assert before
        withdrawn = before[0]
        # Behind the signals' back: the table still says "found by the movement".
        ConsentEvent.objects.filter(user_id=withdrawn).update(given=False)
        Person.objects.filter(user_id=before[1]).update(verified=False)
        row = MatchingRow.objects.get(user_id=withdrawn)
        assert row.found_movement and row.active_verified
        after = user_ids(shortlist_from_table(need))
        assert withdrawn not in after and before[1] not in after
        assert after == user_ids(shortlist(need))
        assert len(people) >= len(after)

    def test_one_query_more_than_the_exact_path(self, cast, skills, django_assert_num_queries):
        """The table's query, then what the exact path reads (the need's skills and
        times, pacing's limits, the eligible people and their levels)."""
        movement(skills, 10)
        pk = post_need(cast, skills).pk
        shortlist(Need.objects.get(pk=pk))  # pacing's limits row, made on first use
        need = Need.objects.select_related("group").get(pk=pk)
        with CaptureQueriesContext(connection) as exact:
            shortlist(need)
        need = Need.objects.select_related("group").get(pk=pk)
        with django_assert_num_queries(len(exact) + 1):
            assert shortlist_from_table(need)


@pytest.mark.django_db
def test_the_benchmark_reports_timings_and_overlap(cast, skills):
    movement(skills, 10)
    now = timezone.now()
    on_site = [post_need(cast, skills).pk for _ in range(2)]
    remote = [remote_need(cast, skills).pk]
    given = {on_site[0]: shortlist(Need.objects.get(pk=on_site[0]), now=now)}
    report = db_path_report(
        {"in_person": on_site, "remote": remote}, given, now, exact_sample=1, volunteers=10
    )
    by_location = {result["location"]: result for result in report["results"]}
    assert by_location["in_person"]["needs"] == 2 and by_location["remote"]["needs"] == 1
    assert by_location["in_person"]["compared_with_exact"] == 2  # one given, one worked out
    assert by_location["remote"]["compared_with_exact"] == 1
    assert report["overlap"]["overlap_min"] == 1.0 and report["overlap"]["compared"] == 3
    assert all(result["p95_ms"] > 0 and result["queries_per_call"] for result in report["results"])
    assert any("overlap" in line for line in report["notes"])
    assert overlap([], []) == 1.0
