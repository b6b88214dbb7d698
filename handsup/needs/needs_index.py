""" "Needs for me" at national scale: the shortlist's rules in reverse, from an in-process
index of the open needs.

**What it holds.** One row per open need (status open, closing date not passed): its
group, whether only members see it, on site or remote, where and how far, its weekly
slots on the volunteer's grid, its closing date, its set times, and its skills (must-have
or nice-to-have, each with a minimum level) as flat arrays, plus, per skill, the needs
that ask for it. Titles and everything else a page shows are read from the database for
the page's needs alone.

**How a query runs** (`for_person`). The volunteer's own facts come from the database,
exactly, in one query (`volunteer_facts`: their person row, consents, skills, groups,
blocks, dates away and the needs they have an invitation for). Candidates are the needs
asking for a skill they hold; then, vectorised, the rules of `matching.eligible_people`
seen from their side: every must-have skill at its level (remote-capable for a remote
need; with only nice-to-have skills, any one of them), findable by the group (by the
movement, or by their own groups when they are a member), not blocked, members-only needs
only for members, within the smaller of the need's radius and their travel radius, not
away for the whole of it, no invitation for it yet. Ask budgets don't apply: they limit
how often groups ask, not what a person may look at (`respect_ask_budget=False`).

**The order** is the need's part of `matching.score`: skills, availability and distance.
Fairness and reliability are about the person alone, the same for every need on their
list, so they can't change its order and are left out (`for_me.fit_of`). The best are
scored again one by one with `matching`'s own functions, so float rounding in the
vectorised score can't change the order: the result is exactly the database path's.

**Why it can't show a need that is gone.** The page's needs are read from the database
as `Need.objects.open()`, so a need closed, filled or of a suspended group since the last
refresh drops out (and the next in the order takes its place).

**How it stays fresh.** `refresh` reads the needs whose `updated_at` is past its
watermark (less `LOOKBACK`, since a transaction may commit after a later one was read),
and reloads those whose stamp differs from the one held; every action that changes a
need, its skills or its times saves the need. `get_needs_index` keeps one per database
alias in the process, refreshed at most once a second when used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from handsup.accounts.models import User
from handsup.core.aggregates import rows_of, split_rows
from handsup.groups.models import GroupBlock, Membership
from handsup.needs.matching import DEFAULT_TRAVEL_RADIUS_KM, WEIGHTS, need_slot_bits
from handsup.needs.models import Invitation, Need
from handsup.needs.querysets import open_need
from handsup.people.models import DateAway, Person, PersonSkill
from handsup.privacy.consent import latest_consent_given
from handsup.privacy.register import PurposeCode

Rows = npt.NDArray[np.int64]

REFRESH_EVERY_SECONDS = 1.0
LOOKBACK = timedelta(seconds=60)
LOAD_CHUNK = 2_000
TOP_LEVEL = max(PersonSkill.Level.values)


# --- The volunteer's side: one query ------------------------------------------------------


@dataclass(frozen=True)
class VolunteerFacts:
    """What the rules read of one person, exactly as the database holds it now."""

    person_id: int
    user_id: int
    verified: bool
    active: bool
    found_movement: bool
    found_my_groups: bool
    eastings: int | None
    northings: int | None
    travel_km: int
    availability: int
    levels: dict[int, int]  # skill id -> level
    skill_names: dict[int, str]
    remote_skills: frozenset[int]
    member_of: frozenset[int]
    blocked: frozenset[int]
    away: list[tuple[date, date]] = field(default_factory=list)

    @property
    def located(self) -> bool:
        return self.eastings is not None and self.northings is not None


# The facts' statement is compiled once per database and process (compiling its many
# subqueries costs more than running it); this stands in for the user id meanwhile.
_SOMEONE = -7_000_000_000_001
_facts_sql: dict[str, tuple[str, tuple[Any, ...]]] = {}


def _facts_statement(using: str) -> tuple[str, tuple[Any, ...]]:
    cached = _facts_sql.get(using)
    if cached is not None:
        return cached
    people = (
        Person.objects.using(using)
        .filter(user_id=_SOMEONE)
        .annotate(
            found_movement=latest_consent_given(PurposeCode.FOUND_MOVEMENT),
            found_my_groups=latest_consent_given(PurposeCode.FOUND_MY_GROUPS),
            travel=Coalesce("profile__travel_radius_km", Value(DEFAULT_TRAVEL_RADIUS_KM)),
            availability_bits=Coalesce("profile__availability", Value(0)),
            skills_listed=rows_of(
                PersonSkill.objects.all(),
                "person_id",
                "pk",
                "skill_id",
                "level",
                "remote",
                "skill__name",
            ),
            groups_listed=rows_of(Membership.objects.all(), "user_id", "user_id", "group_id"),
            blocks_listed=rows_of(GroupBlock.objects.all(), "user_id", "user_id", "group_id"),
            away_listed=rows_of(DateAway.objects.all(), "person_id", "pk", "starts_on", "ends_on"),
        )
        .values_list(
            "pk",
            "verified",
            "user__is_active",
            "found_movement",
            "found_my_groups",
            "eastings",
            "northings",
            "travel",
            "availability_bits",
            "skills_listed",
            "groups_listed",
            "blocks_listed",
            "away_listed",
        )
        .order_by()[:1]
    )
    sql, params = people.query.get_compiler(using).as_sql()
    assert params.count(_SOMEONE) == 1
    _facts_sql[using] = (sql, tuple(params))
    return _facts_sql[using]


def volunteer_facts(user: User, *, using: str = DEFAULT_DB_ALIAS) -> VolunteerFacts | None:
    """The person's facts in one query (their lists folded into strings); None without
    a person row."""
    sql, template = _facts_statement(using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [user.pk if value == _SOMEONE else value for value in template])
        row = cursor.fetchone()
    if row is None:
        return None
    (pk, verified, active, movement, mine, east, north, travel, avail) = row[:9]
    skills_text, groups_text, blocks_text, away_text = row[9:]
    levels: dict[int, int] = {}
    names: dict[int, str] = {}
    remote: set[int] = set()
    for skill_id, level, can_remote, name in split_rows(skills_text):
        levels[int(skill_id)] = int(level)
        names[int(skill_id)] = name
        if can_remote.lower() in ("1", "true", "t"):
            remote.add(int(skill_id))
    away = []
    for starts, ends in split_rows(away_text):
        away.append((date.fromisoformat(starts), date.fromisoformat(ends)))
    return VolunteerFacts(
        person_id=pk,
        user_id=user.pk,
        verified=bool(verified),
        active=bool(active),
        found_movement=bool(movement),
        found_my_groups=bool(mine),
        eastings=east,
        northings=north,
        travel_km=travel,
        availability=avail,
        levels=levels,
        skill_names=names,
        remote_skills=frozenset(remote),
        member_of=frozenset(int(g) for (g,) in split_rows(groups_text)),
        blocked=frozenset(int(g) for (g,) in split_rows(blocks_text)),
        away=away,
    )


# --- The index ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One need that fits, with what its line says: the score's need-dependent part,
    the skills matched (id and level held) and the grid distance (on site)."""

    need_id: int
    fit: float
    distance_km: float | None
    windows: list[datetime]


