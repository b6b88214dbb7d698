"""Eligibility, one test per rule (each leaves out exactly the person it should), and the
ranking: scores, the sentence, pseudonyms and cards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.actions import do_suspend_person
from handsup.groups.models import GroupBlock
from handsup.messaging.models import ContactLimits, Decision
from handsup.needs.actions import SkillWanted, TimeWindow, do_create_need
from handsup.needs.matching import (
    RELIABILITY_PRIOR,
    WEIGHTS,
    ShortlistFilters,
    _reliability,
    eligible_people,
    need_slot_bits,
    people_for_digests,
    pseudonym,
    pseudonym_digest,
    pseudonym_digests,
    shortlist,
)
from handsup.needs.models import Invitation, Need
from handsup.people.models import DateAway, Person

from .conftest import at, in_days, make_volunteer, on_site_details, record_ask

pytestmark = pytest.mark.django_db

CAPABLE, EXPERIENCED, TEACH = 2, 3, 4


@pytest.fixture
def need_for(cast, skills):
    """Post an open need for group A (on site in M1 within 10 km unless changed)."""

    def make(**changes) -> Need:
        return do_create_need(
            actor=cast.users["organiser_a"],
            group=cast.groups["group_a"],
            details=on_site_details(skills, **changes),
            publish=True,
        )

    return make


@pytest.fixture
def need(need_for) -> Need:
    return need_for()


def eligible(need: Need, **kwargs) -> set[int]:
    return set(eligible_people(need, **kwargs).values_list("user_id", flat=True))


def able(skills, level: int = CAPABLE, remote: bool = False) -> dict:
    return {skills[0]: (level, remote)}


def test_someone_who_fits_is_eligible_and_the_personas_without_skills_are_not(need, skills):
    fits = make_volunteer(skills=able(skills))
    assert eligible(need) == {fits.pk}


def test_without_consent_to_be_found_nobody_is_eligible(need, skills):
    fits = make_volunteer(skills=able(skills))
    make_volunteer(skills=able(skills), found=None)
    assert eligible(need) == {fits.pk}


def test_only_my_groups_consent_lets_in_only_members_of_the_needs_group(cast, need, skills):
    member = make_volunteer(skills=able(skills), found="groups", member_of=cast.groups["group_a"])
    make_volunteer(skills=able(skills), found="groups", member_of=cast.groups["group_b"])
    assert eligible(need) == {member.pk}


def test_an_unverified_person_is_not_eligible(need, skills):
    fits = make_volunteer(skills=able(skills))
    make_volunteer(skills=able(skills), verified=False)
    assert eligible(need) == {fits.pk}


def test_a_suspended_account_is_not_eligible(cast, need, skills):
    fits = make_volunteer(skills=able(skills))
    suspended = make_volunteer(skills=able(skills))
    do_suspend_person(actor=cast.users["platform_admin"], user=suspended, reason="spam")
    assert eligible(need) == {fits.pk}


def test_someone_blocking_the_group_is_not_eligible(cast, need, skills):
    fits = make_volunteer(skills=able(skills))
    blocker = make_volunteer(skills=able(skills))
    GroupBlock.objects.create(user=blocker, group=cast.groups["group_a"])
    assert eligible(need) == {fits.pk}
    # A block of another group changes nothing here.
    GroupBlock.objects.create(user=fits, group=cast.groups["group_b"])
    assert eligible(need) == {fits.pk}


def test_someone_at_their_own_weekly_ask_limit_is_not_eligible(cast, need, skills):
    now = timezone.now()
    group_b = cast.groups["group_b"]
    at_limit = make_volunteer(skills=able(skills), asks_per_week=1)
    held_at_limit = make_volunteer(skills=able(skills), asks_per_week=1)
    asked_last_week = make_volunteer(skills=able(skills), asks_per_week=1)
    room_left = make_volunteer(skills=able(skills), asks_per_week=2)
    not_counted = make_volunteer(skills=able(skills), asks_per_week=1)
    record_ask(at_limit, group_b, now - timedelta(days=3))
    record_ask(held_at_limit, group_b, now - timedelta(days=3), Decision.HELD)
    record_ask(asked_last_week, group_b, now - timedelta(days=8))
    record_ask(room_left, group_b, now - timedelta(days=3))
    # Asks refused or folded never reached them, so they use no budget.
    record_ask(not_counted, group_b, now - timedelta(days=3), Decision.SUPPRESSED)
    assert eligible(need, now=now) == {asked_last_week.pk, room_left.pk, not_counted.pk}


def test_the_movements_limits_bound_a_persons_own(cast, need, skills):
    now = timezone.now()
    limits = ContactLimits.current()
    limits.asks_per_week_normal = 1
    limits.save()
    wants_three = make_volunteer(skills=able(skills), asks_per_week=3)
    record_ask(wants_three, cast.groups["group_b"], now - timedelta(days=3))
    assert eligible(need, now=now) == set()
    # The daily limit (1) stops someone asked two hours ago, whatever their weekly room.
    limits.asks_per_week_normal = 3
    limits.save()
    asked_today = make_volunteer(skills=able(skills), asks_per_week=3)
    record_ask(asked_today, cast.groups["group_b"], now - timedelta(hours=2))
    assert eligible(need, now=now) == {wants_three.pk}


def test_on_site_only_people_within_the_smaller_radius(need, skills):
    near = make_volunteer(skills=able(skills), offset_m=(3_000, 4_000))  # 5 km
    make_volunteer(skills=able(skills), offset_m=(9_000, 9_000))  # 12.7 km: beyond the need's
    make_volunteer(skills=able(skills), offset_m=(3_000, 4_000), travel_radius_km=4)
    make_volunteer(skills=able(skills), offset_m=None)  # nowhere known
    far_traveller = make_volunteer(skills=able(skills), offset_m=(0, 9_900), travel_radius_km=50)
    assert eligible(need) == {near.pk, far_traveller.pk}


def test_a_remote_need_asks_for_the_skill_done_remotely(need_for, skills):
    remote_need = need_for(location_kind=Need.LocationKind.REMOTE, place=None, radius_km=None)
    remotely = make_volunteer(skills=able(skills, remote=True), offset_m=(300_000, 0))
    make_volunteer(skills=able(skills, remote=False))
    assert eligible(remote_need) == {remotely.pk}


def test_someone_away_for_the_whole_need_is_not_eligible(need_for, skills):
    two_times = need_for(
        windows=(TimeWindow(at(10, 10), at(10, 16)), TimeWindow(at(12, 10), at(12, 16)))
    )
    away_for_both = make_volunteer(skills=able(skills))
    away_for_one = make_volunteer(skills=able(skills))
    away_other_days = make_volunteer(skills=able(skills))
    for user, first, last in (
        (away_for_both, in_days(9), in_days(13)),
        (away_for_one, in_days(10), in_days(10)),
        (away_other_days, in_days(1), in_days(3)),
    ):
        DateAway.objects.create(person=Person.objects.get(user=user), starts_on=first, ends_on=last)
    assert eligible(two_times) == {away_for_one.pk, away_other_days.pk}


def test_away_for_an_ongoing_need_means_until_it_closes(need_for, skills):
    ongoing = need_for(schedule_kind=Need.ScheduleKind.ONGOING, windows=(), weekly_slots=0b111)
    away_till_after = make_volunteer(skills=able(skills))
    back_before = make_volunteer(skills=able(skills))
    DateAway.objects.create(
        person=Person.objects.get(user=away_till_after), starts_on=in_days(0), ends_on=in_days(20)
    )
    DateAway.objects.create(
        person=Person.objects.get(user=back_before), starts_on=in_days(0), ends_on=in_days(3)
    )
    assert eligible(ongoing) == {back_before.pk}


def test_every_must_have_skill_at_the_minimum_level(need_for, skills):
    need = need_for(
        skills=(
            SkillWanted(skill=skills[0], min_level=EXPERIENCED, required=True),
            SkillWanted(skill=skills[1], min_level=CAPABLE, required=True),
            SkillWanted(skill=skills[2], min_level=TEACH, required=False),
        )
    )
    both = make_volunteer(skills={skills[0]: (TEACH, False), skills[1]: (CAPABLE, False)})
    make_volunteer(skills={skills[0]: (CAPABLE, False), skills[1]: (TEACH, False)})  # too low
    make_volunteer(skills={skills[0]: (TEACH, False)})  # the second is missing
    make_volunteer(skills={skills[2]: (TEACH, False)})  # only the nice-to-have
    assert eligible(need) == {both.pk}


def test_people_can_be_left_out_by_the_caller(need, skills):
    first = make_volunteer(skills=able(skills))
    second = make_volunteer(skills=able(skills))
    assert eligible(need, exclude_user_ids=[first.pk]) == {second.pk}
    # A subquery works too, and stays one statement.
    invited = User.objects.filter(pk=second.pk).values("pk")
    assert eligible(need, exclude_user_ids=invited) == {first.pk}


def invite(need: Need, user: User, *, status: str = "pending", source: str = "ask", **extra):
    """An invitation in any state, as the invitation actions would have left it."""
    now = timezone.now()
    return Invitation.objects.create(
        need=need,
        user=user,
        source=source,
        status=status,
        created_at=now - timedelta(days=20),
        expires_at=now - timedelta(days=6) if status == "expired" else now + timedelta(days=1),
        answered_at=None if status == "pending" else now - timedelta(days=19),
        **extra,
    )


@pytest.mark.parametrize(
    "status,source",
    [
        ("pending", "ask"),
        ("pending", "offer"),
        ("accepted", "ask"),
        ("declined", "ask"),
        ("declined", "offer"),
        ("withdrawn", "ask"),
        ("expired", "ask"),
    ],
    ids=lambda value: value,
)
def test_anyone_with_an_invitation_for_the_need_is_never_suggested_again(
    need_for, skills, status, source
):
    need, other = need_for(), need_for(title="Another need")
    dealt_with = make_volunteer(skills=able(skills))
    fresh = make_volunteer(skills=able(skills))
    invite(need, dealt_with, status=status, source=source)
    assert eligible(need) == {fresh.pk}
    assert [card.user_id for card in shortlist(need)] == [fresh.pk]
    # Only for that need: another need may still ask them.
    assert eligible(other) == {dealt_with.pk, fresh.pk}


def test_people_for_digests_maps_cards_back_to_those_still_eligible(need_for, skills):
    need, other = need_for(), need_for(title="Another need")
    kept, invited = make_volunteer(skills=able(skills)), make_volunteer(skills=able(skills))
    digest = {
        user: pseudonym_digest(need, Person.objects.get(user=user).pk) for user in (kept, invited)
    }
    invite(need, invited)
    elsewhere = pseudonym_digest(other, Person.objects.get(user=kept).pk)
    found, gone = people_for_digests(need, [digest[kept], digest[invited], elsewhere, "zz"])
    assert found == {digest[kept]: kept.pk}
    assert gone == [digest[invited], elsewhere, "zz"]


def test_filters_raise_the_level_narrow_the_distance_and_keep_to_members(cast, need, skills):
    group = cast.groups["group_a"]
    expert_far = make_volunteer(skills=able(skills, TEACH), offset_m=(0, 8_000))
    capable_near_member = make_volunteer(skills=able(skills), offset_m=(0, 1_000), member_of=group)
    assert eligible(need) == {expert_far.pk, capable_near_member.pk}
    assert eligible(need, filters=ShortlistFilters(min_level=EXPERIENCED)) == {expert_far.pk}
    assert eligible(need, filters=ShortlistFilters(max_km=5)) == {capable_near_member.pk}
    assert eligible(need, filters=ShortlistFilters(members_only=True)) == {capable_near_member.pk}


def test_among_some_people_the_rules_are_the_same(cast, need_for, skills):
    """`among` (the index's re-check) leaves out the location box, never anyone's reach."""
    group = cast.groups["group_a"]
    people = [
        make_volunteer(skills=able(skills, level), offset_m=offset, member_of=member)
        for level, offset, member in (
            (TEACH, (0, 8_000), None),
            (CAPABLE, (0, 1_000), group),
            (EXPERIENCED, (9_000, 9_000), None),  # in the box, beyond the radius
            (CAPABLE, (0, 30_000), None),
        )
    ]
    by_person = dict(Person.objects.filter(user__in=people).values_list("pk", "user_id"))
    need = need_for()
    for filters in (
        None,
        ShortlistFilters(min_level=EXPERIENCED),
        ShortlistFilters(max_km=5),
        ShortlistFilters(members_only=True),
    ):
        everyone = eligible(need, filters=filters)
        assert everyone
        for chosen in (list(by_person), list(by_person)[1:3], []):
            among = eligible(need, filters=filters, among=chosen)
            assert among == everyone & {by_person[pk] for pk in chosen}


def test_eligibility_is_one_query_however_many_people(need, skills, django_assert_num_queries):
    for offset in range(6):
        make_volunteer(skills=able(skills), offset_m=(offset * 1_000, 0))
    people = eligible_people(need)  # building it reads the need's skills, windows, limits
    with django_assert_num_queries(1):
        assert len(list(people)) == 6


# --- Ranking and cards --------------------------------------------------------------------


def test_moving_someone_closer_moves_them_up_and_changes_the_sentence(need, skills):
    steady = make_volunteer(skills=able(skills), offset_m=(0, 5_000), availability=0)
    mover = make_volunteer(skills=able(skills), offset_m=(0, 9_500), availability=0)
    before = shortlist(need)
    assert [card.user_id for card in before] == [steady.pk, mover.pk]
    far_card = before[1]
    assert "live close by" not in far_card.reason
    Person.objects.filter(user=mover).update(northings=need.northings + 200)
    after = shortlist(need)
    assert [card.user_id for card in after] == [mover.pk, steady.pk]
    near_card = after[0]
    assert near_card.score.total > far_card.score.total
    assert "live close by" in near_card.reason
    assert near_card.reason != far_card.reason
    assert (far_card.distance, near_card.distance) == ("5–10 km", "under 2 km")
    # The pseudonym belongs to the person and the need, not to the rank.
    assert near_card.pseudonym == far_card.pseudonym


def test_the_least_recently_asked_come_first_and_never_asked_first_of_all(cast, need, skills):
    now = timezone.now()
    group_b = cast.groups["group_b"]
    never = make_volunteer(skills=able(skills), asks_per_week=3)
    long_ago = make_volunteer(skills=able(skills), asks_per_week=3)
    lately = make_volunteer(skills=able(skills), asks_per_week=3)
    record_ask(long_ago, group_b, now - timedelta(days=60))
    record_ask(lately, group_b, now - timedelta(days=4))
    cards = shortlist(need, now=now)
    assert [card.user_id for card in cards] == [never.pk, long_ago.pk, lately.pk]
    assert [card.last_asked.replace("\xa0", " ") for card in cards] == [
        "not asked yet",
        "last asked 1 month ago",
        "last asked 4 days ago",
    ]
    assert "not been asked yet" in cards[0].reason


def test_cards_show_skills_distance_band_and_how_many_of_the_times_they_are_free(need_for, skills):
    # Saturday and Sunday afternoons, ongoing: two slots.
    weekend = (1 << (5 * 3 + 1)) | (1 << (6 * 3 + 1))
    need = need_for(
        schedule_kind=Need.ScheduleKind.ONGOING,
        windows=(),
        weekly_slots=weekend,
        skills=(
            SkillWanted(skill=skills[0], min_level=CAPABLE, required=True),
            SkillWanted(skill=skills[1], min_level=CAPABLE, required=False),
        ),
    )
    assert need_slot_bits(need) == weekend
    make_volunteer(
        skills={skills[0]: (TEACH, False), skills[1]: (1, False)},
        offset_m=(2_000, 2_000),
        availability=1 << (5 * 3 + 1),
    )
    (card,) = shortlist(need)
    assert card.pseudonym.startswith("Volunteer ")
    assert [(s.name, s.level) for s in card.skills] == [(skills[0].name, "Can teach others")]
    assert card.distance == "2–5 km"
    assert card.availability == "free 1 of 2 of your slots"
    assert card.last_asked == "not asked yet"
    assert card.reliability is None
    assert card.reason.startswith("Mostly because ")


def test_set_times_are_placed_on_the_weekly_grid(need_for):
    need = need_for()  # one set time, 10:00–16:00 in 10 days: that day's morning and afternoon
    day = timezone.localtime(need.windows.get().starts_at).weekday()
    assert need_slot_bits(need) == (1 << (day * 3)) | (1 << (day * 3 + 1))


def test_pseudonyms_are_stable_per_need_and_differ_between_needs(need_for, skills):
    person = make_volunteer(skills=able(skills))
    pk = Person.objects.get(user=person).pk
    first, second = need_for(), need_for()
    assert pseudonym(pseudonym_digest(first, pk)) == shortlist(first)[0].pseudonym
    assert shortlist(first)[0].pseudonym == shortlist(first)[0].pseudonym
    assert pseudonym_digest(first, pk) != pseudonym_digest(second, pk)
    assert str(pk) not in pseudonym(pseudonym_digest(first, pk)).split()[-1]


def test_many_digests_at_once_are_the_same_as_one_by_one(need_for):
    need = need_for()
    assert pseudonym_digests(need, [1, 22, 333]) == [
        pseudonym_digest(need, pk) for pk in (1, 22, 333)
    ]


def test_equal_scores_are_ordered_by_the_pseudonym_hash(need, skills):
    people = [make_volunteer(skills=able(skills)) for _ in range(4)]
    cards = shortlist(need)
    assert {card.user_id for card in cards} == {user.pk for user in people}
    assert len({card.score.total for card in cards}) == 1
    assert [card.tie_break for card in cards] == sorted(card.tie_break for card in cards)


# --- Reliability --------------------------------------------------------------------------


def record_outcomes(need_for, user: User, helped: list[bool]) -> None:
    """Past needs this person said yes to, each with "did they help?" recorded."""
    for n, did in enumerate(helped):
        past = need_for(title=f"Past need {n}")
        invite(past, user, status="accepted", helped=did, outcome_recorded_at=timezone.now())


def test_the_reliability_part_pulls_towards_the_prior():
    assert _reliability(0, 0) == RELIABILITY_PRIOR
    assert _reliability(1, 1) == pytest.approx(2 / 3)
    assert _reliability(0, 1) == pytest.approx(1 / 3)
    assert _reliability(6, 6) == pytest.approx(7 / 8)


@pytest.mark.parametrize(
    "helped,band",
    [
        ([True, True], None),
        ([True, True, True], "helped every time so far"),
        ([True, True, True, False], "usually helps"),
        ([True, False, True, False], "helps about half the time"),
        ([False, False, True], "has often not been able to help"),
    ],
    ids=["two-outcomes-no-band", "every-time", "usually", "half", "often-not"],
)
def test_a_card_shows_a_reliability_band_from_three_outcomes(need_for, skills, helped, band):
    need = need_for()
    person = make_volunteer(skills=able(skills))
    record_outcomes(need_for, person, helped)
    (card,) = [card for card in shortlist(need) if card.user_id == person.pk]
    assert card.reliability == band


def test_good_outcomes_move_someone_up_and_bad_ones_down(need_for, skills):
    need = need_for()
    good, newcomer, bad = (make_volunteer(skills=able(skills)) for _ in range(3))
    record_outcomes(need_for, good, [True, True, True])
    record_outcomes(need_for, bad, [False, False, False])
    # Pending or unrecorded invitations say nothing either way.
    invite(need_for(title="Unrecorded"), newcomer, status="accepted")
    cards = shortlist(need)
    assert [card.user_id for card in cards] == [good.pk, newcomer.pk, bad.pk]
    assert cards[1].score.parts["reliability"] == pytest.approx(
        WEIGHTS["reliability"] * RELIABILITY_PRIOR
    )
