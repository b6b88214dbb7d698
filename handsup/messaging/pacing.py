"""Pacing: the one place that decides what happens to a message for each person.

For one message and an audience (a queryset of user ids), every person gets exactly one
decision, with its reason, in this order of precedence:

1. **suppressed** — no usable address (no email, or the account is closed), or the
   mail provider reported the address bounced or its owner complained (an active
   `AddressSuppression`); then, for everything but service mail: unsubscribed (from
   everything, the group or the kind), blocked the group, no `group_email` consent for
   the group, or email turned off in their profile;
2. **folded** into the next digest (group updates, movement news) — or **suppressed**
   (asks, which are refused at invitation time instead; digests) — when over budget:
   per person, across all groups, per kind, per day and per rolling 7 days. The limit
   is the person's own (asks) bounded by the movement's hard limits (`ContactLimits`);
   a campaign period covering the message's group raises it to the campaign figures;
   the group's own weekly policy (`Group.updates_per_week_*`, bounded by
   `MovementLimits`) can only be stricter;
3. **held** in the person's quiet hours (their time zone), until the quiet hours end;
4. **sent** now.

Service mail ignores budgets, quiet hours, consent and unsubscribes: it still needs an
address. Only `sent` and `held` rows count against a budget, from the moment they were
decided (`LedgerEntry.at`), and "a day" is the rolling 24 hours before the decision.

Everything is set-based: the decision is worked out once into a temporary table (on
PostgreSQL by parallel workers where the planner sees fit), the ledger rows and the
outbox rows for those sent or held are inserted from it, and a `GROUP BY` reads back the
counts. Nothing is fetched per person into Python; only the distinct (time zone, quiet
hours) combinations in use are, to work out with `zoneinfo` which are quiet now and when
each ends (exactly, across DST changes). `preview` runs the same decision query and only
counts.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from handsup.accounts.models import User
from handsup.groups.models import Group, GroupBlock, MovementLimits
from handsup.messaging.models import (
    AddressSuppression,
    CampaignPeriod,
    ContactLimits,
    Decision,
    Kind,
    LedgerEntry,
    Message,
    OutboxItem,
    Reason,
    Unsubscribe,
)
from handsup.people.models import Person, Profile
from handsup.privacy.models import ConsentEvent, Purpose
from handsup.privacy.register import PurposeCode

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
DEFAULT_TIME_ZONE = "Europe/London"

# A digest goes at most once per cadence; a day's slack lets a schedule that runs a few
# seconds early still find last week's digest outside the window.
DIGEST_INTERVAL_DAYS = {"weekly": 6, "fortnightly": 13, "monthly": 27}

# What an over-budget message becomes: news waits for the digest; an ask is refused.
OVER_BUDGET_DECISION: dict[str, str] = {
    Kind.GROUP_UPDATE: Decision.FOLDED,
    Kind.MOVEMENT_NEWS: Decision.FOLDED,
    Kind.ASK: Decision.SUPPRESSED,
    Kind.DIGEST: Decision.SUPPRESSED,
}

# Serialises pacing across processes on PostgreSQL (SQLite's write lock already does):
# two messages paced at once would each count the other's rows as not yet there.
PACING_LOCK_KEY = zlib.crc32(b"handsup.messaging.pacing")


class PacingError(Exception):
    """The message can't be paced as asked (a programming error, not bad input)."""


# --- Quiet hours -----------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """The person's time zone, or the default for a name zoneinfo does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def in_quiet_hours(wall: time, quiet_from: time, quiet_until: time) -> bool:
    """Whether a local wall-clock time is inside [quiet_from, quiet_until)."""
    if quiet_from < quiet_until:
        return quiet_from <= wall < quiet_until
    return wall >= quiet_from or wall < quiet_until


def quiet_release(
    moment: datetime, time_zone: str, quiet_from: time, quiet_until: time
) -> datetime | None:
    """When the quiet hours around `moment` end, in UTC; None when it is not quiet.

    The end is the first instant whose local wall-clock time is `quiet_until` or later:
    normally that wall time itself; when the clocks skip over it (spring forward), the
    instant the clocks jump; when it happens twice (fall back), the first time.
    """
    tz = zone(time_zone)
    local = moment.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if not in_quiet_hours(wall, quiet_from, quiet_until):
        return None
    day = local.date() if wall < quiet_until else local.date() + DAY
    release = _first_instant_at_or_after(day, quiet_until, tz)
    if release <= moment:
        # `moment` is in the repeated hour after the clocks went back, and the quiet
        # hours end at the second pass of that wall time.
        release = datetime.combine(day, quiet_until, tzinfo=tz).replace(fold=1).astimezone(UTC)
    return release


