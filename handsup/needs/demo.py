"""A few needs for the demo groups, so an organiser logging in to the demo has some to run.

`handsup demo_data` calls `build_demo_needs` after making the personas. It adds needs to a
demo group only when the group has none, so running it twice adds nothing. Group A has
also asked the demo volunteer to steward its summer fair, so someone trying the demo as
the volunteer has an invitation to answer (`/needs/<need>/answer/`, linked from the
need's page and from "My commitments").
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.needs.actions import NeedDetails, SkillWanted, TimeWindow, do_create_need
from handsup.needs.answers import invitation_expiry
from handsup.needs.models import Invitation, Need
from handsup.people.models import PersonSkill, Skill
from handsup.places.geo import Location, Point
from handsup.places.postcodes import PlaceKind

# Manchester city centre (the M1 district's centroid, near enough), so the demo needs no
# postcode data.
MANCHESTER_M1 = Location(Point(384_500, 398_000), PlaceKind.DISTRICT, "M1", "M1")


def _at(days: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _wanted(name: str, level: int, *, required: bool = True) -> SkillWanted:
    return SkillWanted(skill=Skill.objects.get(name=name), min_level=level, required=required)


def build_demo_needs(groups: dict[str, Group], users: dict[str, User]) -> list[Need]:
    made: list[Need] = []
    soon = timezone.localdate() + timedelta(days=21)
    capable, experienced = PersonSkill.Level.CAPABLE, PersonSkill.Level.EXPERIENCED
    plans: dict[str, list[tuple[NeedDetails, bool]]] = {
        "group_a": [
            (
                NeedDetails(
                    title="Stewards for the summer fair",
                    description="Welcome people, help them find their way and keep exits clear.",
                    skills=(
                        _wanted("Stewarding", capable),
                        _wanted("Event organising", capable, required=False),
                    ),
                    location_kind=Need.LocationKind.ON_SITE,
                    place=MANCHESTER_M1,
                    radius_km=10,
                    schedule_kind=Need.ScheduleKind.WINDOWS,
                    windows=(TimeWindow(_at(14, 10), _at(14, 16)),),
                    hours=Decimal(6),
                    people_needed=6,
                    closes_on=soon,
                    visibility=Need.Visibility.MOVEMENT,
                ),
                True,
            ),
            (
                NeedDetails(
                    title="Evening phone bank",
                    description="Call members to invite them to the branch's next meeting.",
                    skills=(_wanted("Phone banking", capable),),
                    location_kind=Need.LocationKind.REMOTE,
                    place=None,
                    radius_km=None,
                    schedule_kind=Need.ScheduleKind.ONGOING,
                    # Monday and Wednesday evenings (bit day * 3 + 2).
                    weekly_slots=(1 << 2) | (1 << 8),
                    hours=Decimal(2),
                    people_needed=4,
                    closes_on=soon,
                    visibility=Need.Visibility.MEMBERS,
                ),
                True,
            ),
            (
                NeedDetails(
                    title="Design a leaflet for the housing campaign",
                    description="One side of A5 explaining our asks, in plain English.",
                    skills=(_wanted("Graphic design", experienced),),
                    location_kind=Need.LocationKind.REMOTE,
                    place=None,
                    radius_km=None,
                    schedule_kind=Need.ScheduleKind.WINDOWS,
                    windows=(TimeWindow(_at(3, 9), _at(10, 17)),),
                    hours=Decimal(5),
                    people_needed=1,
                    closes_on=soon,
                    visibility=Need.Visibility.MOVEMENT,
                ),
                False,
            ),
        ],
        "group_b": [
            (
                NeedDetails(
                    title="Write up the branch newsletter",
                    description="Turn the month's notes into a short email newsletter.",
                    skills=(_wanted("Writing", capable), _wanted("Email newsletters", capable)),
                    location_kind=Need.LocationKind.REMOTE,
                    place=None,
                    radius_km=None,
                    schedule_kind=Need.ScheduleKind.WINDOWS,
                    windows=(TimeWindow(_at(7, 9), _at(12, 17)),),
                    hours=Decimal(3),
                    people_needed=1,
                    closes_on=soon,
                    visibility=Need.Visibility.MOVEMENT,
                ),
                True,
            ),
        ],
    }
    organisers = {"group_a": users["organiser_a"], "group_b": users["organiser_b"]}
    for key, needs in plans.items():
        group = groups[key]
        if Need.objects.filter(group=group).exists():
            continue
        for details, publish in needs:
            made.append(
                do_create_need(actor=organisers[key], group=group, details=details, publish=publish)
            )
    _ask_the_demo_volunteer(made, users)
    return made


def _ask_the_demo_volunteer(made: list[Need], users: dict[str, User]) -> None:
    """An ask from group A's organiser waiting for the demo volunteer's answer. Made as a
    row, not through the asks pipeline: the demo volunteer lists no skills, so the
    shortlist would not find her, and the demo sends no mail on its own."""
    stewards = next((need for need in made if need.title.startswith("Stewards")), None)
    volunteer = users.get("volunteer")
    if stewards is None or volunteer is None:
        return
    now = timezone.now()
    Invitation.objects.get_or_create(
        need=stewards,
        user=volunteer,
        defaults={
            "source": Invitation.Source.ASK,
            "invited_by": users.get("organiser_a"),
            "created_at": now,
            "expires_at": invitation_expiry(stewards, now),
        },
    )
