"""Helpers for the needs tests: a valid need's details, and the same as form data."""

from __future__ import annotations

import importlib
import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership
from handsup.messaging.models import Decision, Kind, LedgerEntry, Message, Reason
from handsup.needs.actions import NeedDetails, SkillWanted, TimeWindow, do_create_need
from handsup.needs.models import Need
from handsup.people.models import Person, PersonSkill, Profile, Skill
from handsup.places.geo import Location, Point
from handsup.places.postcodes import PlaceKind
from handsup.privacy.consent import do_record_consent
from handsup.privacy.register import PurposeCode, ensure_standard_register


def in_days(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


def at(days: int, hour: int) -> datetime:
    day = in_days(days)
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


@pytest.fixture
def standard_register(transactional_db: None) -> None:
    """The purposes and privacy notice the migrations load, made again if missing: a test
    with `transaction=True` can run after another that flushed the tables. List it
    before `cast`, which records consents against them."""
    ensure_standard_register()


@pytest.fixture
def migration_rows(standard_register: None) -> None:
    """Also the skills taxonomy the migrations load, made again if missing."""
    from django.apps import apps

    taxonomy = importlib.import_module("handsup.people.migrations.0003_skills_taxonomy")
    taxonomy.add_taxonomy(apps, None)


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


# --- People for matching: a volunteer with exactly the facts a test names ----------------

# The demo needs' centre (Manchester M1); volunteers are placed by offsets from it.
CENTRE = Point(384_500, 398_000)
_serial = itertools.count()


def make_volunteer(
    *,
    skills: dict[Skill, tuple[int, bool]] | None = None,
    offset_m: tuple[int, int] | None = (0, 0),
    found: str | None = "movement",
    member_of: Group | None = None,
    verified: bool = True,
    active: bool = True,
    travel_radius_km: int = 10,
    availability: int = 0,
    asks_per_week: int = 1,
    marker: str = "",
) -> User:
    """A volunteer: `skills` maps a skill to (level, can do it remotely); `found` is
    "movement", "groups" (only my groups) or None (no consent to be found)."""
    n = next(_serial)
    user = User.objects.create_user(
        f"v{n}@example.test", None, full_name=f"Volunteer Name{n} {marker}", is_active=active
    )
    point = None if offset_m is None else Point(CENTRE[0] + offset_m[0], CENTRE[1] + offset_m[1])
    person = Person.objects.create(
        user=user,
        display_name=user.full_name,
        verified=verified,
        postcode="M1 1AE" if point else "",
        district="M1" if point else "",
        eastings=point.eastings if point else None,
        northings=point.northings if point else None,
    )
    Profile.objects.create(
        person=person,
        travel_radius_km=travel_radius_km,
        availability=availability,
        asks_per_week_normal=asks_per_week,
        asks_per_week_campaign=max(asks_per_week, 3),
        phone=f"07700 9{n:05d}",
    )
    for skill, (level, remote) in (skills or {}).items():
        PersonSkill.objects.create(person=person, skill=skill, level=level, remote=remote)
    if member_of is not None:
        Membership.objects.create(user=user, group=member_of)
    if found is not None:
        purpose = PurposeCode.FOUND_MOVEMENT if found == "movement" else PurposeCode.FOUND_MY_GROUPS
        do_record_consent(user=user, purpose=purpose, given=True, source="web", recorded_by=user)
    return user


def record_ask(user: User, group: Group, at: datetime, decision: str = Decision.SENT) -> None:
    """An ask the ledger says went to `user` at `at` (as pacing would have written it)."""
    message = Message.objects.create(kind=Kind.ASK, group=group, subject="Can you help?")
    LedgerEntry.objects.create(
        user=user,
        message=message,
        kind=Kind.ASK,
        group=group,
        at=at,
        decision=decision,
        reason=Reason.QUIET_HOURS if decision == Decision.HELD else Reason.WITHIN_BUDGET,
        release_at=at + timedelta(hours=8) if decision == Decision.HELD else None,
    )


def on_site_details(taxonomy: list[Skill], **changes: Any) -> NeedDetails:
    """An open on-site need in Manchester M1 within 10 km, one set time in 10 days."""
    details = NeedDetails(
        title="Stewards for the summer fair",
        description="Help people find their way.",
        skills=(SkillWanted(skill=taxonomy[0], min_level=2, required=True),),
        location_kind=Need.LocationKind.ON_SITE,
        place=Location(CENTRE, PlaceKind.DISTRICT, "M1", "M1"),
        radius_km=10,
        schedule_kind=Need.ScheduleKind.WINDOWS,
        windows=(TimeWindow(at(10, 10), at(10, 16)),),
        hours=Decimal(6),
        people_needed=4,
        closes_on=in_days(9),
        visibility=Need.Visibility.MOVEMENT,
    )
    return replace(details, **changes)


@pytest.fixture
def open_on_site_need(cast, skills) -> Need:
    """An open on-site need of group A (Manchester M1 within 10 km, one set time)."""
    return do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(skills),
        publish=True,
    )
