"""Helpers for the needs tests: a valid need's details, and the same as form data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from handsup.needs.actions import NeedDetails, SkillWanted, TimeWindow, do_create_need
from handsup.needs.models import Need
from handsup.people.models import Skill


def in_days(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


def at(days: int, hour: int) -> datetime:
    day = in_days(days)
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


@pytest.fixture
def skills(db: None) -> list[Skill]:
    return list(Skill.objects.order_by("pk")[:3])


@pytest.fixture
def remote_details(skills: list[Skill]) -> NeedDetails:
    """A remote, ongoing need: needs no postcode data."""
    return NeedDetails(
        title="Phone bank callers",
        description="Call members about the summer fair.",
        skills=(SkillWanted(skill=skills[0], min_level=2, required=True),),
        location_kind=Need.LocationKind.REMOTE,
        place=None,
        radius_km=None,
        schedule_kind=Need.ScheduleKind.ONGOING,
        weekly_slots=0b101,
        hours=Decimal("2.5"),
        people_needed=3,
        closes_on=in_days(30),
        visibility=Need.Visibility.MOVEMENT,
    )


@pytest.fixture
def make_need(cast: Any, remote_details: NeedDetails):
    """Post a need for a group (A unless told) as its organiser; overrides go to the
    details, and `publish` opens it straight away."""

    def make(group: str = "group_a", *, publish: bool = False, **changes: Any) -> Need:
        organiser = "organiser_a" if group == "group_a" else "organiser_b"
        return do_create_need(
            actor=cast.users[organiser],
            group=cast.groups[group],
            details=replace(remote_details, **changes),
            publish=publish,
        )

    return make


def form_data(skills: list[Skill], **changes: Any) -> dict[str, Any]:
    """A valid on-site need with one time window, as the form posts it."""
    start, end = at(10, 10), at(10, 16)
    data: dict[str, Any] = {
        "title": "Stewards for the summer fair",
        "description": "Help people find their way and keep the exits clear.",
        "skill_0": str(skills[0].pk),
        "level_0": "2",
        "must_0": "must",
        "skill_1": str(skills[1].pk),
        "level_1": "1",
        "must_1": "nice",
        "location_kind": "on_site",
        "place": "M1 1AE",
        "radius_km": "10",
        "schedule_kind": "windows",
        "window_0_start": timezone.localtime(start).strftime("%Y-%m-%dT%H:%M"),
        "window_0_end": timezone.localtime(end).strftime("%Y-%m-%dT%H:%M"),
        "hours": "6",
        "people_needed": "4",
        "closes_on": in_days(9).isoformat(),
        "visibility": "movement",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def window() -> TimeWindow:
    return TimeWindow(at(5, 18), at(5, 20))