def _first_instant_at_or_after(day: date, wall: time, tz: ZoneInfo) -> datetime:
    candidate = datetime.combine(day, wall, tzinfo=tz)  # fold=0: the first occurrence
    as_utc = candidate.astimezone(UTC)
    if as_utc.astimezone(tz).replace(tzinfo=None) == candidate.replace(tzinfo=None):
        return as_utc
    # The wall time does not exist (the clocks skip it): the quiet hours end when the
    # clocks jump. Read with the offsets before and after the jump, it names two
    # instants either side of it; find the jump between them to the second.
    target = datetime.combine(day, wall)
    other = datetime.combine(day, wall, tzinfo=tz).replace(fold=1).astimezone(UTC)
    low, high = sorted((int(as_utc.timestamp()), int(other.timestamp())))
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


# --- What applies to one message ---------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """The limits that apply to one message, worked out once before the set-based pass."""

    kind: str
    group_id: int | None
    campaign: CampaignPeriod | None
    per_day: int | None = None
    per_week: int | None = None
    # Asks: each person's own weekly limit (a Profile column) bounds `per_week` further.
    person_week_column: str | None = None
    person_week_default: int = 0
    group_per_week: int | None = None
    over_budget_decision: str = Decision.FOLDED

    @property
    def is_service(self) -> bool:
        return self.kind == Kind.SERVICE


def rules_for(message: Message, *, now: datetime, using: str = DEFAULT_DB_ALIAS) -> Rules:
    kind = message.kind
    group = message.group
    if kind not in Kind.values:
        raise PacingError(f"Unknown kind of message {kind!r}.")
    if kind in (Kind.ASK, Kind.GROUP_UPDATE, Kind.MOVEMENT_NEWS) and group is None:
        raise PacingError(f"A {kind} message comes from a group.")
    campaign = (
        CampaignPeriod.objects.using(using)
        .active_at(now)
        .covering(group)
        .order_by("starts_at", "pk")
        .first()
    )
    if kind in (Kind.SERVICE, Kind.DIGEST):
        return Rules(kind=kind, group_id=group.pk if group else None, campaign=None)
    hard = ContactLimits.objects.using(using).get_or_create(pk=1)[0]
    mode = "campaign" if campaign is not None else "normal"
    rules = Rules(
        kind=kind,
        group_id=group.pk if group else None,
        campaign=campaign,
        over_budget_decision=OVER_BUDGET_DECISION[kind],
    )
    if kind == Kind.GROUP_UPDATE:
        assert group is not None
        movement = MovementLimits.objects.using(using).get_or_create(pk=1)[0]
        own = getattr(group, f"updates_per_week_{mode}")
        return replace(
            rules,
            per_day=hard.group_updates_per_day,
            per_week=getattr(hard, f"group_updates_per_week_{mode}"),
            group_per_week=min(own, getattr(movement, f"updates_per_week_{mode}")),
        )
    if kind == Kind.ASK:
        column = f"asks_per_week_{mode}"
        default = _profile_default(column)
        return replace(
            rules,
            per_day=hard.asks_per_day,
            per_week=getattr(hard, column),
            person_week_column=column,
            person_week_default=int(default),
        )
    return replace(
        rules, per_day=hard.news_per_day, per_week=getattr(hard, f"news_per_week_{mode}")
    )


# --- Results ---------------------------------------------------------------------------


@dataclass
class PacingCounts:
    """What pacing decided (or would decide) for one message: counts per decision and
    per (decision, reason)."""

    by_reason: dict[tuple[str, str], int] = field(default_factory=dict)
    campaign: CampaignPeriod | None = None

    @property
    def recipients(self) -> int:
        return sum(self.by_reason.values())

    def count(self, decision: str) -> int:
        return sum(n for (d, _), n in self.by_reason.items() if d == decision)

    @property
    def sent(self) -> int:
        return self.count(Decision.SENT)

    @property
    def held(self) -> int:
        return self.count(Decision.HELD)

    @property
    def folded(self) -> int:
        return self.count(Decision.FOLDED)

    @property
    def suppressed(self) -> int:
        return self.count(Decision.SUPPRESSED)

    def reasons(self, decision: str) -> dict[str, int]:
        """Reason → count, for one decision, largest first."""
        found = {r: n for (d, r), n in self.by_reason.items() if d == decision}
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    def as_json(self) -> dict[str, int]:
        return {f"{d}:{r}": n for (d, r), n in sorted(self.by_reason.items())}


