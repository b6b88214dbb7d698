""" "Needs for me": the shortlist's rules in reverse, for one volunteer.

A need is listed for someone when they may see its page (`need_policy` "view") and the
shortlist would find them for it: the same `matching.eligible_people` queryset, narrowed
to them, and the same `matching.score` for the order, best first. Nothing here decides
who fits; it only asks matching, so the two lists can't drift apart.

Needs they already have an invitation for (asked, offered, answered) are listed apart,
with the invitation, whether or not they still fit: that list is about what they did.

Two paths give the same list in the same order. `needs_for_person` is the database
path: one eligibility query per open need that wants a skill they hold (a need wanting
none of their skills can't fit them, so it is not asked about at all); the digest and
processes without the index use it. `needs_page` serves the page: with the in-process
index (`settings.MATCHING_INDEX`, `needs_index`) it reads the person's facts in one
query, finds and orders the needs in memory, and reads the page's needs in one more.

The order is by fit (`fit_of`): the need-dependent parts of `matching.score` (skills,
availability, distance). The person-only parts (fairness, reliability) are the same for
every need on one person's list, so they can't change its order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.needs import matching
from handsup.needs.models import Invitation, Need, NeedSkill
from handsup.needs.needs_index import (
    VolunteerFacts,
    get_needs_index,
    invited_needs,
    volunteer_facts,
)
from handsup.needs.permissions import need_policy
from handsup.needs.querysets import open_need
from handsup.people.models import PersonSkill
from handsup.places.geo import DistanceBand


@dataclass(frozen=True)
class ForMeFilters:
    """What the volunteer narrowed their list to (already validated)."""

    where: str = ""  # "" anywhere, "remote" remote only, "near" on site (within reach)
    skill_id: int | None = None  # needs asking for this skill of theirs


REMOTE_ONLY = "remote"
NEAR_ME = "near"


@dataclass(frozen=True)
class NeedForYou:
    """One need on someone's list, with why it fits them (or their invitation for it)."""

    need: Need
    invitation: Invitation | None = None
    score: float = 0.0  # the fit: `fit_of` the need's `matching.score`
    matched_skills: list[str] = field(default_factory=list)
    distance: str = ""  # a band ("2–5 km") on site; "" for remote or invited needs
    # The need's set times' starts, when known without a query (from the index).
    windows: list[datetime] | None = None

    @property
    def why(self) -> str:
        """One line: the need's skills they hold at the level asked, and how far."""
        if not self.matched_skills:
            return ""
        skills = ", ".join(self.matched_skills)
        if self.distance:
            return _("You have %(skills)s, and it is %(distance)s from you.") % {
                "skills": skills,
                "distance": self.distance,
            }
        return _("You have %(skills)s.") % {"skills": skills}


def needs_for_person(
    user: User, *, now: datetime | None = None, filters: ForMeFilters | None = None
) -> list[NeedForYou]:
    """Open needs `user` may see and fits, best first; then the open needs they already
    have an invitation for (newest invitation first), each with `invitation` set."""
    now = now or timezone.now()
    filters = filters or ForMeFilters()
    needs = _open_needs_they_may_see(user, filters)
    invitations = {
        invitation.need_id: invitation
        for invitation in Invitation.objects.filter(
            user=user, need_id__in=[need.pk for need in needs]
        )
    }
    levels = _their_skill_levels(user)
    fitting: list[tuple[float, str, NeedForYou]] = []
    for need in needs:
        if need.pk in invitations or not levels.keys() & {w.skill_id for w in need.skills.all()}:
            continue
        found = _fit(need, user, levels, now)
        if found is not None:
            fitting.append((-round(found.score, 9), need.public_id, found))
    fitting.sort(key=lambda item: (item[0], item[2].need.closes_on, item[1]))
    invited = sorted(
        (
            NeedForYou(need=need, invitation=invitations[need.pk])
            for need in needs
            if need.pk in invitations
        ),
        key=lambda item: -(item.invitation.created_at.timestamp() if item.invitation else 0),
    )
    return [item for _score, _id, item in fitting] + invited


