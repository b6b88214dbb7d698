"""R3 for matching: for any mix of people, consents, budgets, blocks, places, skills and
dates away, the shortlist's eligibility is exactly what the rules say, so nobody
ineligible (opted out, at their limit, blocking, out of reach, away, unskilled,
suspended) ever appears.

Hypothesis draws a need (on site within a radius, or remote; set times or ongoing; one to
three skills, must-have or nice-to-have) and two to eight people, each with their own
facts; `eligible_people` is compared with a plain-Python restatement of the rules written
here, person by person, and every card on the shortlist must be someone eligible.
People may hold an invitation for the need in any state (asked or offered; waiting,
said yes or no, withdrawn, expired): none of them is ever eligible again for it, while
an invitation for another need changes nothing.

A second property is about ranking: the same person with good recorded outcomes always
scores above themself with bad ones, and never below themself with none.

`HANDSUP_HYPOTHESIS_EXAMPLES` sets the number of examples (default 60, for CI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handsup.groups.models import GroupBlock
from handsup.messaging.models import ContactLimits, Decision
from handsup.needs.actions import SkillWanted, TimeWindow, do_create_need
from handsup.needs.matching import (
    RELIABILITY_MIN_OUTCOMES,
    RELIABLE_SHARE,
    Candidate,
    _reason,
    eligible_people,
    score,
    shortlist,
)
from handsup.needs.models import Invitation, Need, NeedSkill
from handsup.people.models import DateAway, Person, Skill

from .conftest import at, in_days, make_volunteer, on_site_details, record_ask

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("HANDSUP_HYPOTHESIS_EXAMPLES", "60"))
SKILLS = 3
DECISIONS = (Decision.SENT, Decision.HELD, Decision.SUPPRESSED, Decision.FOLDED)
INVITATION_STATES = ("pending", "accepted", "declined", "withdrawn", "expired")


@dataclass(frozen=True)
class PersonSpec:
    found: str | None  # "movement", "groups" or None
    member_of_a: bool
    verified: bool
    active: bool
    blocks_a: bool
    offset_m: tuple[int, int] | None
    travel_radius_km: int
    skills: dict[int, tuple[int, bool]]  # skill index -> (level, remote)
    asks_per_week: int
    asks: tuple[tuple[int, str], ...]  # (hours ago, decision)
    away: tuple[int, int] | None  # (first day from today, length in days)
    # An invitation: (status, source) for this need, or "elsewhere" for another need.
    invitation: tuple[str, str] | str | None = None


@dataclass(frozen=True)
class NeedSpec:
    remote: bool
    radius_km: int
    wanted: tuple[tuple[int, int, bool], ...]  # (skill index, min level, required)
    window_days: tuple[int, ...]  # set times on these days from today; () for ongoing
    closes_in: int


def mostly(value: Any, other: Any) -> st.SearchStrategy[Any]:
    """`value` four times in five: each rule alone rules out a few, so that enough people
    pass all of them for the comparison to mean something."""
    return st.sampled_from([value, value, value, value, other])


people = st.builds(
    PersonSpec,
    found=st.sampled_from(["movement", "movement", "movement", "groups", None]),
    member_of_a=st.booleans(),
    verified=mostly(True, False),
    active=mostly(True, False),
    blocks_a=mostly(False, True),
    offset_m=st.none()
    | st.tuples(st.integers(-3_000, 3_000), st.integers(-3_000, 3_000))
    | st.tuples(st.integers(-12_000, 12_000), st.integers(-12_000, 12_000))
    | st.tuples(st.integers(-40_000, 40_000), st.integers(-40_000, 40_000)),
    travel_radius_km=st.integers(1, 50),
    skills=st.dictionaries(
        st.integers(0, SKILLS - 1),
        st.tuples(st.sampled_from([1, 2, 3, 4, 4]), mostly(True, False)),
        min_size=2,
        max_size=SKILLS,
    ),
    asks_per_week=st.sampled_from([3, 3, 2, 1, 0]),
    asks=st.lists(
        # Within the last day, the last week, or the last forty days.
        st.tuples(
            st.integers(1, 30) | st.integers(1, 24 * 8) | st.integers(1, 24 * 40),
            st.sampled_from(DECISIONS),
        ),
        max_size=2,
    ).map(tuple),
    # Away one time in three.
    away=st.tuples(st.integers(0, 2), st.integers(0, 25), st.integers(0, 10)).map(
        lambda drawn: drawn[1:] if drawn[0] == 0 else None
    ),
    # Invited (asked, or offered), answered or lapsed for this need one time in three.
    invitation=st.sampled_from([None, None, None, None, "elsewhere"])
    | st.tuples(st.sampled_from(INVITATION_STATES), st.sampled_from(["ask", "offer"])),
)
needs = st.builds(
    NeedSpec,
    remote=st.booleans(),
    radius_km=st.integers(1, 40),
    wanted=st.lists(
        st.tuples(st.integers(0, SKILLS - 1), st.sampled_from([1, 1, 2, 3]), st.booleans()),
        min_size=1,
        max_size=2,
        unique_by=lambda item: item[0],
    ).map(tuple),
    window_days=st.lists(st.integers(1, 20), max_size=2, unique=True).map(tuple),
    closes_in=st.integers(0, 30),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(need_spec=needs, specs=st.lists(people, min_size=2, max_size=8))
def test_nobody_ineligible_is_ever_shortlisted(cast, skills, need_spec, specs):
    with transaction.atomic():
        check(cast, skills, need_spec, specs)
        transaction.set_rollback(True)


def make_person(
    cast: Any,
    skills: list[Skill],
    spec: PersonSpec,
    *,
    need: Need,
    elsewhere: Need,
    now: datetime,
    availability: int = 0,
) -> Any:
    """A volunteer with the facts `spec` names: consents, place, skills, a block of group
    A, asks from group B, dates away, and an invitation for `need` or for `elsewhere`."""
    group_a, group_b = cast.groups["group_a"], cast.groups["group_b"]
    user = make_volunteer(
        skills={skills[index]: value for index, value in spec.skills.items()},
        offset_m=spec.offset_m,
        found=spec.found,
        member_of=group_a if spec.member_of_a else None,
        verified=spec.verified,
        active=spec.active,
        travel_radius_km=spec.travel_radius_km,
        availability=availability,
        asks_per_week=spec.asks_per_week,
    )
    if spec.blocks_a:
        GroupBlock.objects.create(user=user, group=group_a)
    for hours_ago, decision in spec.asks:
        record_ask(user, group_b, now - timedelta(hours=hours_ago), decision)
    if spec.away is not None:
        first, length = spec.away
        DateAway.objects.create(
            person=Person.objects.get(user=user),
            starts_on=in_days(first),
            ends_on=in_days(first + length),
        )
    if spec.invitation == "elsewhere":
        invite(elsewhere, user, "pending", "ask", now)
    elif isinstance(spec.invitation, tuple):
        status, source = spec.invitation
        invite(need, user, status, source, now)
    return user


def check(cast: Any, skills: list[Skill], need_spec: NeedSpec, specs: list[PersonSpec]) -> None:
    now = timezone.now()
    need = make_need(cast, skills, need_spec)
    elsewhere = make_need(cast, skills, need_spec)
    made: dict[int, PersonSpec] = {}
    for spec in specs:
        user = make_person(cast, skills, spec, need=need, elsewhere=elsewhere, now=now)
        made[user.pk] = spec
    found = set(eligible_people(need, now=now).values_list("user_id", flat=True))
    expected = {
        user_id for user_id, spec in made.items() if eligible_by_the_rules(spec, need_spec, now)
    }
    # The personas hold no skills, so only the people drawn here can ever be eligible.
    assert found == expected
    assert {card.user_id for card in shortlist(need, now=now)} <= expected
    event(f"eligible: {min(len(expected), 3)}{'+' if len(expected) >= 3 else ''}")
    # How often the invitation rule was what left someone out (else the property is idle).
    left_out = [
        spec
        for spec in made.values()
        if isinstance(spec.invitation, tuple)
        and eligible_by_the_rules(replace(spec, invitation=None), need_spec, now)
    ]
    if left_out:
        event("left out only for an invitation")


def invite(need: Need, user: Any, status: str, source: str, now: datetime) -> None:
    answered = status != "pending"
    Invitation.objects.create(
        need=need,
        user=user,
        status=status,
        source=source,
        created_at=now - timedelta(days=3),
        expires_at=now - timedelta(days=1) if status == "expired" else now + timedelta(days=3),
        answered_at=now - timedelta(days=2) if answered else None,
    )


def make_need(cast: Any, skills: list[Skill], spec: NeedSpec) -> Need:
    changes: dict[str, Any] = {
        "skills": tuple(
            SkillWanted(skill=skills[index], min_level=level, required=required)
            for index, level, required in spec.wanted
        ),
        "closes_on": in_days(spec.closes_in),
    }
    if spec.remote:
        changes |= {"location_kind": Need.LocationKind.REMOTE, "place": None, "radius_km": None}
    else:
        changes["radius_km"] = spec.radius_km
    if spec.window_days:
        changes["windows"] = tuple(TimeWindow(at(day, 10), at(day, 14)) for day in spec.window_days)
    else:
        changes |= {
            "schedule_kind": Need.ScheduleKind.ONGOING,
            "windows": (),
            "weekly_slots": 0b111,
        }
    return do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(skills, **changes),
        publish=True,
    )


def eligible_by_the_rules(person: PersonSpec, need: NeedSpec, now: datetime) -> bool:
    """The rules of `handsup.needs.matching`, restated person by person."""
    limits = ContactLimits.current()
    findable = person.verified and (
        person.found == "movement" or (person.found == "groups" and person.member_of_a)
    )
    counted = [h for h, decision in person.asks if decision in (Decision.SENT, Decision.HELD)]
    under_budget = (
        sum(1 for h in counted if h < 24 * 7)
        < min(person.asks_per_week, limits.asks_per_week_normal)
        and sum(1 for h in counted if h < 24) < limits.asks_per_day
    )
    return (
        findable
        and not isinstance(person.invitation, tuple)  # nobody is asked twice for a need
        and person.active
        and not person.blocks_a
        and under_budget
        and has_the_skills(person, need)
        and in_reach(person, need)
        and not away_for_all_of_it(person, need)
    )


def has_the_skills(person: PersonSpec, need: NeedSpec) -> bool:
    def holds(index: int, level: int) -> bool:
        held = person.skills.get(index)
        return held is not None and held[0] >= level and (held[1] or not need.remote)

    required = [(index, level) for index, level, must in need.wanted if must]
    if required:
        return all(holds(index, level) for index, level in required)
    return any(holds(index, level) for index, level, _must in need.wanted)


def in_reach(person: PersonSpec, need: NeedSpec) -> bool:
    if need.remote:
        return True
    if person.offset_m is None:
        return False
    reach_m = min(need.radius_km, person.travel_radius_km) * 1000
    d_e, d_n = person.offset_m
    return d_e * d_e + d_n * d_n <= reach_m * reach_m


def away_for_all_of_it(person: PersonSpec, need: NeedSpec) -> bool:
    if person.away is None:
        return False
    first, length = person.away
    away_from, away_until = in_days(first), in_days(first + length)

    def overlaps(start: date, end: date) -> bool:
        return away_from <= end and away_until >= start

    if need.window_days:
        return all(overlaps(in_days(day), in_days(day)) for day in need.window_days)
    today, closes = in_days(0), in_days(need.closes_in)
    return away_from <= today and away_until >= closes


# --- Invitations: nobody is asked twice for a need ----------------------------------------

invitation_states = st.sampled_from([None, "elsewhere"]) | st.tuples(
    st.sampled_from(INVITATION_STATES), st.sampled_from(["ask", "offer"])
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(states=st.lists(invitation_states, min_size=1, max_size=6))
def test_nobody_with_an_invitation_for_the_need_is_ever_shortlisted(cast, skills, states):
    """Everyone here fits the need; only their invitations differ. The general property
    above meets the invitation rule only when someone otherwise eligible is drawn, so
    this one makes sure every state is tried against people who would be suggested."""
    with transaction.atomic():
        now = timezone.now()
        need = do_create_need(
            actor=cast.users["organiser_a"],
            group=cast.groups["group_a"],
            details=on_site_details(skills),
            publish=True,
        )
        elsewhere = do_create_need(
            actor=cast.users["organiser_a"],
            group=cast.groups["group_a"],
            details=on_site_details(skills, title="Another need"),
            publish=True,
        )
        free: set[int] = set()
        for state in states:
            user = make_volunteer(skills={skills[0]: (2, False)}, asks_per_week=3)
            if isinstance(state, tuple):
                invite(need, user, state[0], state[1], now)
            else:
                if state == "elsewhere":
                    invite(elsewhere, user, "pending", "ask", now)
                free.add(user.pk)
        assert set(eligible_people(need, now=now).values_list("user_id", flat=True)) == free
        assert {card.user_id for card in shortlist(need, now=now)} == free
        event(f"invited for the need: {len(states) - len(free)}")
        transaction.set_rollback(True)


# --- Reliability: better outcomes never rank anyone lower --------------------------------

FIXED_NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
candidates = st.builds(
    Candidate,
    person_id=st.just(1),
    user_id=st.just(1),
    skill_levels=st.dictionaries(st.just(0), st.integers(1, 4), max_size=1),
    availability=st.integers(0, (1 << 21) - 1),
    distance_km=st.none() | st.floats(0, 50),
    reach_km=st.none() | st.floats(1, 50),
    asks_30d=st.integers(0, 10),
    last_asked_at=st.none() | st.integers(1, 200).map(lambda d: FIXED_NOW - timedelta(days=d)),
)
# A need's skill as `score` reads it (unsaved: no database row needed).
WANTED = NeedSkill(skill_id=0, min_level=2, required=True)


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(candidate=candidates, outcomes=st.integers(1, 40), slot_bits=st.integers(0, 7))
def test_good_outcomes_score_above_bad_ones_and_none_in_between(candidate, outcomes, slot_bits):
    def with_record(helped: int, total: int) -> float:
        person = replace(candidate, outcomes=total, helped=helped)
        return score(person, wanted=[WANTED], slot_bits=slot_bits, now=FIXED_NOW).total

    good, newcomer, bad = (
        with_record(outcomes, outcomes),
        with_record(0, 0),
        with_record(0, outcomes),
    )
    assert good > bad
    assert good >= newcomer >= bad
    # One more "helped" never lowers a score.
    for helped in range(outcomes):
        assert with_record(helped + 1, outcomes) >= with_record(helped, outcomes)


# --- Distance: moving someone closer moves them up, and the sentence follows -------------

CLOSE_BY = "they live close by"


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(
    candidate=candidates,
    reach_km=st.floats(1, 50),
    far_share=st.floats(0.5, 1.0),
    near_share=st.floats(0, 0.45),
    slot_bits=st.integers(0, 7),
)
def test_moving_someone_closer_moves_them_up_and_the_sentence_follows(
    candidate, reach_km, far_share, near_share, slot_bits
):
    def ranked(share: float) -> tuple[float, dict[str, float], str]:
        person = replace(candidate, distance_km=reach_km * share, reach_km=reach_km)
        result = score(person, wanted=[WANTED], slot_bits=slot_bits, now=FIXED_NOW)
        return result.total, result.parts, _reason(result.parts, person)

    # The parts a sentence may name: reliability only for a good record of 3 or more.
    nameable = {"skills", "availability", "fairness"}
    if candidate.outcomes >= RELIABILITY_MIN_OUTCOMES and (
        candidate.helped / candidate.outcomes >= RELIABLE_SHARE
    ):
        nameable.add("reliability")

    def others(parts: dict[str, float]) -> list[float]:
        return sorted((parts[name] for name in nameable), reverse=True)

    far_total, far_parts, far_sentence = ranked(far_share)
    near_total, near_parts, near_sentence = ranked(near_share)
    # Closer never scores lower, and strictly higher: only the distance part changed.
    assert near_total > far_total
    assert {k: v for k, v in near_parts.items() if k != "distance"} == {
        k: v for k, v in far_parts.items() if k != "distance"
    }
    for parts, sentence in ((far_parts, far_sentence), (near_parts, near_sentence)):
        if parts["distance"] > others(parts)[0]:
            # The largest part leads the sentence.
            assert sentence.startswith(f"Mostly because {CLOSE_BY},")
        elif parts["distance"] < others(parts)[1]:
            # Behind two other parts: not a reason worth naming.
            assert CLOSE_BY not in sentence
    led = near_parts["distance"] > others(near_parts)[0]
    trailed = far_parts["distance"] < others(far_parts)[1]
    if led and trailed:
        assert CLOSE_BY not in far_sentence and near_sentence.startswith(
            f"Mostly because {CLOSE_BY},"
        )
        event("the move brought distance from unnamed to the first reason")
    else:
        event("the move kept the sentence's first reason")