# --- The set-based decision ------------------------------------------------------------


def preview(
    message: Message,
    audience: models.QuerySet[Any, Any],
    *,
    now: datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> PacingCounts:
    """What `pace` would decide for `audience` now, counted; nothing is written."""
    now = now or datetime.now(UTC)
    connection = connections[using]
    rules = rules_for(message, now=now, using=using)
    # PostgreSQL's session settings last to the end of a transaction, so open one; on
    # SQLite a transaction would take the write lock for a read.
    postgresql = connection.vendor == "postgresql"
    scope: AbstractContextManager[Any] = (
        transaction.atomic(using=using) if postgresql else nullcontext()
    )
    with scope, tuned_for_a_large_batch(connection):
        query = _DecisionQuery(connection, rules, audience, now=now, using=using)
        sql, params = query.decisions()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT decision, reason, COUNT(*) FROM ({sql}) d GROUP BY decision, reason",  # noqa: S608
                params,
            )
            rows = cursor.fetchall()
    return PacingCounts(by_reason={(d, r): n for d, r, n in rows}, campaign=rules.campaign)


LEDGER_COLUMNS = "user_id, message_id, kind, group_id, at, decision, reason, release_at"
OUTBOX_COLUMNS = "message_id, user_id, address, status, due_at, attempts, last_error"


def pace(
    message: Message,
    audience: models.QuerySet[Any, Any],
    *,
    now: datetime,
    using: str = DEFAULT_DB_ALIAS,
) -> PacingCounts:
    """Decide for everyone in `audience`, writing ledger and outbox rows; return counts.

    Must run inside the caller's transaction (`do_send_message`), so the decisions, the
    outbox and the message's counts appear together or not at all.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise PacingError(
            "pace() writes ledger and outbox rows together: call it in a transaction."
        )
    rules = rules_for(message, now=now, using=using)
    _take_pacing_lock(connection)
    _commit_without_waiting_for_the_disk(connection)
    with tuned_for_a_large_batch(connection):
        statement = _DecisionQuery(connection, rules, audience, now=now, using=using).statement()
        at = connection.ops.adapt_datetimefield_value(now)
        # Values every row shares: message, kind, group, decision time; the outbox status.
        ledger_fixed = [message.pk, rules.kind, message.group_id, at]
        outbox_fixed = [message.pk, OutboxItem.Status.QUEUED, at]
        rows = _write_by_staging(connection, statement, ledger_fixed, outbox_fixed)
    return PacingCounts(by_reason={(d, r): n for d, r, n in rows}, campaign=rules.campaign)


def _ledger_select(source: str, order: str = "") -> str:
    return (
        f"SELECT d.user_id, %s, %s, %s, %s, d.decision, d.reason, d.release_at "  # noqa: S608
        f"FROM {source} d {order}"
    )


def _outbox_select(source: str, order: str = "") -> str:
    return (
        f"SELECT %s, d.user_id, d.address, %s, COALESCE(d.release_at, %s), 0, '' "  # noqa: S608
        f"FROM {source} d WHERE d.decision IN ('{Decision.SENT}', '{Decision.HELD}') {order}"
    )


# Ledger rows go in in user order (on PostgreSQL, whose parallel decision comes back in
# any order; SQLite's is already in user order): the (user, at) index then grows in one
# sweep rather than at half a million random places.
IN_USER_ORDER = "ORDER BY d.user_id"


STAGING_TABLE = "messaging_pacing_decided"


def _write_by_staging(
    connection: BaseDatabaseWrapper,
    statement: _Statement,
    ledger_fixed: list[Any],
    outbox_fixed: list[Any],
) -> list[tuple[str, str, int]]:
    """Decide once into a temporary table, then insert both and count from it.

    On PostgreSQL the decision is a `CREATE TABLE … AS`, which (unlike a statement that
    also writes the ledger) may run in parallel workers; the table is dropped with the
    transaction if anything fails, and at once when all went well.
    """
    sql, params = statement.as_sql()
    postgresql = connection.vendor == "postgresql"
    qualified = f"{'pg_temp' if postgresql else 'temp'}.{STAGING_TABLE}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qualified}")
        on_commit = " ON COMMIT DROP" if postgresql else ""
        cursor.execute(f"CREATE TEMP TABLE {STAGING_TABLE}{on_commit} AS {sql}", params)
        try:
            insert_decided(cursor, STAGING_TABLE, ledger_fixed, outbox_fixed, postgresql=postgresql)
            cursor.execute(
                f"SELECT decision, reason, COUNT(*) FROM {STAGING_TABLE} "  # noqa: S608
                f"GROUP BY decision, reason"
            )
            counts = list(cursor.fetchall())
        except Exception:
            if not postgresql:  # PostgreSQL's failed transaction takes the table with it
                cursor.execute(f"DROP TABLE IF EXISTS {qualified}")
            raise
        cursor.execute(f"DROP TABLE IF EXISTS {qualified}")
    return counts


def insert_decided(
    cursor: Any,
    source: str,
    ledger_fixed: list[Any],
    outbox_fixed: list[Any],
    *,
    postgresql: bool,
) -> int:
    """From a table of decisions (`user_id, decision, reason, release_at, address`): a
    ledger row for everyone, and an outbox row for each of those sent or held. The
    number of rows written."""
    cursor.execute(
        f"INSERT INTO {_table(LedgerEntry)} ({LEDGER_COLUMNS}) "
        f"{_ledger_select(source, IN_USER_ORDER if postgresql else '')}",
        ledger_fixed,
    )
    written = int(cursor.rowcount)
    cursor.execute(
        f"INSERT INTO {_table(OutboxItem)} ({OUTBOX_COLUMNS}) {_outbox_select(source)}",
        outbox_fixed,
    )
    return written + int(cursor.rowcount)


@contextmanager
def tuned_for_a_large_batch(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Session settings for one statement over hundreds of thousands of rows.

    PostgreSQL: hashes in memory rather than spilled in batches, and no JIT (the planner
    over-estimates the audience joins and would spend most of a second compiling).
    SQLite: a page cache that holds the indexes being written. Put back afterwards.
    """
    if connection.vendor == "postgresql":
        wanted = {
            "work_mem": "256MB",
            "jit": "off",
            # The decision reads whole tables: let the planner use every worker it may,
            # as it would if it did not overrate shipping rows from them.
            "parallel_setup_cost": "100",
            "parallel_tuple_cost": "0.001",
        }
        with connection.cursor() as cursor:
            previous = {}
            for name, value in wanted.items():
                cursor.execute(f"SHOW {name}")
                previous[name] = cursor.fetchone()[0]
                cursor.execute(f"SET LOCAL {name} = '{value}'")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for name, value in previous.items():
                    cursor.execute(f"SET LOCAL {name} = %s", [value])
        return
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous_cache = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous_cache}")


