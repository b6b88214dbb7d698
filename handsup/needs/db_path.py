"""The shortlist from the database alone, for processes without the in-process index.

`shortlist_from_table(need)` answers what `matching.shortlist(need)` answers, reading
matching's narrow table (`MatchingRow`, kept in step by `narrow.py`) instead of scoring
everyone eligible in Python:

1. **Candidates, one indexed query.** From the narrow table: the account active and the
   person verified, found by the movement (or by their own groups, as a member of the
   need's group), not blocking the group, not invited to the need; every must-have skill
   at its minimum level by bit masks (a need with only nice-to-have skills: any of them),
   remotely for a remote need; on site, inside the square around the need (the location
   index) and within the smaller of the need's radius and their own travel radius; the
   organiser's filters. Ordered by the shortlist's own score worked out in SQL from the
   row (skills, availability, distance, fairness from `last_asked_at`, reliability from
   the outcome counters), best first, **at most `k` of them** (`DEFAULT_K`).
2. **The shortlist's order, then the exact rules.** The table's score is
   `matching.score`'s formula on the row, with asks in the last 30 days taken as one if
   the last ask falls in them (and none after `now`), so it is never below the exact
   score while the row is fresh. The candidates are ordered as the shortlist orders
   people (score to 9 places, then the per-need pseudonym's hash) and re-checked in
   that order, a batch at a time, with `matching.eligible_people(need, among=...)`
   (every rule, against the real tables: ask budgets, dates away, consents, blocks,
   invitations), and ranked and described by `candidates_from`, `rank_candidates` and
   `make_cards`: nobody ineligible is ever shown, and the cards are the exact path's.
   Re-checking stops once `limit` are confirmed and no unchecked candidate's score
   could beat the last of them.

**The bound, and what it can miss.** Only the best `k` rows by the table's score are
looked at. With the table fresh, the answer equals `matching.shortlist` whenever the
`k`-th row scores below the `limit`-th person shown. It can differ when more than `k`
people reach the top scores: people ranked below the `k`-th row, or cut at random among
rows tying with it (SQL can't compute the pseudonym hash that breaks ties), who would
outrank someone shown; and when more than `k - limit` of the best rows are dropped by
rules the table doesn't hold (ask budgets, dates away). Remote needs are where ties are
common (no distance part, and most people never asked), so they get a larger bound
(`DEFAULT_K_REMOTE`). A stale row (a change committed without its sync) can only
misplace a candidate; the re-check still applies every rule.

Skills with ids of 128 or more are not in the table's bit sets: a need asking for one
falls back to `matching.shortlist`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone

from handsup.groups.models import GroupBlock, Membership
from handsup.messaging.models import Kind, Message
from handsup.messaging.pacing import rules_for
from handsup.needs import matching
from handsup.needs.matching import (
    FAIRNESS_FULL_AFTER_DAYS,
    FAIRNESS_WINDOW,
    NEVER_ASKED_BOOST,
    RELIABILITY_PRIOR,
    RELIABILITY_PRIOR_WEIGHT,
    SHORTLIST_SIZE,
    WEIGHTS,
    Card,
    Ranked,
    ShortlistFilters,
)
from handsup.needs.models import Invitation, MatchingRow, Need, NeedSkill
from handsup.needs.narrow import SKILL_BITS, WORD_BITS, signed_word
from handsup.people.models import PersonSkill

# How many rows of the narrow table a shortlist looks at, at most (see the docstring).
DEFAULT_K = 400
DEFAULT_K_REMOTE = 2_000
# Re-checked in the first batch beyond `limit` (some drop out), then `limit` at a time.
RECHECK_MARGIN = 20
TOP_LEVEL = max(PersonSkill.Level.values)
# How the shortlist orders people: (minus the score to 9 places, the pseudonym's hash).
_Key = tuple[float, str]


def _word_and_bit(skill_id: int) -> tuple[str, int]:
    return ("lo", skill_id) if skill_id < WORD_BITS else ("hi", skill_id - WORD_BITS)


def _mask(bit: int) -> int:
    return signed_word(1 << bit)


def _level_column(level: int) -> str:
    return "skills" if level <= 1 else f"level{min(level, TOP_LEVEL)}"


class _Sql:
    """A WHERE clause and a score expression with their parameters, in order."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "%s"

    def has(self, column: str, skill_id: int) -> str:
        word, bit = _word_and_bit(skill_id)
        return f"(r.{column}_{word} & {_mask(bit)}) <> 0"

    def bit(self, column: str, skill_id: int) -> str:
        word, bit = _word_and_bit(skill_id)
        return f"((r.{column}_{word} >> {bit}) & 1)"

    def least(self, *terms: str) -> str:
        return f"{'LEAST' if self.vendor == 'postgresql' else 'MIN'}({', '.join(terms)})"

    def greatest(self, *terms: str) -> str:
        return f"{'GREATEST' if self.vendor == 'postgresql' else 'MAX'}({', '.join(terms)})"

    def moment(self, now: datetime) -> Any:
        """`now` as the rows' datetimes compare with it (SQLite: UTC text)."""
        if self.vendor == "postgresql":
            return now
        return now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def num(self, value: float) -> str:
        """A floating-point constant (PostgreSQL reads `0.3` as an exact numeric)."""
        if self.vendor == "postgresql":
            return f"CAST({float(value)!r} AS DOUBLE PRECISION)"
        return repr(float(value))

    def days_since_asked(self, now: datetime) -> str:
        if self.vendor == "postgresql":
            seconds = f"EXTRACT(EPOCH FROM ({self.param(now)} - r.last_asked_at))"
            return f"(CAST({seconds} AS DOUBLE PRECISION) / {self.num(86_400)})"
        return f"(julianday({self.param(self.moment(now))}) - julianday(r.last_asked_at))"


