"""Equivalence for the in-process index: for any generated movement, need and filters,
`MatchingIndex.shortlist` returns exactly `matching.shortlist`'s cards (same people, same
order, same contents), whether the index was built after the movement was made or built
before it and brought up to date by `refresh` (so every signal and the ledger follower
are exercised too).

The movements are the ones `test_matching_properties` draws (people with consents,
memberships, blocks, places, skills, ask histories, dates away and invitations), with
recorded outcomes added, so every part of the score and every rule is in play.
`HANDSUP_HYPOTHESIS_EXAMPLES` sets the number of examples (default 60, for CI).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handsup.needs.index import MatchingIndex
from handsup.needs.matching import ShortlistFilters, shortlist
from handsup.needs.models import Invitation
from handsup.people.models import Skill

from .test_matching_properties import (
    EXAMPLES,
    NeedSpec,
    PersonSpec,
    invite,
    make_need,
    make_person,
    needs,
    people,
)

pytestmark = pytest.mark.django_db

filters = st.builds(
    ShortlistFilters,
    min_level=st.none() | st.integers(1, 4),
    max_km=st.none() | st.integers(1, 40),
    members_only=st.booleans(),
)
# People whom only their skills, place and asks can rule out, so lists are not empty.
keen = st.builds(
    lambda p, offset: replace(
        p,
        found="movement",
        verified=True,
        active=True,
        blocks_a=False,
        away=None,
        invitation=None,
        offset_m=offset,
        travel_radius_km=max(p.travel_radius_km, 5),
    ),
    people,
    st.tuples(st.integers(-2_000, 2_000), st.integers(-2_000, 2_000)),
)
# (accepted invitations with an outcome, of which helped) per person, for reliability.
records = st.tuples(st.integers(0, 4), st.integers(0, 4)).map(lambda r: (r[0], min(r)))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    need_spec=needs,
    specs=st.lists(
        st.tuples(people | keen | keen, records, st.integers(0, (1 << 21) - 1)),
        min_size=4,
        max_size=12,
    ),
    narrowed=st.sampled_from([None, None, ShortlistFilters()]) | filters,
    limit=st.sampled_from([1, 3, 50]),
    build_first=st.booleans(),
)
def test_the_index_returns_exactly_the_database_paths_shortlist(
    cast, skills, need_spec, specs, narrowed, limit, build_first, monkeypatch
):
    # Up to date, the index's scores are the database path's to the bit: its exact
    # order is trusted, never the careful fallback.
    monkeypatch.setattr(MatchingIndex, "_within_slack", _never)
    with transaction.atomic():
        early = MatchingIndex.build() if build_first else None
        need = make_movement(cast, skills, need_spec, specs)
        if early is not None:
            early.refresh()
        index = early or MatchingIndex.build()
        now = timezone.now()
        expected = shortlist(need, now=now, filters=narrowed, limit=limit)
        assert index.shortlist(need, now=now, filters=narrowed, limit=limit) == expected
        everyone = len(shortlist(need, now=now, filters=narrowed, limit=1000))
        event(f"eligible: {everyone if everyone < 3 else '3+'}")
        shown = f"{len(expected)}" if len(expected) < 3 else "3+"
        event(f"{'remote' if need_spec.remote else 'on site'}, {shown} cards")
        event(f"limit {limit}, filtered: {narrowed is not None}")
        event("refreshed from the change log" if build_first else "built afterwards")
        transaction.set_rollback(True)


def _never(*args: Any) -> Any:
    raise AssertionError("an up-to-date index fell back to the slack re-check")


def make_movement(
    cast: Any,
    skills: list[Skill],
    need_spec: NeedSpec,
    specs: list[tuple[PersonSpec, tuple[int, int], int]],
) -> Any:
    """The need and the people, as `test_matching_properties.check` makes them, with
    availability and recorded outcomes (on needs of group B, which change nothing else)."""
    now = timezone.now()
    need = make_need(cast, skills, need_spec)
    elsewhere = make_need(cast, skills, need_spec)
    for spec, (outcomes, helped), availability in specs:
        user = make_person(
            cast,
            skills,
            spec,
            need=need,
            elsewhere=elsewhere,
            now=now,
            availability=availability,
        )
        for i in range(outcomes):
            past = make_need(cast, skills, need_spec)
            invite(past, user, "accepted", "ask", now)
            Invitation.objects.filter(need=past, user=user).update(helped=i < helped)
        if outcomes:
            Invitation.objects.filter(user=user).first().save()  # type: ignore[union-attr]
    return need