class OpenNeedsIndex:
    """See the module's docstring. Build with `OpenNeedsIndex.build()`, or share the
    process's with `get_needs_index()`."""

    _COLUMNS: dict[str, type[np.generic]] = {
        "need_id": np.int64,
        "group_id": np.int64,
        "alive": np.bool_,
        "members_only": np.bool_,
        "remote": np.bool_,
        "ongoing": np.bool_,
        "eastings": np.int64,
        "northings": np.int64,
        "radius_km": np.int64,
        "slot_bits": np.int64,
        "closes_on": np.int64,  # date ordinal
        # The need's skills: entries want_start .. want_start + want_count of the flat
        # entry arrays (a reloaded need's new entries go at the end; the old ones are
        # left behind until `_compact`).
        "want_start": np.int64,
        "want_count": np.int64,
        # The public id's characters as four big-endian numbers, so numbers sort as the
        # strings do (ids are ASCII, at most 32 characters).
        "pid0": np.uint64,
        "pid1": np.uint64,
        "pid2": np.uint64,
        "pid3": np.uint64,
    }

    def __init__(self, using: str) -> None:
        self.using = using
        self._lock = threading.RLock()
        self._size = 0
        self._cols: dict[str, npt.NDArray[Any]] = {
            name: np.zeros(0, dtype) for name, dtype in self._COLUMNS.items()
        }
        self._row_of: dict[int, int] = {}
        self._stamp: dict[int, datetime] = {}
        self._public_id: list[str] = []
        # Per row: (skill id, min level, required) entries; set-time days and starts.
        self._wants: list[list[tuple[int, int, bool]]] = []
        self._days: list[list[tuple[int, int]]] = []
        self._starts: list[list[datetime]] = []
        self._by_skill: dict[int, set[int]] = {}
        # Per skill, the needs asking for it: remote ones, and on-site ones in eastings
        # order with their eastings (a person's on-site needs lie within their travel
        # radius, so only that band is read).
        self._remote_by_skill: dict[int, Rows] = {}
        self._site_by_skill: dict[int, tuple[Rows, Rows]] = {}
        self._touched: set[int] = set()
        self._entries = 0
        self._e_skill: Rows = np.zeros(0, np.int64)
        self._e_level: Rows = np.zeros(0, np.int64)
        self._e_required: npt.NDArray[np.bool_] = np.zeros(0, np.bool_)
        self.watermark: datetime | None = None
        self.refreshed_at = 0.0

    @classmethod
    def build(cls, *, using: str = DEFAULT_DB_ALIAS) -> OpenNeedsIndex:
        index = cls(using)
        with index._lock:
            index.watermark = timezone.now()
            pks = list(
                Need.objects.using(using)
                .filter(status=Need.Status.OPEN, closes_on__gte=timezone.localdate())
                .values_list("pk", flat=True)
            )
            for start in range(0, len(pks), LOAD_CHUNK):
                index._load(pks[start : start + LOAD_CHUNK])
            index.refreshed_at = time.monotonic()
        return index

    @property
    def size(self) -> int:
        return int(self._cols["alive"][: self._size].sum())

    @property
    def nbytes(self) -> int:
        return int(
            sum(column.nbytes for column in self._cols.values())
            + sum(rows.nbytes for rows in self._remote_by_skill.values())
            + sum(rows.nbytes + east.nbytes for rows, east in self._site_by_skill.values())
            + self._e_skill.nbytes
            + self._e_level.nbytes
            + self._e_required.nbytes
        )

    def refresh(self) -> int:
        """Reload the needs changed since the watermark; returns how many."""
        with self._lock:
            now = timezone.now()
            since = (self.watermark or now) - LOOKBACK
            changed = [
                pk
                for pk, stamp in Need.objects.using(self.using)
                .filter(updated_at__gte=since)
                .values_list("pk", "updated_at")
                if self._stamp.get(pk) != stamp
            ]
            for start in range(0, len(changed), LOAD_CHUNK):
                self._load(changed[start : start + LOAD_CHUNK])
            self.watermark = now
            self.refreshed_at = time.monotonic()
            return len(changed)

    def _load(self, pks: Sequence[int]) -> None:
        """(Re)load these needs: open ones get (or keep) a row, others lose theirs."""
        needs = list(
            Need.objects.using(self.using)
            .filter(pk__in=pks)
            .prefetch_related("skills", "windows")
            .only(
                "pk",
                "public_id",
                "group_id",
                "status",
                "visibility",
                "location_kind",
                "schedule_kind",
                "eastings",
                "northings",
                "radius_km",
                "weekly_slots",
                "closes_on",
                "updated_at",
            )
        )
        for need in needs:
            self._stamp[need.pk] = need.updated_at
            row = self._row_of.get(need.pk)
            if row is not None:
                self._forget_skills(row)
            if need.status != Need.Status.OPEN:
                if row is not None:
                    self._cols["alive"][row] = False
                continue
            if row is None:
                row = self._new_row(need)
            self._fill(row, need)
        for pk in set(pks) - {need.pk for need in needs}:
            row = self._row_of.get(pk)
            if row is not None:
                self._forget_skills(row)
                self._cols["alive"][row] = False
            self._stamp.pop(pk, None)
        for skill in self._touched:
            rows = self._by_skill.get(skill, set())
            held = np.fromiter(rows, np.int64, len(rows))
            remote = self._cols["remote"][held]
            self._remote_by_skill[skill] = np.sort(held[remote])
            site = held[~remote]
            east = self._cols["eastings"][site]
            order = np.argsort(east, kind="stable")
            self._site_by_skill[skill] = (site[order], east[order])
        self._touched = set()
        live = int(self._cols["want_count"][: self._size].sum())
        if self._entries > 2 * live + 10_000:
            self._compact()

    def _add_entries(self, wants: list[tuple[int, int, bool]]) -> int:
        """Append a need's skill entries; returns where they start."""
        first, need = self._entries, self._entries + len(wants)
        if need > len(self._e_skill):
            grown = max(need, len(self._e_skill) * 3 // 2, 1024)
            for name in ("_e_skill", "_e_level", "_e_required"):
                old = getattr(self, name)
                bigger = np.zeros(grown, old.dtype)
                bigger[:first] = old[:first]
                setattr(self, name, bigger)
        for offset, (skill, level, required) in enumerate(wants):
            self._e_skill[first + offset] = skill
            self._e_level[first + offset] = level
            self._e_required[first + offset] = required
        self._entries = need
        return first

    def _compact(self) -> None:
        """Drop the entries no need points at any more."""
        starts = self._cols["want_start"][: self._size]
        counts = self._cols["want_count"][: self._size]
        total = int(counts.sum())
        index = _ranges(starts, counts)
        self._e_skill = self._e_skill[index].copy()
        self._e_level = self._e_level[index].copy()
        self._e_required = self._e_required[index].copy()
        self._cols["want_start"][: self._size] = np.cumsum(counts) - counts
        self._entries = total

    def _new_row(self, need: Need) -> int:
        row = self._size
        capacity = len(self._cols["need_id"])
        if row >= capacity:
            grown = max(capacity + capacity // 2, 1024)
            for name, column in self._cols.items():
                bigger = np.zeros(grown, column.dtype)
                bigger[:row] = column[:row]
                self._cols[name] = bigger
        self._size += 1
        self._row_of[need.pk] = row
        self._public_id.append("")
        self._wants.append([])
        self._days.append([])
        self._starts.append([])
        return row

    def _fill(self, row: int, need: Need) -> None:
        cols = self._cols
        remote = need.location_kind == Need.LocationKind.REMOTE
        cols["need_id"][row] = need.pk
        cols["group_id"][row] = need.group_id
        cols["alive"][row] = True
        cols["members_only"][row] = need.visibility == Need.Visibility.MEMBERS
        cols["remote"][row] = remote
        cols["ongoing"][row] = need.schedule_kind == Need.ScheduleKind.ONGOING
        cols["eastings"][row] = need.eastings or 0
        cols["northings"][row] = need.northings or 0
        cols["radius_km"][row] = need.radius_km or 0
        cols["slot_bits"][row] = need_slot_bits(need)
        cols["closes_on"][row] = need.closes_on.toordinal()
        self._public_id[row] = need.public_id
        padded = need.public_id.encode("ascii").ljust(32, b"\0")
        for part in range(4):
            cols[f"pid{part}"][row] = int.from_bytes(padded[part * 8 : part * 8 + 8], "big")
        wants = [(w.skill_id, w.min_level, w.required) for w in need.skills.all()]
        self._wants[row] = wants
        cols["want_start"][row] = self._add_entries(wants)
        cols["want_count"][row] = len(wants)
        windows = list(need.windows.all())
        self._days[row] = [
            (
                timezone.localdate(w.starts_at).toordinal(),
                timezone.localdate(w.ends_at).toordinal(),
            )
            for w in windows
        ]
        self._starts[row] = [w.starts_at for w in windows]
        for skill_id, _level, _required in wants:
            self._by_skill.setdefault(skill_id, set()).add(row)
            self._touched.add(skill_id)

    def _forget_skills(self, row: int) -> None:
        for skill_id, _level, _required in self._wants[row]:
            held = self._by_skill.get(skill_id)
            if held is not None:
                held.discard(row)
                self._touched.add(skill_id)
        self._cols["want_count"][row] = 0

    # --- Reading --------------------------------------------------------------------------

    def for_person(
        self,
        facts: VolunteerFacts,
        *,
        today: date,
        invited: frozenset[int] = frozenset(),
        where: str = "",
        skill_id: int | None = None,
        limit: int | None = None,
    ) -> list[Found]:
        """The open needs the person fits, best first (the database path's order): the
        first `limit` of them (all, without one)."""
        if not (facts.verified and facts.active) or not (
            facts.found_movement or facts.found_my_groups
        ):
            return []
        with self._lock:
            rows = self._candidates(facts)
            rows, distance_sq, reach_km = self._who_may(rows, facts, today, invited, where)
            rows, distance_sq, reach_km, skill_fit = self._with_the_skills(
                rows, distance_sq, reach_km, facts, skill_id
            )
            remote = self._cols["remote"][rows]
            slots = self._cols["slot_bits"][rows]
            free = np.bitwise_count(slots & facts.availability).astype(np.float64)
            wanted = np.bitwise_count(slots).astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(wanted > 0, free / wanted, 0.0)
            km = np.sqrt(distance_sq.astype(np.float64)) / 1000
            reach = reach_km.astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                closeness = np.where(~remote & (reach > 0), np.maximum(0.0, 1.0 - km / reach), 0.0)
            # The same operations in the same order as `matching.score` and `fit_of`, so
            # each fit is the very float the database path computes.
            fit = (
                WEIGHTS["skills"] * skill_fit
                + WEIGHTS["availability"] * share
                + WEIGHTS["distance"] * closeness
            )
            # Only those that can be among the first `limit`: round(x, 9) never puts a
            # fit below the limit-th's by 1e-9 or more level with it. (Not for someone
            # with dates away: some of the first may drop out below.)
            if limit is not None and limit < len(fit) and not facts.away:
                kth = -np.partition(-fit, max(limit, 1) - 1)[max(limit, 1) - 1]
                near = np.flatnonzero(fit >= kth - 1e-9)
                rows, fit, remote, km = rows[near], fit[near], remote[near], km[near]
            # The database path's order: best fit rounded as Python rounds (worked out
            # once per distinct fit), then closing date, then public id.
            distinct, which = np.unique(fit, return_inverse=True)
            rounded = np.array([round(float(value), 9) for value in distinct])[which]
            cols = self._cols
            order = np.lexsort(
                (
                    cols["pid3"][rows],
                    cols["pid2"][rows],
                    cols["pid1"][rows],
                    cols["pid0"][rows],
                    cols["closes_on"][rows],
                    -rounded,
                )
            )
            chosen: list[int] = []
            wanted_count = len(order) if limit is None else limit
            for position in order.tolist():
                if len(chosen) >= wanted_count:
                    break
                # Dates away, the one rule left: checked along the order, as far as needed.
                if facts.away and self._away_throughout(int(rows[position]), facts.away, today):
                    continue
                chosen.append(position)
            return [
                Found(
                    need_id=int(cols["need_id"][rows[i]]),
                    fit=float(fit[i]),
                    distance_km=None if remote[i] else float(km[i]),
                    windows=list(self._starts[int(rows[i])]),
                )
                for i in chosen
            ]

    def _who_may(
        self,
        rows: Rows,
        facts: VolunteerFacts,
        today: date,
        invited: frozenset[int],
        where: str,
    ) -> tuple[Rows, Rows, Rows]:
        """The rules about the need, the group and the place, vectorised; returns the
        rows kept with their squared grid distance and reach (km). Reach first: most
        on-site needs asking for someone's skills are too far away."""
        cols = self._cols
        remote = cols["remote"][rows]
        reach_km = np.minimum(cols["radius_km"][rows], facts.travel_km)
        if facts.located:
            d_e = cols["eastings"][rows] - int(facts.eastings or 0)
            d_n = cols["northings"][rows] - int(facts.northings or 0)
            distance_sq = d_e * d_e + d_n * d_n
            keep = remote | (distance_sq <= (reach_km * 1000) ** 2)
        else:
            distance_sq = np.zeros(len(rows), np.int64)
            keep = remote.copy()
        if where == "remote":
            keep &= remote
        elif where == "near":
            keep &= ~remote
        rows, distance_sq, reach_km = rows[keep], distance_sq[keep], reach_km[keep]
        keep = cols["alive"][rows] & (cols["closes_on"][rows] >= today.toordinal())
        if invited:
            keep &= ~np.isin(cols["need_id"][rows], np.fromiter(invited, np.int64, len(invited)))
        groups = cols["group_id"][rows]
        member = np.isin(groups, np.fromiter(facts.member_of, np.int64, len(facts.member_of)))
        keep &= ~cols["members_only"][rows] | member
        keep &= facts.found_movement | (facts.found_my_groups & member)
        if facts.blocked:
            keep &= ~np.isin(groups, np.fromiter(facts.blocked, np.int64, len(facts.blocked)))
        return rows[keep], distance_sq[keep], reach_km[keep]

    def _with_the_skills(
        self,
        rows: Rows,
        distance_sq: Rows,
        reach_km: Rows,
        facts: VolunteerFacts,
        skill_id: int | None,
    ) -> tuple[Rows, Rows, Rows, npt.NDArray[np.float64]]:
        """`matching._with_the_skills` from the person's side (every must-have skill at
        its level, remote-capable for a remote need; with only nice-to-haves, any one),
        and `matching._skill_fit`, over the rows' flat skill entries."""
        count = len(rows)
        if not count:
            return rows, distance_sq, reach_km, np.zeros(0)
        top = max([*facts.levels, 0]) + 1
        level_of = np.zeros(top, np.int64)
        remote_of = np.zeros(top, np.bool_)
        for held_skill, level in facts.levels.items():
            level_of[held_skill] = level
            remote_of[held_skill] = held_skill in facts.remote_skills
        lengths = self._cols["want_count"][rows]
        entries = _ranges(self._cols["want_start"][rows], lengths)
        owner = np.repeat(np.arange(count), lengths)
        skill = self._e_skill[entries]
        minimum = self._e_level[entries]
        required = self._e_required[entries]
        known = skill < top
        held = np.where(known, level_of[np.where(known, skill, 0)], 0)
        can_remote = known & remote_of[np.where(known, skill, 0)]
        has = (held > 0) & (held >= minimum)
        ok = has & (~self._cols["remote"][rows][owner] | can_remote)
        required_n = np.bincount(owner, weights=required, minlength=count)
        required_ok = np.bincount(owner, weights=required & ok, minlength=count)
        any_ok = np.bincount(owner, weights=ok, minlength=count)
        keep = np.where(required_n > 0, required_ok == required_n, any_ok > 0)
        if skill_id is not None:
            keep &= np.bincount(owner, weights=skill == skill_id, minlength=count) > 0
        weight = np.where(required, 1.0, 0.5)
        room = np.maximum(TOP_LEVEL - minimum, 1)
        part = np.where(has, weight * (0.5 + 0.5 * (held - minimum) / room), 0.0)
        earned = np.bincount(owner, weights=part, minlength=count)
        possible = np.bincount(owner, weights=weight, minlength=count)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(possible > 0, earned / possible, 0.0)
        return rows[keep], distance_sq[keep], reach_km[keep], fit[keep]

    def windows_of(self, need_id: int) -> list[datetime] | None:
        """The need's set times' starts as the index holds them (None: not held)."""
        with self._lock:
            row = self._row_of.get(need_id)
            if row is None or not self._cols["alive"][row]:
                return None
            return list(self._starts[row])

    def _candidates(self, facts: VolunteerFacts) -> Rows:
        """Rows of needs the person could fit by skill and place: remote needs asking for
        a skill they can do remotely, and on-site needs asking for a skill they hold
        whose eastings are within their travel radius (reach is checked exactly later)."""
        present = [
            self._remote_by_skill[skill]
            for skill in facts.remote_skills
            if skill in self._remote_by_skill
        ]
        if facts.located:
            reach_m = facts.travel_km * 1000
            east = int(facts.eastings or 0)
            for skill in facts.levels:
                site = self._site_by_skill.get(skill)
                if site is None:
                    continue
                rows, eastings = site
                first = np.searchsorted(eastings, east - reach_m, side="left")
                last = np.searchsorted(eastings, east + reach_m, side="right")
                if last > first:
                    present.append(rows[first:last])
        present = [rows for rows in present if len(rows)]
        if not present:
            return np.zeros(0, np.int64)
        if len(present) == 1:
            return present[0]
        wanted = np.zeros(self._size, np.bool_)
        for rows in present:
            wanted[rows] = True
        return np.flatnonzero(wanted)

    def _away_throughout(self, row: int, away: list[tuple[date, date]], today: date) -> bool:
        """`matching._not_away` for one need: away for all of it."""
        if self._cols["ongoing"][row]:
            first = today.toordinal()
            stretches = [(first, max(first, int(self._cols["closes_on"][row])), True)]
        else:
            stretches = [(start, end, False) for start, end in self._days[row]]
        if not stretches:
            return False
        periods = [(a.toordinal(), b.toordinal()) for a, b in away]
        return all(
            any(
                starts <= (first if whole else last) and ends >= (last if whole else first)
                for starts, ends in periods
            )
            for first, last, whole in stretches
        )


def _ranges(starts: Rows, lengths: Rows) -> Rows:
    """The positions starts[i] .. starts[i] + lengths[i], one range after another."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(total) - np.repeat(offsets - starts, lengths)


_indexes: dict[str, OpenNeedsIndex] = {}
_indexes_lock = threading.Lock()


def get_needs_index(using: str = DEFAULT_DB_ALIAS) -> OpenNeedsIndex:
    """The process's open-needs index for database `using`: built on first use,
    refreshed at most once a second when used."""
    with _indexes_lock:
        index = _indexes.get(using)
        if index is None:
            index = _indexes[using] = OpenNeedsIndex.build(using=using)
            return index
    if time.monotonic() - index.refreshed_at >= REFRESH_EVERY_SECONDS:
        index.refresh()
    return index


def forget_needs_indexes() -> None:
    with _indexes_lock:
        _indexes.clear()


def invited_needs(user: User, *, using: str = DEFAULT_DB_ALIAS) -> Any:
    """The person's invitations for open needs, with the need and its group (one query)."""
    return (
        Invitation.objects.using(using)
        .filter(open_need("need__"), user=user)
        .select_related("need__group")
        .order_by("-created_at")
    )


__all__ = [
    "Found",
    "OpenNeedsIndex",
    "VolunteerFacts",
    "forget_needs_indexes",
    "get_needs_index",
    "invited_needs",
    "volunteer_facts",
]