def _score_sql(
    sql: _Sql, need: Need, wanted: list[NeedSkill], slot_bits: int, now: datetime
) -> str:
    """`matching.score` in SQL, from the row (asks in 30 days: one if the last is in
    them), in floating point (PostgreSQL's exact numerics are several times slower)."""
    num = sql.num
    possible = sum(1.0 if item.required else 0.5 for item in wanted)
    earned = []
    for item in wanted:
        weight = 1.0 if item.required else 0.5
        room = max(TOP_LEVEL - item.min_level, 1)
        # What each level earns, best first: the column that holds it, and the points.
        cases = [
            f"WHEN {sql.has(_level_column(level), item.skill_id)} "
            f"THEN {num(weight * (0.5 + 0.5 * (level - item.min_level) / room))}"
            for level in range(TOP_LEVEL, item.min_level - 1, -1)
        ]
        earned.append(f"(CASE {' '.join(cases)} ELSE {num(0)} END)")
    skills = f"(({' + '.join(earned)}) / {num(possible)})" if possible else num(0)
    slots = [bit for bit in range(slot_bits.bit_length()) if (slot_bits >> bit) & 1]
    free = " + ".join(f"((r.availability >> {bit}) & 1)" for bit in slots)
    availability = f"(CAST({free} AS DOUBLE PRECISION) / {num(len(slots))})" if slots else num(0)
    distance = num(0)
    if need.location_kind == Need.LocationKind.ON_SITE:
        assert need.radius_km is not None
        reach = sql.least("r.travel_km", str(int(need.radius_km)))
        distance = (
            f"({num(1)} - SQRT(CAST({_distance_sq_sql(need)} AS DOUBLE PRECISION)) "
            f"/ {num(1000)} / {reach})"
        )
    # An ask after `now` (a ledger dated ahead) is not counted, as the exact path has it.
    future = f"r.last_asked_at > {sql.param(sql.moment(now))}"
    days = sql.greatest(sql.days_since_asked(now), num(0))
    recent = f"(CASE WHEN {sql.days_since_asked(now)} < {FAIRNESS_WINDOW.days} THEN 1 ELSE 0 END)"
    recency = sql.least(f"{days} / {num(FAIRNESS_FULL_AFTER_DAYS)}", num(1))
    fairness = (
        f"(CASE WHEN r.last_asked_at IS NULL OR {future} THEN {num(1)} ELSE "
        f"{num(1.0 - NEVER_ASKED_BOOST)} * ({num(0.6)} * {recency} "
        f"+ {num(0.4)} / ({num(1)} + {recent})) END)"
    )
    reliability = (
        f"((r.helped + {num(RELIABILITY_PRIOR * RELIABILITY_PRIOR_WEIGHT)}) "
        f"/ (r.outcomes + {num(RELIABILITY_PRIOR_WEIGHT)}))"
    )
    parts = {
        "skills": skills,
        "availability": availability,
        "distance": distance,
        "fairness": fairness,
        "reliability": reliability,
    }
    return " + ".join(f"{num(WEIGHTS[name])} * {part}" for name, part in parts.items())


def _distance_sq_sql(need: Need) -> str:
    # Squares of grid differences overflow 32-bit integers: widen first.
    return (
        f"((CAST(r.eastings AS BIGINT) - {int(need.eastings or 0)}) "
        f"* (CAST(r.eastings AS BIGINT) - {int(need.eastings or 0)}) "
        f"+ (CAST(r.northings AS BIGINT) - {int(need.northings or 0)}) "
        f"* (CAST(r.northings AS BIGINT) - {int(need.northings or 0)}))"
    )


def _table(model: Any, using: str) -> str:
    return str(connections[using].ops.quote_name(model._meta.db_table))


