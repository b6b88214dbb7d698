""" "Needs for me": the shortlist's rules in reverse, for one volunteer.

A need is listed for someone when they may see its page (`need_policy` "view") and the
shortlist would find them for it: the same `matching.eligible_people` queryset, narrowed
to them, and the same `matching.score` for the order, best first. Nothing here decides
who fits; it only asks matching, so the two lists can't drift apart.

Needs they already have an invitation for (asked, offered, answered) are listed apart,
with the invitation, whether or not they still fit: that list is about what they did.

Demo scale: one eligibility query per open need that wants a skill they hold (a need
wanting none of their skills can't fit them, so it is not asked about at all). The
national-scale path (an in-process index) is the next issue's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.needs import matching
from handsup.needs.models import Invitation, Need, NeedSkill
from handsup.needs.permissions import need_policy
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
    score: float = 0.0
    matched_skills: list[str] = field(default_factory=list)
    distance: str = ""  # a band ("2–5 km") on site; "" for remote or invited needs

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
    level_names = dict(PersonSkill.Level.choices)
    return NeedForYou(
        need=need,
        score=result.total,
        matched_skills=[
            _("%(skill)s (%(level)s)")
            % {"skill": w.skill.name, "level": str(level_names[held[w.skill_id]]).lower()}
            for w in wanted
            if held.get(w.skill_id, 0) >= w.min_level
        ],
        distance=str(DistanceBand.for_km(distance_km).label) if distance_km is not None else "",
    )