def _open_needs_they_may_see(user: User, filters: ForMeFilters) -> list[Need]:
    needs = (
        need_policy.needs_for(user, "view")
        .filter(pk__in=Need.objects.open().values("pk"))
        .select_related("group")
        .prefetch_related(
            # The same lookups matching prefetches, so it finds them already read.
            Prefetch("skills", NeedSkill.objects.select_related("skill")),
            "windows",
        )
        .order_by("closes_on", "pk")
    )
    if filters.where == REMOTE_ONLY:
        needs = needs.filter(location_kind=Need.LocationKind.REMOTE)
    elif filters.where == NEAR_ME:
        # "Within my travel radius" is an eligibility rule matching applies to every
        # on-site need; the filter only leaves out the remote ones.
        needs = needs.filter(location_kind=Need.LocationKind.ON_SITE)
    if filters.skill_id is not None:
        needs = needs.filter(Q(skills__skill_id=filters.skill_id)).distinct()
    return list(needs)


def _their_skill_levels(user: User) -> dict[int, int]:
    return dict(PersonSkill.objects.filter(person__user=user).values_list("skill_id", "level"))


def _fit(need: Need, user: User, levels: dict[int, int], now: datetime) -> NeedForYou | None:
    """Whether the shortlist would find `user` for `need`, and if so their score."""
    on_site = need.location_kind == Need.LocationKind.ON_SITE
    fields = ["pk", "asks_30d", "last_asked_at", "availability_bits", "outcomes", "helped"]
    if on_site:
        fields += ["distance_sq_m", "reach_sq_m"]
    row = (
        matching.eligible_people(need, now=now, respect_ask_budget=False)
        .filter(user=user)
        .values(*fields)
        .first()
    )
    if row is None:
        return None
    wanted = list(need.skills.all())
    held = {w.skill_id: levels[w.skill_id] for w in wanted if w.skill_id in levels}
    distance_km = math.sqrt(row["distance_sq_m"]) / 1000 if on_site else None
    candidate = matching.Candidate(
        person_id=row["pk"],
        user_id=user.pk,
        skill_levels=held,
        availability=row["availability_bits"],
        distance_km=distance_km,
        reach_km=math.sqrt(row["reach_sq_m"]) / 1000 if on_site else None,
        asks_30d=row["asks_30d"],
        last_asked_at=row["last_asked_at"],
        outcomes=row["outcomes"],
        helped=row["helped"],
    )
    result = matching.score(
        candidate, wanted=wanted, slot_bits=matching.need_slot_bits(need), now=now
    )
    return _described(need, list(need.skills.all()), levels, fit_of(result), distance_km)


def fit_of(score: matching.Score) -> float:
    """The need-dependent part of a score, summed in `WEIGHTS`' order."""
    return sum(score.parts[name] for name in FIT_PARTS)


FIT_PARTS = ("skills", "availability", "distance")


def _described(
    need: Need,
    skills: list[NeedSkill],
    levels: dict[int, int],
    fit: float,
    distance_km: float | None,
    windows: list[datetime] | None = None,
) -> NeedForYou:
    level_names = dict(PersonSkill.Level.choices)
    return NeedForYou(
        need=need,
        score=fit,
        matched_skills=[
            _("%(skill)s (%(level)s)")
            % {"skill": w.skill.name, "level": str(level_names[levels[w.skill_id]]).lower()}
            for w in skills
            if levels.get(w.skill_id, 0) >= w.min_level
        ],
        distance=str(DistanceBand.for_km(distance_km).label) if distance_km is not None else "",
        windows=windows,
    )


# --- The page ------------------------------------------------------------------------------

