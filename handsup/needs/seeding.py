"""The "needs" seed step: needs posted by seeded groups, the asks and offers about them,
and what happened afterwards.

Runs after "groups" and "talent". About one need for every 300 volunteers, posted by
constituency parties and branches that have an organiser:

* a need asks for one or two skills that seeded people actually hold (drawn the way the
  talent step drew them, so leafleting is common and BSL interpreting rare), on site at
  the group's centre within a few km, or remote; at set times (one to three days) or
  ongoing on weekly slots;
* a tenth are drafts, a little over half are open, the rest are over: filled, or closed
  before every place was taken;
* the people invited are seeded volunteers who hold one of the skills and live within
  the need's radius (for remote needs, who can do it remotely): most were asked by the
  group (one ask message per need, with a ledger row for each person, so fairness and
  budgets see it), some offered themselves. They said yes, said no (with a reason), let
  the ask expire, or have not answered yet (open needs only);
* everyone who said yes has a contact-release grant for that need, and for needs that
  are over, an organiser recorded whether they helped and the hours they gave.

Dates: needs that are over count back from the seed's anchor, open ones forward from it.
The anchor is the later of the seed epoch and today, so a seed made today has needs open
today; the rows chosen depend only on the seed, the people and the taxonomy. Every draw
comes from `context.rng("needs")`; `reset_needs` deletes the needs of seeded groups and
their ask messages, which is everything this step made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Q

from handsup.core.seeding import SeedContext, SeedError
from handsup.groups.models import Group, Membership
from handsup.messaging.models import Decision, Kind, LedgerEntry, Message, Reason
from handsup.needs.index_changes import note_rebuild
from handsup.needs.models import (
    ALL_WEEKLY_SLOTS,
    GRANT_DAYS_AFTER_NEED,
    GRANT_MAX_DAYS,
    INVITATION_LIFETIME_DAYS,
    ContactGrant,
    HoursLog,
    Invitation,
    Need,
    NeedSkill,
    NeedWindow,
)
from handsup.people.models import Skill
from handsup.people.seeding import SeededPeople
from handsup.people.seeding_talent import SeededTalent

VOLUNTEERS_PER_NEED = 300
MIN_NEEDS = 6
STATUS_SHARES = {"draft": 0.10, "open": 0.55, "over": 0.35}
P_FILLED_WHEN_OVER = 0.6
P_REMOTE = 0.25
P_ONGOING = 0.3
P_TWO_SKILLS = 0.35
P_OFFER = 0.15
P_HELPED = 0.85
RADII_KM = (3, 5, 10, 15, 25)
PEOPLE_NEEDED = (1, 2, 2, 3, 4, 6, 10)
HOURS = (Decimal("2.0"), Decimal("3.0"), Decimal("4.0"), Decimal("6.0"), Decimal("2.5"))
# How many more people are asked than there are places.
ASKED_PER_PLACE = 3
DECLINE_REASONS = [value for value in Invitation.DeclineReason.values if value]

# A title and a description for a need, by the first skill's slug; others get a plain one.
TITLES = {
    "leafleting": ("Leafleters for {area}", "Deliver leaflets to a few streets near {area}."),
    "door-to-door-canvassing": (
        "Canvassers for {area}",
        "Knock on doors with an experienced canvasser and listen to what people say.",
    ),
    "social-media": ("Help with our social media", "Write and schedule a few posts a week."),
    "driving-car": ("Drivers on the day", "Drive members who can't get to the polling station."),
    "event-organising": (
        "Help run our summer fair",
        "Plan the stalls, the rota and the clearing up with us.",
    ),
    "writing": ("Writers for the newsletter", "Write a short piece for the members' newsletter."),
    "phone-banking": ("Phone bank callers", "Call members to invite them to the next meeting."),
}
GENERIC = ("Help with {skill}", "We need a hand with {skill}, with friendly people around.")


@dataclass(frozen=True)
class _Host:
    group_id: int
    name: str
    organiser_id: int
    district: str
    eastings: int | None
    northings: int | None


def _hosts(using: str) -> list[_Host]:
    """Seeded constituency parties and branches that are active and have an organiser."""
    organisers: dict[int, int] = {}
    rows = (
        Membership.objects.using(using)
        .filter(
            group__seeded=True,
            group__status=Group.Status.ACTIVE,
            group__kind__in=[Group.Kind.CONSTITUENCY, Group.Kind.BRANCH],
            role__in=[Membership.Role.ORGANISER, Membership.Role.ADMIN],
        )
        .order_by("group_id", "user_id")
        .values_list("group_id", "user_id")
    )
    for group_id, user_id in rows:
        organisers.setdefault(group_id, user_id)
    groups = (
        Group.objects.using(using)
        .filter(pk__in=list(organisers))
        .order_by("pk")
        .values_list("pk", "name", "area_districts", "centre_eastings", "centre_northings")
    )
    hosts = []
    for pk, name, districts, eastings, northings in groups:
        district = next((d.strip() for d in districts.split(",") if d.strip()), "")
        if len(district) > 4:
            district = ""
        hosts.append(_Host(pk, name, organisers[pk], district, eastings, northings))
    return hosts


def _anchor(context: SeedContext) -> datetime:
    today = datetime.combine(datetime.now(UTC).date(), time(0), tzinfo=UTC)
    return max(context.epoch, today)


@dataclass
class _Plan:
    """Everything drawn, before anything is written."""

    needs: list[Need]
    skills: list[list[tuple[int, int, bool]]]  # per need: (skill id, min level, required)
    windows: list[list[tuple[datetime, datetime]]]
    invitees: list[list[int]]  # per need: indexes into the seeded people
    over: list[bool]


def _draw(
    context: SeedContext,
    rng: np.random.Generator,
    people: SeededPeople,
    talent: SeededTalent,
    hosts: list[_Host],
    names: dict[int, tuple[str, str]],
) -> _Plan:
    count = max(MIN_NEEDS, len(people) // VOLUNTEERS_PER_NEED)
    anchor = _anchor(context)
    statuses = list(STATUS_SHARES)
    shares = np.array(list(STATUS_SHARES.values()))
    # Who holds which skill (and remotely), to draw skills people have and find invitees.
    holders: dict[int, Any] = defaultdict(list)
    remote_holders: dict[int, Any] = defaultdict(list)
    for person, skill, remote in zip(
        talent.skill_person.tolist(),
        talent.skill_id.tolist(),
        talent.skill_remote.tolist(),
        strict=True,
    ):
        holders[skill].append(person)
        if remote:
            remote_holders[skill].append(person)
    plan = _Plan([], [], [], [], [])
    for _index in range(count):
        host = hosts[int(rng.integers(len(hosts)))]
        status = statuses[int(rng.choice(len(shares), p=shares / shares.sum()))]
        remote = bool(rng.random() < P_REMOTE) or host.eastings is None or not host.district
        ongoing = bool(rng.random() < P_ONGOING)
        first = int(talent.skill_id[int(rng.integers(len(talent.skill_id)))])
        wanted = [first]
        if rng.random() < P_TWO_SKILLS:
            second = int(talent.skill_id[int(rng.integers(len(talent.skill_id)))])
            if second != first:
                wanted.append(second)
        people_needed = int(PEOPLE_NEEDED[int(rng.integers(len(PEOPLE_NEEDED)))])
        radius = None if remote else int(RADII_KM[int(rng.integers(len(RADII_KM)))])
        if status == "over":
            created = anchor - timedelta(days=int(rng.integers(60, 330)))
            closes_on = (created + timedelta(days=int(rng.integers(10, 30)))).date()
        else:
            created = anchor - timedelta(days=int(rng.integers(1, 20)))
            closes_on = (anchor + timedelta(days=int(rng.integers(7, 60)))).date()
        windows: list[tuple[datetime, datetime]] = []
        slots = 0
        if ongoing:
            slots = int(rng.integers(1, ALL_WEEKLY_SLOTS + 1))
        else:
            for day in sorted({int(rng.integers(1, 15)) for _ in range(int(rng.integers(1, 4)))}):
                start = datetime.combine(
                    closes_on + timedelta(days=day), time(int(rng.choice([10, 14, 18]))), UTC
                )
                windows.append((start, start + timedelta(hours=int(rng.integers(2, 5)))))
        skill_name, slug = names[first]
        title, description = TITLES.get(slug, GENERIC)
        area = host.district or "our area"
        need = Need(
            group_id=host.group_id,
            created_by_id=host.organiser_id,
            title=title.format(area=area, skill=skill_name.lower())[:200],
            description=description.format(area=area, skill=skill_name.lower()),
            location_kind=Need.LocationKind.REMOTE if remote else Need.LocationKind.ON_SITE,
            postcode="" if remote else host.district,
            district="" if remote else host.district,
            eastings=None if remote else host.eastings,
            northings=None if remote else host.northings,
            radius_km=radius,
            schedule_kind=Need.ScheduleKind.ONGOING if ongoing else Need.ScheduleKind.WINDOWS,
            weekly_slots=slots,
            hours=HOURS[int(rng.integers(len(HOURS)))],
            people_needed=people_needed,
            closes_on=closes_on,
            visibility=Need.Visibility.MOVEMENT,
            status=Need.Status.DRAFT if status == "draft" else Need.Status.OPEN,
        )
        need.created_at = created  # auto_now_add is overridden below
        plan.needs.append(need)
        plan.skills.append(
            [(skill, int(rng.integers(1, 3)), index == 0) for index, skill in enumerate(wanted)]
        )
        plan.windows.append(windows)
        plan.over.append(status == "over")
        if status == "draft":
            plan.invitees.append([])
            continue
        pool = remote_holders[first] if remote else holders[first]
        candidates = np.unique(np.asarray(pool, dtype=np.int64))
        if not remote and len(candidates):
            assert radius is not None and host.eastings is not None
            assert host.northings is not None
            east = people.eastings[candidates].astype(np.float64) - host.eastings
            north = people.northings[candidates].astype(np.float64) - host.northings
            candidates = candidates[np.hypot(east, north) <= radius * 1000]
        wanted_count = min(len(candidates), people_needed * ASKED_PER_PLACE)
        chosen: Any = (
            rng.choice(candidates, size=wanted_count, replace=False) if wanted_count else []
        )
        plan.invitees.append(sorted(int(i) for i in chosen))
    return plan


def build_needs(context: SeedContext) -> str:
    using = context.using
    people = context.artifacts.get("people")
    talent = context.artifacts.get("talent")
    if not isinstance(people, SeededPeople) or not isinstance(talent, SeededTalent):
        raise SeedError("The needs step needs the people and talent steps' volunteers.")
    if Need.objects.using(using).filter(group__seeded=True).exists():
        raise SeedError(
            "Seeded groups already have needs: run `handsup seed --reset …` to replace them."
        )
    hosts = _hosts(using)
    if not hosts or not len(talent.skill_id):
        return "no needs: no seeded group has an organiser, or nobody has a skill"
    names = {
        pk: (name, slug)
        for pk, name, slug in Skill.objects.using(using).values_list("pk", "name", "slug")
    }
    rng = context.rng("needs")
    plan = _draw(context, rng, people, talent, hosts, names)
    anchor = _anchor(context)

    needs = Need.objects.using(using).bulk_create(plan.needs)
    NeedSkill.objects.using(using).bulk_create(
        NeedSkill(need=need, skill_id=skill, min_level=level, required=required)
        for need, wanted in zip(needs, plan.skills, strict=True)
        for skill, level, required in wanted
    )
    NeedWindow.objects.using(using).bulk_create(
        NeedWindow(need=need, starts_at=start, ends_at=end)
        for need, windows in zip(needs, plan.windows, strict=True)
        for start, end in windows
    )
    hosts_by_group = {host.group_id: host for host in hosts}
    invitations: list[Invitation] = []
    messages: list[Message] = []
    accepted_by_need: dict[int, int] = {}
    for need, invitees, over, windows in zip(
        needs, plan.invitees, plan.over, plan.windows, strict=True
    ):
        if not invitees:
            continue
        asked_at = need.created_at + timedelta(hours=2)
        message = Message(
            kind=Kind.ASK,
            group_id=need.group_id,
            author_id=need.created_by_id,
            subject=f"Can you help? {need.title}"[:200],
            body_markdown=need.description,
            audience_description=f"{len(invitees)} people from the shortlist",
            created_at=asked_at,
            sent_at=asked_at,
        )
        messages.append(message)
        places = need.people_needed
        if over:
            full = rng.random() < P_FILLED_WHEN_OVER
            yes = places if full else int(rng.integers(0, places))
        else:
            yes = int(rng.integers(0, places))
        yes = min(yes, len(invitees))
        ends = max((end for _start, end in windows), default=None)
        for position, person in enumerate(invitees):
            offered = rng.random() < P_OFFER
            created = asked_at + timedelta(hours=int(rng.integers(0, 72)))
            expires = min(
                created + timedelta(days=INVITATION_LIFETIME_DAYS),
                datetime.combine(need.closes_on + timedelta(days=1), time(0), UTC),
            )
            if expires <= created:
                expires = created + timedelta(hours=1)
            invitation = Invitation(
                need=need,
                user_id=int(people.user_ids[person]),
                source=Invitation.Source.OFFER if offered else Invitation.Source.ASK,
                invited_by_id=None if offered else need.created_by_id,
                message=None if offered else message,
                created_at=created,
                expires_at=expires,
                share_phone=bool(rng.random() < 0.4),
            )
            answered = created + timedelta(hours=int(rng.integers(1, 60)))
            if position < yes:
                invitation.status = Invitation.Status.ACCEPTED
                invitation.answered_at = min(answered, expires - timedelta(minutes=1))
                if over:
                    invitation.helped = bool(rng.random() < P_HELPED)
                    invitation.outcome_recorded_at = invitation.answered_at + timedelta(days=20)
                    if invitation.helped:
                        invitation.thanked_at = invitation.outcome_recorded_at
            elif over or rng.random() < 0.5:
                if rng.random() < 0.7:
                    invitation.status = Invitation.Status.DECLINED
                    invitation.answered_at = min(answered, expires - timedelta(minutes=1))
                    invitation.decline_reason = DECLINE_REASONS[
                        int(rng.integers(len(DECLINE_REASONS)))
                    ]
                else:
                    invitation.status = Invitation.Status.EXPIRED
                    invitation.answered_at = expires
            invitations.append(invitation)
            invitation._need_ends = ends  # type: ignore[attr-defined]
        accepted_by_need[need.pk] = yes

    messages = Message.objects.using(using).bulk_create(messages)
    Invitation.objects.using(using).bulk_create(invitations)
    LedgerEntry.objects.using(using).bulk_create(
        LedgerEntry(
            user_id=invitation.user_id,
            message=invitation.message,
            kind=Kind.ASK,
            group_id=invitation.need.group_id,
            at=invitation.created_at,
            decision=Decision.SENT,
            reason=Reason.WITHIN_BUDGET,
        )
        for invitation in invitations
        if invitation.message is not None
    )
    sent: dict[int, int] = defaultdict(int)
    for invitation in invitations:
        if invitation.message is not None:
            sent[invitation.message.pk] += 1
    for message in messages:
        Message.objects.using(using).filter(pk=message.pk).update(
            recipients=sent[message.pk],
            sent_count=sent[message.pk],
            delivered_count=sent[message.pk],
            reason_counts={Reason.WITHIN_BUDGET: sent[message.pk]},
        )

    grants: list[ContactGrant] = []
    hours: list[HoursLog] = []
    for invitation in invitations:
        if invitation.status != Invitation.Status.ACCEPTED:
            continue
        need = invitation.need
        assert invitation.answered_at is not None
        ends = getattr(invitation, "_need_ends", None)
        if need.schedule_kind == Need.ScheduleKind.ONGOING:
            closes = datetime.combine(need.closes_on, time(0), UTC)
            expires = min(
                closes + timedelta(days=GRANT_DAYS_AFTER_NEED),
                invitation.answered_at + timedelta(days=GRANT_MAX_DAYS),
            )
        else:
            expires = (ends or invitation.answered_at) + timedelta(days=GRANT_DAYS_AFTER_NEED)
        grants.append(
            ContactGrant(
                invitation=invitation,
                user_id=invitation.user_id,
                group_id=need.group_id,
                need=need,
                share_phone=invitation.share_phone,
                created_at=invitation.answered_at,
                expires_at=max(expires, invitation.answered_at + timedelta(days=1)),
            )
        )
        if invitation.helped:
            worked_on = (ends or invitation.answered_at).date()
            for _entry in range(int(rng.integers(1, 3))):
                hours.append(
                    HoursLog(
                        invitation=invitation,
                        hours=HOURS[int(rng.integers(len(HOURS)))],
                        logged_by_id=hosts_by_group[need.group_id].organiser_id,
                        on_date=min(worked_on, anchor.date() - timedelta(days=1)),
                        created_at=invitation.outcome_recorded_at or anchor,
                    )
                )
    ContactGrant.objects.using(using).bulk_create(grants)
    HoursLog.objects.using(using).bulk_create(hours)

    # Status and fill last, in one update per kind of need.
    for need, over in zip(needs, plan.over, strict=True):
        filled = accepted_by_need.get(need.pk, 0)
        changes: dict[str, Any] = {"filled_count": filled, "created_at": need.created_at}
        if over:
            changes["status"] = (
                Need.Status.FILLED if filled >= need.people_needed else Need.Status.CLOSED
            )
            changes["closed_at"] = datetime.combine(need.closes_on, time(18), UTC)
        Need.objects.using(using).filter(pk=need.pk).update(**changes)
    note_rebuild(using=using)  # bulk writes skip the signals the matching index follows
    counts = Need.objects.using(using).filter(group__seeded=True)
    open_count = counts.filter(status=Need.Status.OPEN).count()
    return (
        f"{len(needs)} needs ({open_count} open), {len(invitations)} invitations, "
        f"{len(grants)} introductions, {len(hours)} hours entries"
    )


def reset_needs(context: SeedContext) -> str:
    """Delete the seeded groups' needs (their invitations, grants and hours go with them)
    and the ask messages the step wrote for them (with their ledger rows)."""
    using = context.using
    needs = Need.objects.using(using).filter(group__seeded=True)
    count = needs.count()
    Invitation.objects.using(using).filter(need__in=needs).delete()
    needs.delete()
    asks = Message.objects.using(using).filter(Q(group__seeded=True) & Q(kind=Kind.ASK))
    ask_count = asks.count()
    LedgerEntry.objects.using(using).filter(message__in=asks).delete()
    asks.delete()
    note_rebuild(using=using)  # ledger rows went: the matching index reloads
    return f"{count} needs, {ask_count} ask messages"