def _commit_without_waiting_for_the_disk(connection: BaseDatabaseWrapper) -> None:
    """PostgreSQL: the transaction that paces commits without waiting for its WAL to
    reach the disk (`synchronous_commit = off`, for this transaction only).

    A crash in the next fraction of a second can lose the whole send — decisions,
    outbox, counts and audit row together, as if "send" had not been pressed — but never
    part of it, and nothing was delivered from it yet: the outbox rows went with it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _take_pacing_lock(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PACING_LOCK_KEY])


def _table(model: type[models.Model]) -> str:
    return str(model._meta.db_table)


def _profile_default(name: str) -> Any:
    field = Profile._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.get_default()


@dataclass
class _Statement:
    """A `WITH …` statement kept in parts, so more steps can be chained onto it."""

    ctes: list[str]
    cte_params: list[Any]
    select: str
    select_params: list[Any]

    def as_sql(self) -> tuple[str, list[Any]]:
        return (
            f"WITH {', '.join(self.ctes)} {self.select}",
            [*self.cte_params, *self.select_params],
        )


class _DecisionQuery:
    """Builds the one SELECT that yields (user_id, decision, reason, release_at).

    Kept as SQL text with positional parameters, so the same statement feeds `preview`
    (GROUP BY) and `pace` (INSERT … SELECT) on both SQLite and PostgreSQL.
    """

    def __init__(
        self,
        connection: BaseDatabaseWrapper,
        rules: Rules,
        audience: models.QuerySet[Any, Any],
        *,
        now: datetime,
        using: str,
    ) -> None:
        self.connection = connection
        self.rules = rules
        self.now = now
        self.using = using
        self.audience_sql, self.audience_params = _audience_sql(audience, using)
        self.postgresql = connection.vendor == "postgresql"

    def _dt(self, value: datetime) -> Any:
        return self.connection.ops.adapt_datetimefield_value(value)

    def _time(self, value: time) -> Any:
        return self.connection.ops.adapt_timefield_value(value)

    # The person's settings, with the profile's defaults for people without a profile.
    def _profile_columns(self) -> tuple[str, list[Any]]:
        sql = (
            "COALESCE(pr.time_zone, %s) AS tz, COALESCE(pr.quiet_from, %s) AS qf, "
            "COALESCE(pr.quiet_until, %s) AS qu"
        )
        return sql, [
            _profile_default("time_zone"),
            self._time(_profile_default("quiet_from")),
            self._time(_profile_default("quiet_until")),
        ]

    def _audience_cte(self) -> str:
        """`audience(user_id, email, is_active)`: each account in the audience once.

        A semi-join on the user table both removes repeats and fetches the address."""
        return (
            f"audience(user_id, email, is_active) AS (SELECT u.id, u.email, u.is_active "  # noqa: S608
            f"FROM {_table(User)} u WHERE u.id IN ({self.audience_sql}))"
        )

    def _joins(self) -> str:
        return (
            f"LEFT JOIN {_table(Person)} p ON p.user_id = a.user_id "
            f"LEFT JOIN {_table(Profile)} pr ON pr.person_id = p.id"
        )

    def quiet_combinations(self) -> list[tuple[str, time, time]]:
        """Every (time zone, quiet from, quiet until) in use, and the defaults (for
        people without a profile).

        Read from the profile table's index of them, not from the audience: a few dozen
        combinations, found without joining the whole audience an extra time. Those
        nobody in the audience has only make the quiet table a row or two longer.
        """
        profile = _table(Profile)
        columns = "time_zone, quiet_from, quiet_until"
        if self.postgresql:
            # A loose index scan: from each combination, the next one along the index.
            sql = (
                f"WITH RECURSIVE combos AS ("  # noqa: S608
                f"(SELECT {columns} FROM {profile} ORDER BY {columns} LIMIT 1) "
                f"UNION ALL SELECT n.* FROM combos c, LATERAL (SELECT {columns} "
                f"FROM {profile} p WHERE (p.time_zone, p.quiet_from, p.quiet_until) > "
                f"(c.time_zone, c.quiet_from, c.quiet_until) ORDER BY {columns} LIMIT 1) n) "
                f"SELECT {columns} FROM combos"
            )
        else:
            # SQLite reads DISTINCT straight off the covering index.
            sql = f"SELECT DISTINCT {columns} FROM {profile}"  # noqa: S608
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
        defaults = (
            _profile_default("time_zone"),
            _profile_default("quiet_from"),
            _profile_default("quiet_until"),
        )
        # One spelling of each (SQLite hands back times as text or as `time`, depending
        # on how they were selected), so no combination is listed twice.
        found = {(str(tz), _as_time(qf), _as_time(qu)) for tz, qf, qu in [*rows, defaults]}
        return sorted(found)

    def _quiet_values(self) -> tuple[str, list[Any]]:
        """A `quiet(tz, qf, qu, release_at)` table of the combinations quiet right now."""
        rows: list[Any] = []
        for tz, qf, qu in self.quiet_combinations():
            release = quiet_release(self.now, tz, qf, qu)
            if release is not None:
                rows.append((tz, self._time(qf), self._time(qu), self._dt(release)))
        if not rows:
            # An empty table of the right shape.
            return "SELECT %s, %s, %s, %s WHERE 1 = 0", [
                "",
                self._time(time(0)),
                self._time(time(0)),
                self._dt(self.now),
            ]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
        if self.connection.vendor == "postgresql":
            # Parameters in VALUES carry no types; say which.
            cast = "(%s::text, %s::time, %s::time, %s::timestamptz)"
            values = ", ".join([cast] * len(rows))
        return f"VALUES {values}", [value for row in rows for value in row]

    def _recent_counts(self) -> tuple[str, list[Any]]:
        """Per person in the audience: budgeted rows of this kind in each window."""
        rules = self.rules
        longest = WEEK
        if rules.kind == Kind.DIGEST:
            longest = timedelta(days=max(DIGEST_INTERVAL_DAYS.values()))
        group_id = rules.group_id if rules.group_id is not None else -1
        windows = ", ".join(
            f"SUM(CASE WHEN l.at > %s THEN 1 ELSE 0 END) AS n_{days}d"
            for days in sorted({1, 7, *DIGEST_INTERVAL_DAYS.values()})
        )
        window_params = [
            self._dt(self.now - timedelta(days=days))
            for days in sorted({1, 7, *DIGEST_INTERVAL_DAYS.values()})
        ]
        # SQLite joins by nested loops: probing the (user, at) index for each person of
        # the audience beats reading the whole window. PostgreSQL hash-joins the window.
        restrict = "" if self.postgresql else "AND l.user_id IN (SELECT user_id FROM audience) "
        having, having_params = self._over_budget_only()
        sql = (
            f"SELECT l.user_id, {windows}, "  # noqa: S608
            f"SUM(CASE WHEN l.group_id = %s AND l.at > %s THEN 1 ELSE 0 END) AS n_group_7d "
            f"FROM {_table(LedgerEntry)} l "
            f"WHERE l.kind = %s AND l.decision IN (%s, %s) AND l.at > %s AND l.at <= %s "
            f"{restrict}GROUP BY l.user_id{having}"
        )
        params = [
            *window_params,
            group_id,
            self._dt(self.now - WEEK),
            rules.kind,
            Decision.SENT,
            Decision.HELD,
            self._dt(self.now - longest),
            self._dt(self.now),
            *having_params,
        ]
        return sql, params

    def _over_budget_only(self) -> tuple[str, list[Any]]:
        """A HAVING that keeps only the people some budget stops, when the limits are the
        same for everyone (group updates, news).

        Someone left out is joined as having no rows, and `COALESCE(n, 0) >= limit` then
        gives what `n >= limit` gave them: false, as `n < limit` for every limit, and
        every limit is at least 1 here. The join that follows is then over the few who
        are over budget rather than over everyone who had mail this week.
        """
        rules = self.rules
        limits = {
            "n_1d": rules.per_day,
            "n_7d": rules.per_week,
            "n_group_7d": rules.group_per_week,
        }
        if rules.person_week_column or rules.kind == Kind.DIGEST:
            return "", []
        present = {column: limit for column, limit in limits.items() if limit is not None}
        if not present or min(present.values()) < 1:
            return "", []
        windows = {"n_1d": (1, None), "n_7d": (7, None), "n_group_7d": (7, rules.group_id)}
        conditions: list[str] = []
        params: list[Any] = []
        for column, limit in present.items():
            days, group_id = windows[column]
            group_test = "l.group_id = %s AND " if group_id is not None else ""
            conditions.append(f"SUM(CASE WHEN {group_test}l.at > %s THEN 1 ELSE 0 END) >= %s")
            if group_id is not None:
                params.append(group_id)
            params += [self._dt(self.now - timedelta(days=days)), limit]
        return f" HAVING {' OR '.join(conditions)}", params

    def _group_email_purpose(self) -> int | None:
        return (
            Purpose.objects.using(self.using)
            .filter(code=PurposeCode.GROUP_EMAIL)
            .values_list("pk", flat=True)
            .first()
        )

    def _consent_cte(self) -> tuple[str, list[Any]] | None:
        """On PostgreSQL, everyone's latest `group_email` event for the group, as a table
        to hash-join (one pass over the group's events, not a probe per person)."""
        if not self.postgresql or self.rules.group_id is None or self.rules.is_service:
            return None
        sql = (
            f"SELECT DISTINCT ON (c.user_id) c.user_id, c.given "  # noqa: S608
            f"FROM {_table(ConsentEvent)} c "
            f"WHERE c.purpose_id = %s AND c.group_id = %s AND c.channel = '' "
            f"ORDER BY c.user_id, c.at DESC, c.id DESC"
        )
        return sql, [self._group_email_purpose(), self.rules.group_id]

    def _findable_for_an_ask(self) -> tuple[str, list[Any]]:
        """For an ask, letting the group find you is consent to be asked by it.

        `found_movement` says any group in the movement may find the person when it needs
        help that fits them, and `found_my_groups` says the same of their own groups;
        asking them (an email with no contact details either way) is what finding is
        for. So an ask needs `group_email` for the group *or* `Person.objects.findable`
        by it, the one place that says who is findable. Other kinds need `group_email`.
        """
        if self.rules.kind != Kind.ASK or self.rules.group_id is None:
            return "", []
        group = Group.objects.using(self.using).get(pk=self.rules.group_id)
        findable = Person.objects.using(self.using).findable(by=group).values("user_id")
        sql, params = findable.query.get_compiler(using=self.using).as_sql()
        return sql, list(params)

    def _consent_check(self) -> tuple[str, list[Any]]:
        """True when the person's latest `group_email` event for the group gives it."""
        if self.postgresql:
            return "cc.given", []
        purpose_id = self._group_email_purpose()
        if purpose_id is None:
            return "FALSE", []
        # SQLite: a probe of the (purpose, group, channel, user, at) index per person.
        sql = (
            f"(SELECT c.given FROM {_table(ConsentEvent)} c "  # noqa: S608
            f"WHERE c.user_id = a.user_id AND c.purpose_id = %s AND c.group_id = %s "
            f"AND c.channel = '' ORDER BY c.at DESC, c.id DESC LIMIT 1) = TRUE"
        )
        return sql, [purpose_id, self.rules.group_id]

    def _reason_case(self) -> tuple[str, list[Any]]:
        rules = self.rules
        when: list[str] = []
        params: list[Any] = []

        def add(condition: str, reason: str, *values: Any) -> None:
            when.append(f"WHEN {condition} THEN %s")
            params.extend(values)
            params.append(reason)

        add("a.email = '' OR a.is_active = FALSE", Reason.NO_ADDRESS)
        # The provider said this address bounced or its owner reported us as spam (the
        # suppression's own reason, from the `sp` join): service mail too, as it can't
        # arrive either.
        when.append("WHEN sp.reason IS NOT NULL THEN sp.reason")
        if rules.is_service:
            return f"CASE {' '.join(when)} ELSE %s END", [*params, Reason.SERVICE]
        unsubscribe_sql = (
            f"EXISTS (SELECT 1 FROM {_table(Unsubscribe)} un WHERE un.user_id = a.user_id "  # noqa: S608
            f"AND (un.scope = %s OR un.kind = %s"
        )
        unsubscribe_params: list[Any] = [Unsubscribe.Scope.EVERYTHING, rules.kind]
        if rules.group_id is not None:
            unsubscribe_sql += " OR (un.scope = %s AND un.group_id = %s)"
            unsubscribe_params += [Unsubscribe.Scope.GROUP, rules.group_id]
        add(unsubscribe_sql + "))", Reason.UNSUBSCRIBED, *unsubscribe_params)
        if rules.group_id is not None:
            add(
                f"EXISTS (SELECT 1 FROM {_table(GroupBlock)} b "  # noqa: S608
                f"WHERE b.user_id = a.user_id AND b.group_id = %s)",
                Reason.BLOCKED,
                rules.group_id,
            )
            consent_sql, consent_params = self._consent_check()
            findable_sql, findable_params = self._findable_for_an_ask()
            if findable_sql:
                add(
                    f"NOT (COALESCE({consent_sql}, FALSE) OR a.user_id IN ({findable_sql}))",
                    Reason.NO_CONSENT,
                    *consent_params,
                    *findable_params,
                )
            else:
                add(f"NOT COALESCE({consent_sql}, FALSE)", Reason.NO_CONSENT, *consent_params)
        add("COALESCE(pr.contact_by_email, TRUE) = FALSE", Reason.EMAIL_OFF)
        if rules.kind == Kind.DIGEST:
            add(
                "COALESCE(pr.digest_cadence, %s) = %s",
                Reason.DIGEST_OFF,
                _profile_default("digest_cadence"),
                Profile.Cadence.NEVER,
            )
            for cadence, days in DIGEST_INTERVAL_DAYS.items():
                add(
                    f"COALESCE(pr.digest_cadence, %s) = %s AND COALESCE(r.n_{days}d, 0) >= 1",
                    Reason.DIGEST_CADENCE,
                    _profile_default("digest_cadence"),
                    cadence,
                )
        if rules.per_day is not None:
            add("COALESCE(r.n_1d, 0) >= %s", Reason.OVER_BUDGET_DAY, rules.per_day)
        if rules.per_week is not None:
            limit_sql, limit_params = "%s", [rules.per_week]
            if rules.person_week_column:
                own = f"COALESCE(pr.{rules.person_week_column}, %s)"
                limit_sql = f"CASE WHEN {own} < %s THEN {own} ELSE %s END"
                limit_params = [
                    rules.person_week_default,
                    rules.per_week,
                    rules.person_week_default,
                    rules.per_week,
                ]
            add(f"COALESCE(r.n_7d, 0) >= {limit_sql}", Reason.OVER_BUDGET_WEEK, *limit_params)
        if rules.group_per_week is not None:
            add("COALESCE(r.n_group_7d, 0) >= %s", Reason.OVER_GROUP_POLICY, rules.group_per_week)
        add("q.release_at IS NOT NULL", Reason.QUIET_HOURS)
        return f"CASE {' '.join(when)} ELSE %s END", [*params, Reason.WITHIN_BUDGET]

    def _suppression_join(self) -> str:
        """The person's active `AddressSuppression` for their current address, if any:
        at most one row (a unique partial index on user and address), found through it."""
        return (
            f" LEFT JOIN {_table(AddressSuppression)} sp ON sp.user_id = a.user_id "
            f"AND sp.address = LOWER(a.email) AND sp.cleared_at IS NULL"
        )

    def _decision_case(self) -> tuple[str, list[Any]]:
        """CASE x.reason WHEN … THEN decision: the decision each reason leads to."""
        over = self.rules.over_budget_decision
        decision_of = {
            Reason.WITHIN_BUDGET: Decision.SENT,
            Reason.SERVICE: Decision.SENT,
            Reason.QUIET_HOURS: Decision.HELD,
            Reason.OVER_BUDGET_DAY: over,
            Reason.OVER_BUDGET_WEEK: over,
            Reason.OVER_GROUP_POLICY: over,
        }
        sql = " ".join("WHEN %s THEN %s" for _ in decision_of)
        params = [str(value) for pair in decision_of.items() for value in pair]
        return f"CASE x.reason {sql} ELSE %s END", [*params, Decision.SUPPRESSED]

    def _fence(self) -> str:
        """Keeps the planner from merging the per-person subquery into the outer query,
        which would work the reason out again for every column that uses it."""
        return "OFFSET 0" if self.connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"

    def statement(self) -> _Statement:
        """The decision as named subqueries (`ctes`) and the SELECT that uses them."""
        params: list[Any] = [*self.audience_params]
        ctes = [self._audience_cte()]
        joins = self._joins() + self._suppression_join()
        join_params: list[Any] = []
        select_quiet = (
            "CAST(NULL AS timestamptz) AS qr"
            if self.connection.vendor == "postgresql"
            else "NULL AS qr"
        )
        if not self.rules.is_service:
            quiet_sql, quiet_params = self._quiet_values()
            recent_sql, recent_params = self._recent_counts()
            ctes.append(f"quiet(tz, qf, qu, release_at) AS ({quiet_sql})")
            ctes.append(f"recent AS ({recent_sql})")
            params += [*quiet_params, *recent_params]
            _, join_params = self._profile_columns()
            joins += (
                " LEFT JOIN recent r ON r.user_id = a.user_id"
                " LEFT JOIN quiet q ON q.tz = COALESCE(pr.time_zone, %s)"
                " AND q.qf = COALESCE(pr.quiet_from, %s) AND q.qu = COALESCE(pr.quiet_until, %s)"
            )
            select_quiet = "q.release_at AS qr"
            consent = self._consent_cte()
            if consent is not None:
                ctes.append(f"consent_now AS ({consent[0]})")
                params += consent[1]
                joins += " LEFT JOIN consent_now cc ON cc.user_id = a.user_id"
        reason_sql, reason_params = self._reason_case()
        decision_sql, decision_params = self._decision_case()
        inner = (
            f"SELECT a.user_id AS user_id, a.email AS address, {reason_sql} AS reason, "  # noqa: S608
            f"{select_quiet} FROM audience a {joins} {self._fence()}"
        )
        select = (
            f"SELECT x.user_id AS user_id, {decision_sql} AS decision, x.reason AS reason, "  # noqa: S608
            f"CASE WHEN x.reason = %s THEN x.qr ELSE NULL END AS release_at, "
            f"x.address AS address FROM ({inner}) x"
        )
        select_params = [*decision_params, Reason.QUIET_HOURS, *reason_params, *join_params]
        return _Statement(ctes, params, select, select_params)

    def decisions(self) -> tuple[str, list[Any]]:
        """SELECT user_id, decision, reason, release_at, address: one row per person."""
        return self.statement().as_sql()


def _as_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    return time.fromisoformat(str(value))


def _audience_sql(audience: models.QuerySet[Any, Any], using: str) -> tuple[str, Sequence[Any]]:
    """The audience as SQL selecting one column of user ids."""
    query = audience.query
    selected = list(query.values_select) or []
    if not selected and audience.model is User:
        audience = audience.values("pk")
        query = audience.query
    elif len(selected) != 1:
        raise PacingError(
            "The audience is a queryset of user ids: .values('user_id') or a User queryset."
        )
    sql, params = query.get_compiler(using=using).as_sql()
    return sql, params


def audience_of_members(group: Group) -> models.QuerySet[Any, Any]:
    """Every member of `group` (any role), as an audience."""
    from handsup.groups.models import Membership

    return Membership.objects.filter(group=group).values("user_id")


def audience_of_users(users: Iterable[User | int]) -> models.QuerySet[Any, Any]:
    """A small audience named one by one (tests, service mail)."""
    ids = [user if isinstance(user, int) else user.pk for user in users]
    return User.objects.filter(pk__in=ids).values("pk")