PAGE_SIZE = 25
# What the page reads of a need's skills, the need and its group.
LISTED_FIELDS = (
    "need_id",
    "skill_id",
    "min_level",
    "required",
    "skill__name",
    "need__public_id",
    "need__title",
    "need__group__name",
    "need__location_kind",
    "need__district",
    "need__schedule_kind",
    "need__closes_on",
    "need__hours",
)
# Listed beyond the page by the index, in case some closed since its last refresh.
PAGE_MARGIN = 10


@dataclass(frozen=True)
class NeedsPage:
    fitting: list[NeedForYou]  # this page's
    heard: list[NeedForYou]  # every open need they have an invitation for
    page: int
    has_more: bool

    @property
    def first_number(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1


def needs_page(
    user: User,
    *,
    filters: ForMeFilters | None = None,
    page: int = 1,
    now: datetime | None = None,
    use_index: bool | None = None,
    facts: VolunteerFacts | None = None,
) -> NeedsPage:
    """One page of `needs_for_person`'s list (PAGE_SIZE fitting needs), from the
    in-process index when `settings.MATCHING_INDEX` is on (or `use_index`). `facts`:
    the person's `volunteer_facts`, when the caller has read them already."""
    filters = filters or ForMeFilters()
    page = max(page, 1)
    if use_index is None:
        use_index = settings.MATCHING_INDEX
    if not use_index:
        listed = needs_for_person(user, now=now, filters=filters)
        fitting = [item for item in listed if item.invitation is None]
        first = (page - 1) * PAGE_SIZE
        return NeedsPage(
            fitting=fitting[first : first + PAGE_SIZE],
            heard=[item for item in listed if item.invitation is not None],
            page=page,
            has_more=len(fitting) > first + PAGE_SIZE,
        )
    return _page_from_index(
        user, filters, page, now or timezone.now(), facts or volunteer_facts(user)
    )


def _page_from_index(
    user: User, filters: ForMeFilters, page: int, now: datetime, facts: VolunteerFacts | None
) -> NeedsPage:
    invitations = list(invited_needs(user))
    index = get_needs_index()
    heard = [
        NeedForYou(
            need=invitation.need,
            invitation=invitation,
            windows=index.windows_of(invitation.need_id),
        )
        for invitation in invitations
    ]
    if facts is None:
        return NeedsPage(fitting=[], heard=heard, page=page, has_more=False)
    first = (page - 1) * PAGE_SIZE
    found = index.for_person(
        facts,
        today=timezone.localdate(now),
        invited=frozenset(invitation.need_id for invitation in invitations),
        where=filters.where,
        skill_id=filters.skill_id,
        limit=first + PAGE_SIZE + 1 + PAGE_MARGIN,
    )
    # Those the index lists from the page's start, read from the database as open: one
    # closed since the index's last refresh drops out and the next takes its place.
    wanted = found[first:]
    fitting: list[NeedForYou] = []
    taken = 0
    while taken < len(wanted) and len(fitting) < PAGE_SIZE:
        batch = wanted[taken : taken + PAGE_SIZE - len(fitting)]
        taken += len(batch)
        # One query: the needs' skills with the needs (what a list shows of them) and
        # their groups; every need the index finds asks for a skill.
        needs: dict[int, Need] = {}
        skills: dict[int, list[NeedSkill]] = {}
        for wanted_skill in (
            NeedSkill.objects.filter(
                open_need("need__"), need_id__in=[item.need_id for item in batch]
            )
            .select_related("need__group", "skill")
            .only(*LISTED_FIELDS)
        ):
            needs.setdefault(wanted_skill.need_id, wanted_skill.need)
            skills.setdefault(wanted_skill.need_id, []).append(wanted_skill)
        fitting += [
            _described(
                needs[item.need_id],
                skills[item.need_id],
                facts.levels,
                item.fit,
                item.distance_km,
                item.windows,
            )
            for item in batch
            if item.need_id in needs
        ]
    # More when the index lists any past this page (one of them may have closed since:
    # the next page then says so).
    return NeedsPage(fitting=fitting, heard=heard, page=page, has_more=len(wanted) > taken)