def candidate_rows(
    need: Need,
    *,
    now: datetime,
    filters: ShortlistFilters,
    k: int,
    using: str,
) -> list[tuple[int, float]]:
    """Step 1: the best `k` rows of the narrow table for `need`, as (person id, score
    from the table), best first (one query)."""
    sql = _Sql(connections[using].vendor)
    wanted = list(need.skills.all())
    remote = need.location_kind == Need.LocationKind.REMOTE
    # Every name here is a quoted table name, every number an int: values are parameters.
    members = f"SELECT user_id FROM {_table(Membership, using)} WHERE group_id = "  # noqa: S608
    blocks = f"SELECT user_id FROM {_table(GroupBlock, using)} WHERE group_id = "  # noqa: S608
    invited = f"SELECT user_id FROM {_table(Invitation, using)} WHERE need_id = "  # noqa: S608
    where = [
        "r.active_verified",
        "(r.found_movement OR (r.found_my_groups AND "
        f"r.user_id IN ({members}{sql.param(need.group_id)})))",
        f"r.user_id NOT IN ({blocks}{sql.param(need.group_id)})",
        f"r.user_id NOT IN ({invited}{sql.param(need.pk)})",
    ]
    if filters.members_only:
        where.append(f"r.user_id IN ({members}{sql.param(need.group_id)})")

    def holds(item: NeedSkill) -> str:
        level = max(item.min_level, filters.min_level or 0)
        test = sql.has(_level_column(level), item.skill_id)
        return f"({test} AND {sql.has('remote', item.skill_id)})" if remote else test

    if remote:
        where.append("(r.remote_lo <> 0 OR r.remote_hi <> 0)")  # the remote index
    required = [item for item in wanted if item.required]
    where += [holds(item) for item in required]
    if not required and wanted:
        where.append("(" + " OR ".join(holds(item) for item in wanted) + ")")
    if not remote:
        assert need.eastings is not None and need.northings is not None
        assert need.radius_km is not None
        box_m = min(need.radius_km, filters.max_km or need.radius_km) * 1000
        reach = f"(CAST({sql.least('r.travel_km', str(int(need.radius_km)))} AS BIGINT) * 1000)"
        where += [
            f"r.eastings BETWEEN {need.eastings - box_m} AND {need.eastings + box_m}",
            f"r.northings BETWEEN {need.northings - box_m} AND {need.northings + box_m}",
            f"{_distance_sq_sql(need)} <= {reach} * {reach}",
        ]
        if filters.max_km is not None:
            where.append(f"{_distance_sq_sql(need)} <= {(filters.max_km * 1000) ** 2}")
    # The score's parameters come after the WHERE clause's in the statement.
    where_params, sql.params = sql.params, []
    score = _score_sql(sql, need, wanted, matching.need_slot_bits(need), now)
    statement = (
        f"SELECT r.person_id, {score} AS score "  # noqa: S608
        f"FROM {_table(MatchingRow, using)} r WHERE {' AND '.join(where)} "
        f"ORDER BY score DESC, r.person_id LIMIT {int(k)}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(statement, sql.params + where_params)
        return [(int(person_id), float(total)) for person_id, total in cursor.fetchall()]


def shortlist_from_table(
    need: Need,
    *,
    now: datetime | None = None,
    filters: ShortlistFilters | None = None,
    limit: int = SHORTLIST_SIZE,
    k: int | None = None,
) -> list[Card]:
    """The top `limit` eligible people for `need` as cards, from the narrow table and
    the exact rules (see the module's docstring for the bound `k`)."""
    now = now or timezone.now()
    filters = filters or ShortlistFilters()
    using = need._state.db or DEFAULT_DB_ALIAS
    prefetch_related_objects(
        [need], Prefetch("skills", NeedSkill.objects.select_related("skill")), "windows"
    )
    wanted = list(need.skills.all())
    if any(item.skill_id >= SKILL_BITS for item in wanted):
        return matching.shortlist(need, now=now, filters=filters, limit=limit)
    remote = need.location_kind == Need.LocationKind.REMOTE
    if k is None:
        k = DEFAULT_K_REMOTE if remote else DEFAULT_K
    rows = candidate_rows(need, now=now, filters=filters, k=max(k, limit), using=using)
    order = _in_table_order(need, rows)
    # Pacing's limits, read once for every batch's re-check.
    rules = rules_for(Message(kind=Kind.ASK, group=need.group), now=now)
    confirmed: list[Ranked] = []
    checked = 0
    batch = limit + RECHECK_MARGIN
    while checked < len(order):
        chosen = order[checked : checked + batch]
        checked += len(chosen)
        people = matching.eligible_people(
            need,
            now=now,
            filters=filters,
            rules=rules,
            among=[person_id for _key, person_id in chosen],
        )
        confirmed = matching.rank_candidates(
            need,
            [item.candidate for item in confirmed] + matching.candidates_from(need, people),
            now=now,
        )
        if len(confirmed) >= limit and (
            checked >= len(order) or order[checked][0] > confirmed[limit - 1].sort_key
        ):
            break
        batch = limit
    return matching.make_cards(need, confirmed[:limit], now=now)


def _in_table_order(need: Need, rows: Sequence[tuple[int, float]]) -> list[tuple[_Key, int]]:
    """The rows as the shortlist orders people (score, then the pseudonym's hash), by
    the table's score: (sort key, person id)."""
    digests = matching.pseudonym_digests(need, [person_id for person_id, _score in rows])
    ordered = [
        ((-round(total, 9), digest), person_id)
        for (person_id, total), digest in zip(rows, digests, strict=True)
    ]
    ordered.sort()
    return ordered
