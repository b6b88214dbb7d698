"""Every change to needs: create, edit, publish, close.

Each `do_*` function is atomic and writes an audit row. The rules a need's details must
keep live in `need_problems`, which the form calls so each problem appears beside its
field; the actions call it again and refuse (`NeedRuleBroken`) rather than store a need
that breaks them, whoever calls them. Rules about whether a step may happen at all are
`check_*` functions, which views call first so they can show the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.needs.models import (
    ALL_WEEKLY_SLOTS,
    MAX_HOURS,
    MAX_PEOPLE_NEEDED,
    MAX_RADIUS_KM,
    MIN_RADIUS_KM,
    Need,
    NeedSkill,
    NeedWindow,
)
from handsup.people.models import PersonSkill, Skill
from handsup.places.geo import Location, Point
from handsup.places.postcodes import PlaceKind
from handsup.privacy.audit import record_audit

# The furthest ahead a closing date may be: a need open for longer is really two needs.
MAX_DAYS_OPEN = 366


class NeedRuleBroken(Exception):
    """A change would break a rule; the message is for the person who tried it."""

    def __init__(self, message: str, *, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


@dataclass(frozen=True)
class SkillWanted:
    skill: Skill
    min_level: int
    required: bool


@dataclass(frozen=True)
class TimeWindow:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class NeedDetails:
    """Everything an organiser says about a need, as one value the actions store."""

    title: str
    description: str
    skills: tuple[SkillWanted, ...]
    location_kind: str
    place: Location | None
    radius_km: int | None
    schedule_kind: str
    hours: Decimal
    people_needed: int
    closes_on: date
    visibility: str
    windows: tuple[TimeWindow, ...] = ()
    weekly_slots: int = 0
    # Fields the form already showed a problem for, so the checks here don't repeat it.
    skip: frozenset[str] = field(default=frozenset(), compare=False)


def need_problems(details: NeedDetails, *, filled_count: int = 0) -> dict[str, str]:
    """Field name → message for each rule the details break; empty when all is well."""
    problems: dict[str, str] = {}
    today = timezone.localdate()
    if not details.title.strip():
        problems["title"] = _("Give the need a title.")
    if not details.description.strip():
        problems["description"] = _("Say what the help is.")
    if not details.skills:
        problems["skills"] = _("Add at least one skill the need asks for.")
    elif len({wanted.skill.pk for wanted in details.skills}) < len(details.skills):
        problems["skills"] = _("Each skill can be listed once; remove the repeated one.")
    elif any(w.min_level not in PersonSkill.Level.values for w in details.skills):
        problems["skills"] = _("Choose a level for each skill.")
    if details.location_kind == Need.LocationKind.ON_SITE:
        if details.place is None:
            problems["place"] = _("Say where the help is needed: a postcode or its first part.")
        if details.radius_km is None:
            problems["radius_km"] = _("Say how far people may come from, in km.")
        elif not MIN_RADIUS_KM <= details.radius_km <= MAX_RADIUS_KM:
            problems["radius_km"] = _(
                "Choose a distance from %(low)d to %(high)d km. For help that can be given "
                "from anywhere, choose “anywhere, remotely”."
            ) % {"low": MIN_RADIUS_KM, "high": MAX_RADIUS_KM}
    elif details.location_kind != Need.LocationKind.REMOTE:
        problems["location_kind"] = _("Choose on site or remote.")
    if details.schedule_kind == Need.ScheduleKind.WINDOWS:
        if not details.windows:
            problems["windows"] = _("Add at least one time when the help is needed.")
        elif any(w.ends_at <= w.starts_at for w in details.windows):
            problems["windows"] = _("Each time must end after it starts.")
        elif any(w.ends_at <= timezone.now() for w in details.windows):
            problems["windows"] = _("A time has already passed; change or remove it.")
    elif details.schedule_kind == Need.ScheduleKind.ONGOING:
        if not 0 < details.weekly_slots <= ALL_WEEKLY_SLOTS:
            problems["weekly_slots"] = _("Tick at least one part of the week.")
    else:
        problems["schedule_kind"] = _("Choose set times or ongoing.")
    if not Decimal(0) < details.hours <= MAX_HOURS:
        problems["hours"] = _("Hours of effort must be more than 0 and at most %(n)d.") % {
            "n": MAX_HOURS
        }
    if not 1 <= details.people_needed <= MAX_PEOPLE_NEEDED:
        problems["people_needed"] = _("Ask for at least 1 person and at most %(n)d.") % {
            "n": MAX_PEOPLE_NEEDED
        }
    elif details.people_needed < filled_count:
        problems["people_needed"] = _(
            "%(n)d people have already said yes, so ask for at least %(n)d."
        ) % {"n": filled_count}
    if details.closes_on < today:
        problems["closes_on"] = _("The closing date has passed; choose today or a later day.")
    elif details.closes_on > today + timedelta(days=MAX_DAYS_OPEN):
        problems["closes_on"] = _("Choose a closing date within a year.")
    if details.visibility not in Need.Visibility.values:
        problems["visibility"] = _("Choose who can see the need.")
    return {name: message for name, message in problems.items() if name not in details.skip}


def _ensure_valid(details: NeedDetails, *, filled_count: int = 0) -> None:
    problems = need_problems(details, filled_count=filled_count)
    if problems:
        raise NeedRuleBroken(" ".join(problems.values()), problems=problems)


# --- Checks ------------------------------------------------------------------------------


def check_can_edit(need: Need) -> None:
    if not need.is_editable:
        raise NeedRuleBroken(
            _("This need is %(status)s, so it can't be changed.")
            % {"status": need.get_status_display().lower()}
        )


def check_can_publish(need: Need) -> None:
    if need.status != Need.Status.DRAFT:
        raise NeedRuleBroken(
            _("Only a draft can be published; this need is %(status)s.")
            % {"status": need.get_status_display().lower()}
        )
    if need.closes_on < timezone.localdate():
        raise NeedRuleBroken(
            _("The closing date has passed. Edit the need to choose a new one, then publish it.")
        )


def check_can_close(need: Need) -> None:
    if not need.is_editable:
        raise NeedRuleBroken(
            _("This need is already %(status)s.") % {"status": need.get_status_display().lower()}
        )


# --- Actions -----------------------------------------------------------------------------


def _apply(need: Need, details: NeedDetails) -> None:
    on_site = details.location_kind == Need.LocationKind.ON_SITE
    place = details.place if on_site else None
    need.title = details.title.strip()
    need.description = details.description.strip()
    need.location_kind = details.location_kind
    need.postcode = place.code if place else ""
    need.district = place.district if place else ""
    need.eastings = place.point.eastings if place else None
    need.northings = place.point.northings if place else None
    need.radius_km = details.radius_km if on_site else None
    need.schedule_kind = details.schedule_kind
    ongoing = details.schedule_kind == Need.ScheduleKind.ONGOING
    need.weekly_slots = details.weekly_slots if ongoing else 0
    need.hours = details.hours
    need.people_needed = details.people_needed
    need.closes_on = details.closes_on
    need.visibility = details.visibility


def _replace_skills_and_windows(need: Need, details: NeedDetails) -> None:
    need.skills.all().delete()
    NeedSkill.objects.bulk_create(
        NeedSkill(need=need, skill=w.skill, min_level=w.min_level, required=w.required)
        for w in details.skills
    )
    need.windows.all().delete()
    if details.schedule_kind == Need.ScheduleKind.WINDOWS:
        NeedWindow.objects.bulk_create(
            NeedWindow(need=need, starts_at=w.starts_at, ends_at=w.ends_at)
            for w in sorted(details.windows, key=lambda w: w.starts_at)
        )


def need_details_of(need: Need) -> NeedDetails:
    """A stored need as details, to compare an edit against (and to fill the form)."""
    place = None
    if need.eastings is not None and need.northings is not None:
        kind = PlaceKind.POSTCODE if " " in need.postcode else PlaceKind.DISTRICT
        place = Location(Point(need.eastings, need.northings), kind, need.postcode, need.district)
    return NeedDetails(
        title=need.title,
        description=need.description,
        skills=tuple(
            SkillWanted(skill=row.skill, min_level=row.min_level, required=row.required)
            for row in need.skills.select_related("skill")
        ),
        location_kind=need.location_kind,
        place=place,
        radius_km=need.radius_km,
        schedule_kind=need.schedule_kind,
        hours=need.hours,
        people_needed=need.people_needed,
        closes_on=need.closes_on,
        visibility=need.visibility,
        windows=tuple(TimeWindow(w.starts_at, w.ends_at) for w in need.windows.all()),
        weekly_slots=need.weekly_slots,
    )


# What changed in an edit, named by the parts an organiser thinks in (for the audit row,
# and for the later "material edit" rule: time, place and skills).
_PARTS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "description": ("description",),
    "skills": ("skills",),
    "place": ("location_kind", "place", "radius_km"),
    "time": ("schedule_kind", "windows", "weekly_slots"),
    "effort": ("hours", "people_needed"),
    "closes_on": ("closes_on",),
    "visibility": ("visibility",),
}


def changed_parts(before: NeedDetails, after: NeedDetails) -> list[str]:
    def key(details: NeedDetails, name: str) -> object:
        value = getattr(details, name)
        if name == "skills":
            return sorted((w.skill.pk, w.min_level, w.required) for w in value)
        if name == "place":
            return value.point if value else None
        if name == "windows":
            return sorted((w.starts_at, w.ends_at) for w in value)
        if name in ("title", "description"):
            return value.strip()
        return value

    return [
        part
        for part, names in _PARTS.items()
        if any(key(before, name) != key(after, name) for name in names)
    ]


@transaction.atomic
def do_create_need(
    *, actor: User, group: Group, details: NeedDetails, publish: bool = False
) -> Need:
    """A new need, as a draft, or open straight away with `publish`."""
    _ensure_valid(details)
    need = Need(group=group, created_by=actor)
    _apply(need, details)
    need.status = Need.Status.OPEN if publish else Need.Status.DRAFT
    need.save()
    _replace_skills_and_windows(need, details)
    record_audit(
        actor=actor, action="needs.created", obj=need, group=group, details={"status": need.status}
    )
    from handsup.platform.events import emit_need_created

    emit_need_created(need)
    return need


@transaction.atomic
def do_update_need(*, actor: User, need: Need, details: NeedDetails) -> list[str]:
    """Change a draft or open need; returns the parts that changed (maybe none)."""
    need = Need.objects.select_for_update().get(pk=need.pk)
    check_can_edit(need)
    _ensure_valid(details, filled_count=need.filled_count)
    parts = changed_parts(need_details_of(need), details)
    if not parts:
        return []
    _apply(need, details)
    need.save()
    _replace_skills_and_windows(need, details)
    record_audit(
        actor=actor,
        action="needs.updated",
        obj=need,
        group=need.group,
        details={"changed": parts, "status": need.status},
    )
    # Imported here so this module's imports stay free of messaging (edits sends notes).
    from handsup.needs.edits import tell_invitees_of_edit

    tell_invitees_of_edit(actor=actor, need=need, changed=parts)
    return parts


@transaction.atomic
def do_publish_need(*, actor: User, need: Need) -> Need:
    need = Need.objects.select_for_update().get(pk=need.pk)
    check_can_publish(need)
    need.status = Need.Status.OPEN
    need.save(update_fields=["status", "updated_at"])
    record_audit(actor=actor, action="needs.published", obj=need, group=need.group)
    return need


@transaction.atomic
def do_close_need(*, actor: User, need: Need) -> Need:
    """Close a draft or open need; anyone still asked (or offering) is told it's over."""
    # Imported here: answers sends notices through messaging, which the rest of this
    # module doesn't need.
    from handsup.needs.answers import do_withdraw_open_invitations

    need = Need.objects.select_for_update().get(pk=need.pk)
    check_can_close(need)
    was = need.status
    need.status = Need.Status.CLOSED
    need.closed_at = timezone.now()
    need.save(update_fields=["status", "closed_at", "updated_at"])
    record_audit(
        actor=actor, action="needs.closed", obj=need, group=need.group, details={"was": was}
    )
    do_withdraw_open_invitations(
        need=need,
        actor=actor,
        now=need.closed_at,
        why=_(
            "Thank you — the group has closed this need, so we've withdrawn our ask. "
            "Nothing more to do."
        ),
    )
    return need
