"""The in-process matching index: the shortlist at national scale, from numpy arrays.

**What it holds.** One row per person with an account (anyone the rules could ever find,
so nobody is left out for good: whether they count is decided per query), as numpy
arrays: person and account ids, grid eastings/northings with a "no location" flag, travel
radius, availability bits, their own weekly ask limits (normal and campaign), whether
the account is active and the person verified, their latest `found_movement` and
`found_my_groups` consents, recorded outcomes and how many say they helped. Per skill, an
inverted list (rows sorted, level, "can do it remotely"). Asks that count against a
budget (ledger rows of kind ask, sent or held) from `ASKS_KEPT` before the build on, per
person, plus each person's latest counted ask before that, which is all fairness and the
budgets read. What is small and per need is read from the database at query time: the
need's invitations and the group's blocks (one query), whether the candidates found only
"by my groups" are members (one query, about those near the top alone), and pacing's
limits (`rules_for`, read again at most once a second).

**How a query runs** (`shortlist`): candidates from the skill lists (every must-have skill
at its level, remote-capable for a remote need; a need with only nice-to-have skills:
any of them; on site, only the band of eastings its radius reaches), then reach (grid
distance within the smaller of the need's radius and theirs, and the organiser's
filter), then the other rules, all vectorised; then the score, vectorised, part by part
as `matching.score` works it out and added up as Python's `sum` adds (with Neumaier's
compensation), so with the same inputs it is the same float, to the bit. Then the order
`rank_candidates` gives (the score rounded, then the pseudonym's hash), worked out only
where it matters: the hashes are computed just for those tied (within `SCORE_SLACK`) at
the edge of the first `limit + RECHECK_MARGIN`. Whether someone found only "by my groups"
is a member (or anyone, with the members filter) is asked about just those near the top.

**Why it can't show anyone ineligible.** The first candidates in that order are
re-checked against the database with `matching.eligible_people(..., among=them)`, and
the cards are made from those database rows by the same functions the database path uses
(`candidates_from`, `rank_candidates`, `make_cards`). Whoever has dropped out (a
withdrawn consent, a block, an invitation, dates away, which the index does not hold) is
replaced by the next in the order until `limit` are confirmed or none are left. If a
confirmed candidate's database score is not the index's to the bit (a change the index
has not applied yet), the order can't be trusted, and the re-check starts again the
careful way: everyone within `SCORE_SLACK` of the last one taken is re-checked too. With a
fresh index the result is exactly `matching.shortlist`'s. Pacing's limits come from
`rules_for`, read at most once a second (`_ask_rules`) and used by the re-check as well.

**How it stays fresh.** Signals (`index_changes`) write a `MatchingChange` row naming the
account in the same transaction as any change the index holds; `refresh` reads the rows
past its watermark and reloads just those people (one query per table), or everything
for a "rebuild" row (no account: bulk loads). Ask ledger rows are written by pacing with
raw SQL, so they are followed by their own ids. Both followers read again the ids of the
last `LOOKBACK_SECONDS`, so a transaction that commits after a later id was read is not
missed. `get_index` keeps one index per database alias in the process, built on first
use and refreshed at most once a second when used.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Max, Q
from django.utils import timezone

from handsup.groups.models import Group, GroupBlock, Membership
from handsup.messaging.models import CampaignPeriod, Decision, Kind, LedgerEntry, Message
from handsup.messaging.pacing import Rules, rules_for
from handsup.needs.matching import (
    DAY,
    DEFAULT_TRAVEL_RADIUS_KM,
    FAIRNESS_FULL_AFTER_DAYS,
    FAIRNESS_WINDOW,
    NEVER_ASKED_BOOST,
    RELIABILITY_PRIOR,
    RELIABILITY_PRIOR_WEIGHT,
    SHORTLIST_SIZE,
    WEEK,
    WEIGHTS,
    Candidate,
    Card,
    ShortlistFilters,
    _fetch_skills_and_times,
    candidates_from,
    eligible_people,
    make_cards,
    need_slot_bits,
    pseudonym_digests,
    rank_candidates,
)
from handsup.needs.matching import shortlist as database_shortlist
from handsup.needs.models import Invitation, MatchingChange, Need, NeedSkill
from handsup.people.models import Person, PersonSkill
from handsup.privacy.consent import user_ids_with_consent
from handsup.privacy.register import PurposeCode

Rows = npt.NDArray[np.int64]

# Asks older than this before the build are kept only as each person's latest; a query
# whose `now` is more than a day before the build falls back to the database path.
ASKS_KEPT = FAIRNESS_WINDOW + DAY
# Re-check beyond the `limit`-th candidate everyone within this of its score.
SCORE_SLACK = 1e-6
# How many more than `limit` to re-check in the first round (some may have dropped out).
RECHECK_MARGIN = 20
REFRESH_EVERY_SECONDS = 1.0
LOOKBACK_SECONDS = 60.0
# Change rows are pruned after a day (`jobs.prune_matching_changes`): an index unused for
# half of that is built again rather than caught up.
REBUILD_AFTER_IDLE_SECONDS = 12 * 3600.0
# At build, ids this close below a high-water mark may belong to transactions not yet
# committed: the followers start this far back, skipping the rows the build saw.
RECENT_IDS = 10_000
COUNTED = (Decision.SENT, Decision.HELD)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_ASK = np.iinfo(np.int64).min
LOAD_CHUNK = 5_000


def _us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (the ledger's own precision)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


class _Follower:
    """Reads a table's new rows by id. Ids are handed out before commit, so a row with a
    smaller id can appear after a bigger one was read: rows above `floor` are read again
    until `LOOKBACK_SECONDS` have passed, and `seen` keeps them from counting twice."""

    def __init__(self, floor: int, seen: Iterable[int] = ()) -> None:
        self.floor = floor
        self.seen: set[int] = set(seen)
        self._marks: deque[tuple[float, int]] = deque()

    def fresh(self, ids: Iterable[int]) -> list[int]:
        new = [pk for pk in ids if pk not in self.seen]
        self.seen.update(new)
        return new

    def passed(self, high_water: int | None) -> None:
        """Everything up to `high_water` was visible now; in a while, stop re-reading it."""
        clock = time.monotonic()
        if high_water is not None:
            self._marks.append((clock, high_water))
        while self._marks and self._marks[0][0] <= clock - LOOKBACK_SECONDS:
            self.floor = max(self.floor, self._marks.popleft()[1])
        self.seen = {pk for pk in self.seen if pk > self.floor}


class _SkillList:
    """Who holds one skill: rows sorted ascending, with their level, remote flag and
    eastings (as they were when the list was made: a person who moves is reloaded, and
    their entries with them), plus the entries in eastings order, so an on-site need
    looks only at the band of the country its radius reaches."""

    __slots__ = ("by_east", "east", "east_sorted", "levels", "remote", "rows")

    def __init__(
        self,
        rows: Rows,
        levels: npt.NDArray[np.uint8],
        remote: npt.NDArray[np.bool_],
        east: npt.NDArray[np.int32],
    ):
        order = np.argsort(rows, kind="stable")
        self.rows = rows[order]
        self.levels = levels[order]
        self.remote = remote[order]
        self.east = east[order].astype(np.int32)
        self.by_east = np.argsort(self.east, kind="stable").astype(np.int32)
        self.east_sorted = self.east[self.by_east]

    def band(self, low: int, high: int) -> npt.NDArray[np.int32]:
        """Positions of the entries with eastings from `low` to `high`."""
        first = np.searchsorted(self.east_sorted, low, side="left")
        last = np.searchsorted(self.east_sorted, high, side="right")
        return self.by_east[first:last]

    def lookup(self, rows: Rows) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
        """(level, can do it remotely) for each of `rows`; level 0 when not held."""
        if not len(self.rows):
            return np.zeros(len(rows), np.uint8), np.zeros(len(rows), np.bool_)
        at = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
        held = self.rows[at] == rows
        return np.where(held, self.levels[at], 0).astype(np.uint8), held & self.remote[at]

    @property
    def nbytes(self) -> int:
        return int(
            self.rows.nbytes
            + self.levels.nbytes
            + self.remote.nbytes
            + self.east.nbytes
            + self.by_east.nbytes
            + self.east_sorted.nbytes
        )


class MatchingIndex:
    """See the module's docstring. Build with `MatchingIndex.build()`, or share the
    process's with `get_index()`."""

    # Per-person arrays, grown together; row i is one person.
    _COLUMNS: dict[str, type[np.generic]] = {
        "person_id": np.int64,
        "user_id": np.int64,
        "eastings": np.int64,
        "northings": np.int64,
        "located": np.bool_,
        "travel_km": np.int32,
        "availability": np.int64,
        "week_normal": np.int32,  # -1: no profile (pacing's default applies)
        "week_campaign": np.int32,
        "alive": np.bool_,  # False once their person row is gone
        "active": np.bool_,
        "verified": np.bool_,
        "found_movement": np.bool_,
        "found_my_groups": np.bool_,
        "outcomes": np.int32,
        "helped": np.int32,
        "last_ask_before": np.int64,  # latest counted ask at or before `ask_cutoff` (µs)
    }

    def __init__(self, using: str) -> None:
        self.using = using
        self._lock = threading.RLock()
        self._size = 0
        self._cols: dict[str, npt.NDArray[Any]] = {
            name: np.zeros(0, dtype) for name, dtype in self._COLUMNS.items()
        }
        self._skills: dict[int, _SkillList] = {}
        # user id -> row: a sorted pair of arrays, plus rows added since it was sorted.
        self._user_keys: Rows = np.zeros(0, np.int64)
        self._user_rows: Rows = np.zeros(0, np.int64)
        self._new_users: dict[int, int] = {}
        # Counted asks after `ask_cutoff`, grouped by row (CSR: row r's are
        # ask_at[ask_start[r]:ask_start[r + 1]]).
        self.ask_cutoff_us = 0
        self._ask_row: Rows = np.zeros(0, np.int64)
        self._ask_at: Rows = np.zeros(0, np.int64)
        self._ask_start: Rows = np.zeros(1, np.int64)
        self._changes = _Follower(0)
        self._asks = _Follower(0)
        self.refreshed_at = 0.0
        self._rules: dict[tuple[int, int], tuple[float, Rules]] = {}

    # --- Building and refreshing --------------------------------------------------------

    @classmethod
    def build(cls, *, using: str = DEFAULT_DB_ALIAS) -> MatchingIndex:
        """Load everything the index holds from the database, in bulk."""
        index = cls(using)
        index._load_everything()
        return index

    def _load_everything(self) -> None:
        db = self.using
        # Watermarks first: what changes after this is applied again by `refresh`.
        change_mark = MatchingChange.objects.using(db).aggregate(m=Max("pk"))["m"] or 0
        ask_mark = LedgerEntry.objects.using(db).aggregate(m=Max("pk"))["m"] or 0
        now = timezone.now()
        with self._lock:
            self._size = 0
            self._cols = {name: np.zeros(0, dtype) for name, dtype in self._COLUMNS.items()}
            self._skills = {}
            self._user_keys = np.zeros(0, np.int64)
            self._user_rows = np.zeros(0, np.int64)
            self._new_users = {}
            self.ask_cutoff_us = _us(now - ASKS_KEPT)
            user_ids = list(
                Person.objects.using(db)
                .filter(user__isnull=False)
                .order_by("eastings", "northings", "pk")
                .values_list("user_id", flat=True)
            )
            self._add_rows(user_ids)
            self._load_people(None)
            loaded = self._load_asks(ask_mark)
            change_floor = max(change_mark - RECENT_IDS, 0)
            self._changes = _Follower(
                change_floor,
                MatchingChange.objects.using(db)
                .filter(pk__gt=change_floor, pk__lte=change_mark)
                .values_list("pk", flat=True),
            )
            self._asks = _Follower(
                max(ask_mark - RECENT_IDS, 0), (pk for pk in loaded if pk > ask_mark - RECENT_IDS)
            )
            self._changes.passed(change_mark)
            self._asks.passed(ask_mark)
            self.refreshed_at = time.monotonic()

    def refresh(self) -> int:
        """Apply what was committed since the watermark; returns how many people it
        reloaded (everyone, after a rebuild row)."""
        db = self.using
        with self._lock:
            change_mark = MatchingChange.objects.using(db).aggregate(m=Max("pk"))["m"]
            rows = list(
                MatchingChange.objects.using(db)
                .filter(pk__gt=self._changes.floor)
                .values_list("pk", "user_id")
            )
            fresh = set(self._changes.fresh(pk for pk, _user in rows))
            users = {user for pk, user in rows if pk in fresh}
            self._changes.passed(change_mark)
            self.refreshed_at = time.monotonic()
            if None in users:
                self._load_everything()
                return self._size
            ask_mark = LedgerEntry.objects.using(db).aggregate(m=Max("pk"))["m"]
            changed = sorted(user for user in users if user is not None)
            for start in range(0, len(changed), LOAD_CHUNK):
                self._load_people(changed[start : start + LOAD_CHUNK])
            new_asks = [
                ask
                for ask in LedgerEntry.objects.using(db)
                .filter(pk__gt=self._asks.floor, kind=Kind.ASK, decision__in=COUNTED)
                .values_list("pk", "user_id", "at")
                if ask[0] not in self._asks.seen
            ]
            applied = self._add_asks([(user, at) for _pk, user, at in new_asks])
            self._asks.fresh(ask[0] for ask, done in zip(new_asks, applied, strict=True) if done)
            self._asks.passed(ask_mark)
            return len(changed)

    def _rows_for_users(self, user_ids: Sequence[int] | Rows) -> Rows:
        """Rows of these accounts, -1 for accounts the index has no row for."""
        keys = np.asarray(user_ids, np.int64)
        rows = np.full(len(keys), -1, np.int64)
        if len(self._user_keys):
            at = np.minimum(np.searchsorted(self._user_keys, keys), len(self._user_keys) - 1)
            hit = self._user_keys[at] == keys
            rows[hit] = self._user_rows[at[hit]]
        if self._new_users:
            for i in np.flatnonzero(rows < 0).tolist():
                rows[i] = self._new_users.get(int(keys[i]), -1)
        return rows

    def _add_rows(self, user_ids: Sequence[int]) -> list[int]:
        """Give each of these accounts a row (new rows start empty and not alive);
        returns the accounts that were new."""
        missing = [
            u for u, row in zip(user_ids, self._rows_for_users(user_ids), strict=True) if row < 0
        ]
        if not missing:
            return []
        first = self._size
        need = first + len(missing)
        capacity = len(self._cols["user_id"])
        if need > capacity:
            grown = max(need, capacity + capacity // 2, 1024)
            for name, column in self._cols.items():
                bigger = np.zeros(grown, column.dtype)
                bigger[:first] = column[:first]
                self._cols[name] = bigger
        new_rows = np.arange(first, need, dtype=np.int64)
        self._cols["user_id"][first:need] = missing
        self._cols["last_ask_before"][first:need] = NO_ASK
        self._cols["week_normal"][first:need] = -1
        self._cols["week_campaign"][first:need] = -1
        self._size = need
        self._new_users.update(zip(missing, new_rows.tolist(), strict=True))
        if len(self._new_users) > max(10_000, len(self._user_keys) // 10) or not len(
            self._user_keys
        ):
            keys = self._cols["user_id"][: self._size]
            order = np.argsort(keys, kind="stable")
            self._user_keys, self._user_rows = keys[order], order.astype(np.int64)
            self._new_users = {}
        if len(self._ask_start) < self._size + 1:
            # Rows without asks: their CSR slices are empty.
            tail = np.full(self._size + 1 - len(self._ask_start), self._ask_start[-1])
            self._ask_start = np.concatenate([self._ask_start, tail])
        return missing

    def _load_people(self, user_ids: list[int] | None) -> None:
        """(Re)load these accounts' people (None: everyone), one query per table."""
        db = self.using

        def only(queryset: Any, field: str = "user_id") -> Any:
            return queryset if user_ids is None else queryset.filter(**{f"{field}__in": user_ids})

        people = list(
            only(Person.objects.using(db).filter(user__isnull=False)).values_list(
                "pk",
                "user_id",
                "verified",
                "eastings",
                "northings",
                "user__is_active",
                "profile__pk",
                "profile__availability",
                "profile__travel_radius_km",
                "profile__asks_per_week_normal",
                "profile__asks_per_week_campaign",
            )
        )
        if user_ids is not None:
            newcomers = self._add_rows([row[1] for row in people])
            if newcomers:
                # Their asks so far (those past the follower's floor reach them through it).
                self._load_asks(self._asks.floor, users=newcomers)
            cleared = self._rows_for_users(user_ids)
            cleared = cleared[cleared >= 0]
        else:
            cleared = np.arange(self._size, dtype=np.int64)
        cols = self._cols
        for name in ("alive", "active", "verified", "found_movement", "found_my_groups"):
            cols[name][cleared] = False
        cols["outcomes"][cleared] = 0
        cols["helped"][cleared] = 0
        if people:
            rows = self._rows_for_users([row[1] for row in people])
            (pk, _user, verified, east, north, active, profile, avail, travel, normal, campaign) = (
                list(column) for column in zip(*people, strict=True)
            )
            has_profile = np.array([p is not None for p in profile], np.bool_)
            located = np.array(
                [e is not None and n is not None for e, n in zip(east, north, strict=True)]
            )
            cols["person_id"][rows] = pk
            cols["alive"][rows] = True
            cols["verified"][rows] = verified
            cols["active"][rows] = active
            cols["located"][rows] = located
            cols["eastings"][rows] = [e or 0 for e in east]
            cols["northings"][rows] = [n or 0 for n in north]
            cols["availability"][rows] = np.where(has_profile, [a or 0 for a in avail], 0)
            cols["travel_km"][rows] = np.where(
                has_profile, [t or 0 for t in travel], DEFAULT_TRAVEL_RADIUS_KM
            )
            cols["week_normal"][rows] = np.where(has_profile, [w or 0 for w in normal], -1)
            cols["week_campaign"][rows] = np.where(has_profile, [w or 0 for w in campaign], -1)
        for column, code in (
            ("found_movement", PurposeCode.FOUND_MOVEMENT),
            ("found_my_groups", PurposeCode.FOUND_MY_GROUPS),
        ):
            given = list(
                only(user_ids_with_consent(code).using(db)).values_list("user_id", flat=True)
            )
            found = self._rows_for_users(given)
            cols[column][found[found >= 0]] = True
        outcomes = list(
            only(
                Invitation.objects.using(db).filter(
                    status=Invitation.Status.ACCEPTED, helped__isnull=False
                )
            )
            .values("user_id")
            .annotate(n=Count("pk"), h=Count("pk", filter=Q(helped=True)))
            .values_list("user_id", "n", "h")
        )
        if outcomes:
            users, counts, helped = zip(*outcomes, strict=True)
            rows = self._rows_for_users(users)
            keep = rows >= 0
            cols["outcomes"][rows[keep]] = np.asarray(counts)[keep]
            cols["helped"][rows[keep]] = np.asarray(helped)[keep]
        self._load_skills(
            None if user_ids is None else cleared,
            only(PersonSkill.objects.using(db), "person__user_id").values_list(
                "person__user_id", "skill_id", "level", "remote"
            ),
        )

    def _load_skills(self, replaced: Rows | None, held: Any) -> None:
        """Replace the skill lists' entries for `replaced` rows (None: all of them)."""
        entries = list(held)
        users = [entry[0] for entry in entries]
        rows = self._rows_for_users(users) if entries else np.zeros(0, np.int64)
        by_skill: dict[int, list[int]] = {}
        for i, entry in enumerate(entries):
            if rows[i] >= 0:
                by_skill.setdefault(entry[1], []).append(i)
        if replaced is None:
            self._skills = {}
        elif len(replaced):
            gone = np.zeros(self._size, np.bool_)
            gone[replaced] = True
            for skill_id, listed in list(self._skills.items()):
                keep = ~gone[listed.rows]
                if not keep.all():
                    self._skills[skill_id] = _SkillList(
                        listed.rows[keep],
                        listed.levels[keep],
                        listed.remote[keep],
                        listed.east[keep],
                    )
        for skill_id, positions in by_skill.items():
            picked = np.asarray(positions)
            new_rows = rows[picked]
            levels = np.array([entries[i][2] for i in positions], np.uint8)
            remote = np.array([entries[i][3] for i in positions], np.bool_)
            east = self._cols["eastings"][new_rows].astype(np.int32)
            old = self._skills.get(skill_id)
            if old is not None:
                new_rows = np.concatenate([old.rows, new_rows])
                levels = np.concatenate([old.levels, levels])
                remote = np.concatenate([old.remote, remote])
                east = np.concatenate([old.east, east])
            self._skills[skill_id] = _SkillList(new_rows, levels, remote, east)

    def _load_asks(self, high_water: int, *, users: list[int] | None = None) -> list[int]:
        """Counted asks up to `high_water` (of `users`, or everyone's, replacing what was
        held): those after the cutoff one by one, and each person's latest before it.
        Returns the ledger ids loaded one by one."""
        db = self.using
        cutoff = EPOCH + timedelta(microseconds=self.ask_cutoff_us)
        counted = LedgerEntry.objects.using(db).filter(
            kind=Kind.ASK, decision__in=COUNTED, pk__lte=high_water
        )
        if users is not None:
            counted = counted.filter(user_id__in=users)
        before = list(
            counted.filter(at__lte=cutoff)
            .values("user_id")
            .annotate(last=Max("at"))
            .values_list("user_id", "last")
        )
        if before:
            rows = self._rows_for_users([user for user, _last in before])
            keep = rows >= 0
            lasts = np.array([_us(last) for _user, last in before], np.int64)
            self._cols["last_ask_before"][rows[keep]] = lasts[keep]
        recent = list(counted.filter(at__gt=cutoff).values_list("pk", "user_id", "at"))
        if users is None:
            self._ask_row = np.zeros(0, np.int64)
            self._ask_at = np.zeros(0, np.int64)
            self._ask_start = np.zeros(self._size + 1, np.int64)
        self._add_asks([(user, at) for _pk, user, at in recent])
        return [pk for pk, _user, _at in recent]

    def _add_asks(self, asks: list[tuple[int, datetime]]) -> npt.NDArray[np.bool_]:
        """Add counted asks; returns which were applied (False: no row for the account
        yet, so the follower offers them again)."""
        if not asks:
            return np.zeros(0, np.bool_)
        rows = self._rows_for_users([user for user, _at in asks])
        at = np.array([_us(moment) for _user, moment in asks], np.int64)
        keep = rows >= 0
        applied = keep
        rows, at = rows[keep], at[keep]
        early = at <= self.ask_cutoff_us
        if early.any():
            # A late-recorded ask from before the cutoff only moves "latest before".
            np.maximum.at(self._cols["last_ask_before"], rows[early], at[early])
            rows, at = rows[~early], at[~early]
        all_rows = np.concatenate([self._ask_row, rows])
        all_at = np.concatenate([self._ask_at, at])
        order = np.lexsort((all_at, all_rows))
        self._ask_row, self._ask_at = all_rows[order], all_at[order]
        counts = np.bincount(self._ask_row, minlength=self._size)
        self._ask_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return applied

    # --- Reading --------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """How many people the index holds."""
        return int(self._cols["alive"][: self._size].sum())

    @property
    def nbytes(self) -> int:
        """Memory its arrays take, in bytes."""
        return int(
            sum(column.nbytes for column in self._cols.values())
            + sum(listed.nbytes for listed in self._skills.values())
            + self._user_keys.nbytes
            + self._user_rows.nbytes
            + self._ask_row.nbytes
            + self._ask_at.nbytes
            + self._ask_start.nbytes
        )

    def shortlist(
        self,
        need: Need,
        *,
        now: datetime | None = None,
        filters: ShortlistFilters | None = None,
        limit: int = SHORTLIST_SIZE,
    ) -> list[Card]:
        """What `matching.shortlist(need, now=now, filters=filters, limit=limit)` returns,
        found through the index and re-checked against the database."""
        now = now or timezone.now()
        filters = filters or ShortlistFilters()
        if _us(now - FAIRNESS_WINDOW) < self.ask_cutoff_us:
            # Asked about a time before the index's asks begin: only the database knows.
            return database_shortlist(need, now=now, filters=filters, limit=limit)
        _fetch_skills_and_times(need)
        rules = self._ask_rules(need.group, now)
        with self._lock:
            found = self._ranked_rows(need, now, filters, rules)
        if limit <= 0:
            return []
        cards = self._in_exact_order(need, found, now, filters, rules, limit)
        if cards is None:
            cards = self._within_slack(need, found, now, filters, rules, limit)
        return cards

    def _in_exact_order(
        self,
        need: Need,
        found: _Found,
        now: datetime,
        filters: ShortlistFilters,
        rules: Rules,
        limit: int,
    ) -> list[Card] | None:
        """The shortlist when the index's scores are the database path's, to the bit.

        The index orders its candidates exactly as `rank_candidates` would (score rounded
        as `Ranked.sort_key` rounds it, then the pseudonym's hash, worked out only for
        those tied at the edge), so re-checking the first `limit + RECHECK_MARGIN` (and
        more, in that order, for any who dropped out) finds the `limit` best. Whether a
        candidate's membership counts is asked about just those near the top. Returns
        None when a confirmed candidate's database score differs from the index's (a
        change not yet applied): then `_within_slack` works it out the careful way.
        """
        people, scores = found.people, found.scores
        out = np.zeros(len(people), np.bool_)  # found only by their groups, not members
        unsure = found.unsure.copy()  # membership not known yet
        checked = np.zeros(len(people), np.bool_)
        confirmed: list[Candidate] = []
        wanted = limit + RECHECK_MARGIN
        ask_about = wanted  # how far down to ask about membership, doubling
        while True:
            chosen = _exact_top(need, people, scores, ~out, wanted)
            if unsure[chosen].any():
                near = _exact_top(need, people, scores, ~out, max(ask_about, wanted))
                ask = near[unsure[near]]
                members = np.fromiter(
                    Membership.objects.using(self.using)
                    .filter(group=need.group, user_id__in=found.users[ask].tolist())
                    .values_list("user_id", flat=True),
                    np.int64,
                )
                unsure[ask] = False
                out[ask[~np.isin(found.users[ask], members)]] = True
                ask_about = 2 * max(ask_about, wanted)
                continue
            batch = chosen[~checked[chosen]]
            checked[batch] = True
            if len(batch):
                confirmed += self._recheck(need, people[batch].tolist(), now, filters, rules)
            if len(confirmed) >= limit or len(chosen) < wanted:
                break
            wanted = len(chosen) + 2 * (limit - len(confirmed)) + RECHECK_MARGIN
        ranked = rank_candidates(need, confirmed, now=now)
        by_person = dict(zip(people[checked].tolist(), scores[checked].tolist(), strict=True))
        if any(item.score.total != by_person[item.candidate.person_id] for item in ranked):
            return None
        return make_cards(need, ranked[:limit], now=now)

    def _within_slack(
        self,
        need: Need,
        found: _Found,
        now: datetime,
        filters: ShortlistFilters,
        rules: Rules,
        limit: int,
    ) -> list[Card]:
        """The shortlist when the index's scores may be off a little: everyone within
        `SCORE_SLACK` of the last one taken is re-checked too."""
        people, scores = found.people, found.scores
        if found.unsure.any():
            unsure = np.flatnonzero(found.unsure)
            members = np.fromiter(
                Membership.objects.using(self.using)
                .filter(group=need.group, user_id__in=found.users[unsure].tolist())
                .values_list("user_id", flat=True),
                np.int64,
            )
            keep = np.ones(len(people), np.bool_)
            keep[unsure[~np.isin(found.users[unsure], members)]] = False
            people, scores = people[keep], scores[keep]
        order = _best_first(scores, limit + RECHECK_MARGIN)
        confirmed: list[Candidate] = []
        taken = 0
        wanted_now = limit + RECHECK_MARGIN
        while taken < len(people):
            if taken and len(order) < len(people):
                # Some dropped out: the same order, all of it (its start is unchanged).
                order = _best_first(scores, len(people))
            end = min(taken + wanted_now, len(order))
            # Everyone within the slack of the last one taken comes too.
            ordered = scores[order]
            end = int(np.searchsorted(-ordered, -(ordered[end - 1] - SCORE_SLACK), side="right"))
            batch = people[order[taken:end]].tolist()
            confirmed += self._recheck(need, batch, now, filters, rules)
            taken = end
            if len(confirmed) >= limit:
                break
            wanted_now = 2 * (limit - len(confirmed)) + RECHECK_MARGIN
        ranked = rank_candidates(need, confirmed, now=now)
        return make_cards(need, ranked[:limit], now=now)

    def _recheck(
        self,
        need: Need,
        person_ids: list[int],
        now: datetime,
        filters: ShortlistFilters,
        rules: Rules,
    ) -> list[Candidate]:
        """Those of `person_ids` the database says are eligible now, as `Candidate`s made
        from its rows."""
        eligible = eligible_people(need, now=now, filters=filters, rules=rules, among=person_ids)
        return candidates_from(need, eligible.using(self.using))

    def _ranked_rows(
        self, need: Need, now: datetime, filters: ShortlistFilters, rules: Rules
    ) -> _Found:
        """Everyone the index finds for the need, with their scores; whether those found
        only "by my groups" (or, with the filter, anyone) are members is left to ask about
        the few who come near the top."""
        db = self.using
        cols = {name: column[: self._size] for name, column in self._cols.items()}
        wanted = list(need.skills.all())
        remote = need.location_kind == Need.LocationKind.REMOTE
        band = None
        if not remote:
            assert need.eastings is not None and need.radius_km is not None
            furthest_m = min(need.radius_km, filters.max_km or need.radius_km) * 1000
            band = (need.eastings - furthest_m, need.eastings + furthest_m)
        rows = self._with_the_skills(wanted, remote, filters.min_level, band)
        rows = rows[cols["alive"][rows] & cols["active"][rows] & cols["verified"][rows]]
        if not remote:
            assert need.eastings is not None and need.northings is not None
            assert need.radius_km is not None
            rows = rows[cols["located"][rows]]
            d_e = cols["eastings"][rows] - need.eastings
            d_n = cols["northings"][rows] - need.northings
            distance_sq = d_e * d_e + d_n * d_n
            reach_m = np.minimum(cols["travel_km"][rows], need.radius_km).astype(np.int64) * 1000
            near = distance_sq <= reach_m * reach_m
            if filters.max_km is not None:
                near &= distance_sq <= (filters.max_km * 1000) ** 2
            rows, distance_sq, reach_m = rows[near], distance_sq[near], reach_m[near]
        users = cols["user_id"][rows]
        group = need.group
        # Membership matters only for "found by my groups" alone, or the members filter.
        movement_wide = cols["found_movement"][rows]
        findable = movement_wide | cols["found_my_groups"][rows]
        unsure = np.ones(len(rows), np.bool_) if filters.members_only else ~movement_wide
        blocked = GroupBlock.objects.using(db).filter(group=group).order_by().values_list("user_id")
        invited = (
            Invitation.objects.using(db).filter(need_id=need.pk).order_by().values_list("user_id")
        )
        left_out = np.fromiter((user for (user,) in blocked.union(invited, all=True)), np.int64)
        keep = findable & ~np.isin(users, left_out)
        rows, users, unsure = rows[keep], users[keep], unsure[keep]
        if not remote:
            distance_sq, reach_m = distance_sq[keep], reach_m[keep]
        asks_30d, asks_7d, asks_1d, last_asked = self._ask_counts(rows, _us(now))
        assert rules.person_week_column is not None and rules.per_week is not None
        own = cols["week_campaign" if "campaign" in rules.person_week_column else "week_normal"]
        own_weekly = np.where(own[rows] < 0, rules.person_week_default, own[rows])
        under = asks_7d < np.minimum(own_weekly, rules.per_week)
        if rules.per_day is not None:
            under &= asks_1d < rules.per_day
        rows, asks_30d, last_asked = rows[under], asks_30d[under], last_asked[under]
        users, unsure = users[under], unsure[under]
        if not remote:
            distance_sq, reach_m = distance_sq[under], reach_m[under]
        # The score, part by part as `matching.score` works it out.
        skills = self._skill_fit(rows, wanted)
        slot_bits = need_slot_bits(need)
        free = np.bitwise_count(cols["availability"][rows] & slot_bits).astype(np.float64)
        slots = slot_bits.bit_count()
        availability = free / slots if slots else np.zeros(len(rows))
        if remote:
            distance = np.zeros(len(rows))
        else:
            km = np.sqrt(distance_sq.astype(np.float64)) / 1000
            reach_km = np.sqrt((reach_m * reach_m).astype(np.float64)) / 1000
            with np.errstate(divide="ignore", invalid="ignore"):
                distance = np.where(reach_km > 0, np.maximum(0.0, 1.0 - km / reach_km), 0.0)
        never = last_asked == NO_ASK
        since_us = _us(now) - np.where(never, _us(now), last_asked)
        days = np.maximum(since_us / 1e6 / 86_400, 0.0)
        recency = np.minimum(days / FAIRNESS_FULL_AFTER_DAYS, 1.0)
        fewer = 1.0 / (1 + asks_30d)
        fairness = np.where(never, 1.0, (1.0 - NEVER_ASKED_BOOST) * (0.6 * recency + 0.4 * fewer))
        reliability = (cols["helped"][rows] + RELIABILITY_PRIOR * RELIABILITY_PRIOR_WEIGHT) / (
            cols["outcomes"][rows] + RELIABILITY_PRIOR_WEIGHT
        )
        total = _sum_as_python_does(
            [
                WEIGHTS["skills"] * skills,
                WEIGHTS["availability"] * availability,
                WEIGHTS["distance"] * distance,
                WEIGHTS["fairness"] * fairness,
                WEIGHTS["reliability"] * reliability,
            ]
        )
        return _Found(cols["person_id"][rows], users, total, unsure)

    def _ask_rules(self, group: Group, now: datetime) -> Rules:
        """Pacing's rules for an ask from `group`, read at most once a second per group
        and minute: stale rules can only pick candidates the re-check then confirms or
        drops, and are as fresh as the index itself. While no campaign period is active
        anywhere, the rules are the same for every group (a campaign is all that differs
        by group), so one reading serves them all for that second."""
        minute = _us(now) // 60_000_000
        clock = time.monotonic()
        cached = self._rules.get((group.pk, minute))
        if cached is not None and clock - cached[0] < REFRESH_EVERY_SECONDS:
            return cached[1]
        shared = self._rules.get((0, minute))
        if shared is not None and clock - shared[0] < REFRESH_EVERY_SECONDS:
            return replace(shared[1], group_id=group.pk)
        rules = rules_for(Message(kind=Kind.ASK, group=group), now=now, using=self.using)
        if len(self._rules) > 10_000:
            self._rules.clear()
        self._rules[(group.pk, minute)] = (clock, rules)
        if (
            rules.campaign is None
            and not CampaignPeriod.objects.using(self.using).active_at(now).exists()
        ):
            self._rules[(0, minute)] = (clock, rules)
        return rules

    def _with_the_skills(
        self,
        wanted: list[NeedSkill],
        remote: bool,
        min_level: int | None,
        band: tuple[int, int] | None = None,
    ) -> Rows:
        """Rows holding every must-have skill at its level (remotely, for a remote need);
        with only nice-to-have skills, any of them. The same rule as `eligible_people`.
        With `band` (on site), only holders with eastings in it: everyone the need's
        radius can reach is in the band, and reach is checked exactly afterwards."""
        if not wanted:
            return np.flatnonzero(self._cols["alive"][: self._size]).astype(np.int64)
        empty = _SkillList(
            np.zeros(0, np.int64),
            np.zeros(0, np.uint8),
            np.zeros(0, np.bool_),
            np.zeros(0, np.int32),
        )

        def holders(item: NeedSkill) -> Rows:
            listed = self._skills.get(item.skill_id, empty)
            if band is None:
                ok = listed.levels >= max(item.min_level, min_level or 0)
                if remote:
                    ok &= listed.remote
                return listed.rows[ok]
            at = listed.band(*band)
            ok = listed.levels[at] >= max(item.min_level, min_level or 0)
            return listed.rows[at[ok]]

        required = [w for w in wanted if w.required]
        if not required:
            return np.unique(np.concatenate([holders(w) for w in wanted]))
        required.sort(key=lambda w: len(self._skills.get(w.skill_id, empty).rows))
        rows = holders(required[0])
        for item in required[1:]:
            level, can_remote = self._skills.get(item.skill_id, empty).lookup(rows)
            ok = level >= max(item.min_level, min_level or 0)
            rows = rows[ok & can_remote] if remote else rows[ok]
        return rows

    def _skill_fit(self, rows: Rows, wanted: list[NeedSkill]) -> npt.NDArray[np.float64]:
        top = max(PersonSkill.Level.values)
        earned = np.zeros(len(rows))
        possible = 0.0
        for item in wanted:
            weight = 1.0 if item.required else 0.5
            possible += weight
            listed = self._skills.get(item.skill_id)
            if listed is None:
                continue
            level = listed.lookup(rows)[0].astype(np.int64)
            room = max(top - item.min_level, 1)
            part = weight * (0.5 + 0.5 * (level - item.min_level) / room)
            earned = earned + np.where(level >= item.min_level, part, 0.0)
        return earned / possible if possible else np.zeros(len(rows))

    def _ask_counts(self, rows: Rows, now_us: int) -> tuple[Rows, Rows, Rows, Rows]:
        """Counted asks in the last 30 days, 7 days and 24 hours, and the latest at or
        before now (NO_ASK for none), for each of `rows`."""
        starts = self._ask_start[rows]
        lengths = self._ask_start[rows + 1] - starts
        total = int(lengths.sum())
        last = self._cols["last_ask_before"][rows].copy()
        if not total:
            zeros = np.zeros(len(rows), np.int64)
            return zeros, zeros, zeros, last
        owner = np.repeat(np.arange(len(rows)), lengths)
        offsets = np.cumsum(lengths) - lengths
        at = self._ask_at[np.arange(total) - np.repeat(offsets - starts, lengths)]
        counted = at <= now_us

        def since(window: timedelta) -> Rows:
            inside = counted & (at > now_us - window // timedelta(microseconds=1))
            return np.bincount(owner[inside], minlength=len(rows)).astype(np.int64)

        np.maximum.at(last, owner[counted], at[counted])
        return since(FAIRNESS_WINDOW), since(WEEK), since(DAY), last


def _sum_as_python_does(parts: list[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
    """Element by element, what `sum()` of these parts gives in Python (3.12 on: with
    Neumaier's compensation), to the bit, as `matching.score` adds up its parts."""
    total = np.zeros_like(parts[0])
    compensation = np.zeros_like(parts[0])
    for part in parts:
        step = total + part
        compensation += np.where(
            np.abs(total) >= np.abs(part), (total - step) + part, (part - step) + total
        )
        total = step
    return np.where(np.isfinite(compensation), total + compensation, total)


class _Found(NamedTuple):
    """What the index finds for a need: person and account ids, scores, and whether
    their being findable still depends on membership of the need's group."""

    people: Rows
    users: Rows
    scores: npt.NDArray[np.float64]
    unsure: npt.NDArray[np.bool_]


def _exact_top(
    need: Need, people: Rows, scores: npt.NDArray[np.float64], allowed: Any, count: int
) -> Rows:
    """Positions of the first `count` of the `allowed` in `rank_candidates`' order (the
    score rounded as `Ranked.sort_key` rounds it, then the pseudonym's hash), in no
    particular order. Hashes are worked out only for those within `SCORE_SLACK` of the
    `count`-th score: anyone further below is after all of them, whatever the rounding."""
    among = np.flatnonzero(allowed)
    if len(among) <= count:
        return among
    ours = scores[among]
    kth = -np.partition(-ours, count - 1)[count - 1]
    above = among[ours > kth + SCORE_SLACK]
    edge = among[(ours >= kth - SCORE_SLACK) & (ours <= kth + SCORE_SLACK)]
    digests = pseudonym_digests(need, people[edge].tolist())
    keys = [
        (-round(score, 9), digest)
        for score, digest in zip(scores[edge].tolist(), digests, strict=True)
    ]
    first = sorted(range(len(edge)), key=keys.__getitem__)[: count - len(above)]
    return np.concatenate([above, edge[np.asarray(first, np.int64)]]).astype(np.int64)


def _best_first(scores: npt.NDArray[np.float64], count: int) -> Rows:
    """Positions of the best `count` scores (and any within `SCORE_SLACK` of the last),
    best first; equal scores keep their positions' order, so a longer `count` gives a
    longer list with the same beginning."""
    if count >= len(scores):
        return np.argsort(-scores, kind="stable").astype(np.int64)
    kth = -np.partition(-scores, count - 1)[count - 1]
    chosen = np.flatnonzero(scores >= kth - SCORE_SLACK)
    return chosen[np.argsort(-scores[chosen], kind="stable")].astype(np.int64)


_indexes: dict[str, MatchingIndex] = {}
_indexes_lock = threading.Lock()


def get_index(using: str = DEFAULT_DB_ALIAS) -> MatchingIndex:
    """The process's index for database `using`: built on first use, refreshed at most
    once a second when used."""
    with _indexes_lock:
        index = _indexes.get(using)
        if index is None:
            index = _indexes[using] = MatchingIndex.build(using=using)
            return index
    idle = time.monotonic() - index.refreshed_at
    if idle >= REBUILD_AFTER_IDLE_SECONDS:
        with index._lock:
            index._load_everything()
    elif idle >= REFRESH_EVERY_SECONDS:
        index.refresh()
    return index


def refresh_built_index(using: str = DEFAULT_DB_ALIAS) -> None:
    """Bring this process's index for `using` up to date now, if it has one (after a
    change that must show at once, such as an erasure); never builds one."""
    with _indexes_lock:
        index = _indexes.get(using)
    if index is not None:
        index.refresh()


def forget_indexes() -> None:
    """Drop the process's indexes (tests, and after a database is replaced)."""
    with _indexes_lock:
        _indexes.clear()
