"""The database holds a need's invariants even against code that skips the actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from handsup.needs.models import Need, NeedSkill, NeedWindow

pytestmark = pytest.mark.django_db


def refused(need: Need, **changes: object) -> bool:
    for name, value in changes.items():
        setattr(need, name, value)
    try:
        with transaction.atomic():
            need.save()
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize(
    "changes",
    [
        {"people_needed": 0},
        {"people_needed": 501},
        {"filled_count": 4},  # more than the 3 people needed
        {"hours": 0},
        {"radius_km": 5},  # a radius on a remote need
        {"location_kind": "on_site"},  # on site, but nowhere
        {"location_kind": "on_site", "district": "M1", "eastings": 1, "northings": 1},
        {
            "location_kind": "on_site",
            "district": "M1",
            "eastings": 1,
            "northings": 1,
            "radius_km": 201,
        },
        {"weekly_slots": 0},  # ongoing with no slot
        {"schedule_kind": "windows"},  # set times, but weekly slots too
        {"weekly_slots": 1 << 21},  # a bit beyond Sunday evening
        {"status": "closed"},  # closed without saying when
        # Open, yet closed at some time (a fixed moment: the ids must be the same in
        # every xdist worker that collects them).
        {"closed_at": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
    ids=str,
)
def test_the_database_refuses_a_need_that_breaks_a_rule(make_need, changes):
    need = make_need()
    assert refused(need, **changes)


def test_an_on_site_need_within_the_bounds_is_stored(make_need):
    need = make_need()
    assert not refused(
        need,
        location_kind="on_site",
        postcode="M1 1AE",
        district="M1",
        eastings=384_000,
        northings=398_000,
        radius_km=200,
    )


def test_the_database_refuses_a_skill_twice_or_at_an_unknown_level(make_need, skills):
    need = make_need()
    with pytest.raises(IntegrityError), transaction.atomic():
        NeedSkill.objects.create(need=need, skill=skills[0], min_level=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        NeedSkill.objects.create(need=need, skill=skills[1], min_level=5)


def test_the_database_refuses_a_time_that_ends_before_it_starts(make_need):
    need = make_need()
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        NeedWindow.objects.create(need=need, starts_at=start, ends_at=start)
    NeedWindow.objects.create(need=need, starts_at=start, ends_at=start + timedelta(hours=1))
