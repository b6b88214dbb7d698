"""Keep matching's narrow table (`MatchingRow`, one row per volunteer) in step.

Every row is recomputed from the tables it summarises, set-based, by one statement
shape (`_rows_sql`): the person and account, their profile, their skills folded into bit
sets, their latest movement-wide consents to be found, their latest counted ask (sent or
held) and their recorded outcomes. Two entry points:

- `sync_rows(user_ids)`: those accounts' rows, deleted and inserted again in the caller's
  transaction. `index_changes.note_change` calls it for every change to what the row
  holds (User, Person, Profile, PersonSkill, ConsentEvent), so the table commits with
  the change; an invitation's change updates only the outcome counters
  (`sync_outcomes`). Blocks, memberships, dates away and who was invited to which need
  are not in the table (they are per group or per need): the database path reads the
  first two in its query and re-checks everything against the real tables.
- `rebuild_rows()`: everyone, after a bulk load (`index_changes.note_rebuild`): emptied
  and filled by one INSERT … SELECT, people who can do something remotely first, each
  part in location order, so a remote need reads one stretch of the table and an
  on-site need's square a few neighbouring pages. Rows synced since sit wherever there
  was room: a rebuild (e.g. nightly) restores the order.

Asks are written to the ledger by pacing with raw SQL and send no signal: `note_asks`
refreshes `last_asked_at` for the people just asked (one UPDATE). A missed ask only
makes the database path's remote order (least recently asked first) slightly off for
that person: `last_asked_at` is a proxy there, never a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from handsup.accounts.models import User
from handsup.core.statements import Statement, compiled
from handsup.messaging.models import Decision, Kind, LedgerEntry
from handsup.needs.matching import DEFAULT_TRAVEL_RADIUS_KM
from handsup.needs.models import Invitation, MatchingRow
from handsup.people.models import Person, PersonSkill, Profile
from handsup.privacy.consent import user_ids_with_consent
from handsup.privacy.register import PurposeCode

# Skill ids the bit sets hold: two 64-bit words.
SKILL_BITS = 128
WORD_BITS = 64
# Accounts per statement in `sync_rows` (SQLite allows a few hundred parameters safely).
SYNC_CHUNK = 500

# The table's columns, in the order `_rows_sql` selects them.
COLUMNS = (
    "person_id",
    "user_id",
    "eastings",
    "northings",
    "travel_km",
    "availability",
    "skills_lo",
    "skills_hi",
    "level2_lo",
    "level2_hi",
    "level3_lo",
    "level3_hi",
    "level4_lo",
    "level4_hi",
    "remote_lo",
    "remote_hi",
    "active_verified",
    "found_movement",
    "found_my_groups",
    "last_asked_at",
    "outcomes",
    "helped",
)
# (column prefix, condition on a person's skill row) for the bit sets.
_BIT_SETS = (
    ("skills", "1 = 1"),
    ("level2", "ps.level >= 2"),
    ("level3", "ps.level >= 3"),
    ("level4", "ps.level >= 4"),
    ("remote", "ps.remote"),
)


def signed_word(bits: int) -> int:
    """An unsigned 64-bit word as the signed value a BigIntegerField stores (two's
    complement: bit 63 is the sign)."""
    bits &= (1 << WORD_BITS) - 1
    return bits - (1 << WORD_BITS) if bits >> (WORD_BITS - 1) else bits


def skill_words(skill_ids: Iterable[int]) -> tuple[int, int]:
    """The (lo, hi) words with these skills' bits set, as stored (signed)."""
    lo = hi = 0
    for skill_id in skill_ids:
        if 0 <= skill_id < WORD_BITS:
            lo |= 1 << skill_id
        elif WORD_BITS <= skill_id < SKILL_BITS:
            hi |= 1 << (skill_id - WORD_BITS)
    return signed_word(lo), signed_word(hi)


def skills_in_words(lo: int, hi: int) -> set[int]:
    """The skill ids whose bits are set in a stored (lo, hi) pair."""
    return {bit for bit in range(WORD_BITS) if (lo >> bit) & 1} | {
        WORD_BITS + bit for bit in range(WORD_BITS) if (hi >> bit) & 1
    }


def _table(model: Any, using: str) -> str:
    return str(connections[using].ops.quote_name(model._meta.db_table))


def _in_list(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


# Compiled consent subqueries for a few accounts at a time, keyed by (database, purpose,
# how many accounts), with stand-in ids where the accounts go. Every save of a person's
# data syncs their row, and compiling the subquery through the ORM cost more than the
# sync's own statements.
_CONSENT_SQL: dict[tuple[str, str, int], Statement] = {}
_CACHED_UP_TO = 8


def _consent_sql(code: str, using: str, user_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    """The ids of everyone (of `user_ids`) whose latest event for `code` gives consent."""

    def given(ids: Sequence[int] | None) -> Any:
        everyone = user_ids_with_consent(code).using(using)
        return everyone if ids is None else everyone.filter(user_id__in=list(ids))

    if user_ids is None or len(user_ids) > _CACHED_UP_TO:
        return compiled(given(user_ids), using)
    key = (using, code, len(user_ids))
    statement = _CONSENT_SQL.get(key)
    if statement is None:
        statement = Statement.build(given, len(user_ids), using)
        if statement is None:
            return compiled(given(user_ids), using)
        _CONSENT_SQL[key] = statement
    return statement.fill(user_ids)


def _rows_sql(using: str, user_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    """SELECT the table's rows (in `COLUMNS` order) for these accounts (None: everyone)."""
    vendor = connections[using].vendor
    # PostgreSQL sums bigints into numerics; its BIT_OR stays in 64 bits. SQLite has no
    # BIT_OR, but a person holds each skill once, so their bits are distinct and a SUM
    # never overflows (bit 63 adds -2**63 to a sum of smaller powers of two).
    fold = "BIT_OR" if vendor == "postgresql" else "SUM"
    one = "CAST(1 AS BIGINT)"
    bit_columns = []
    for prefix, condition in _BIT_SETS:
        bit_columns += [
            f"{fold}(CASE WHEN ps.skill_id < {WORD_BITS} AND {condition} "
            f"THEN {one} << CAST(ps.skill_id AS INTEGER) ELSE 0 END) AS {prefix}_lo",
            f"{fold}(CASE WHEN ps.skill_id >= {WORD_BITS} AND ps.skill_id < {SKILL_BITS} "
            f"AND {condition} THEN {one} << CAST(ps.skill_id - {WORD_BITS} AS INTEGER) ELSE 0 END) "
            f"AS {prefix}_hi",
        ]
    params: list[Any] = []

    def scoped(column: str) -> str:
        if user_ids is None:
            return "1 = 1"
        sql, more = _in_list(column, user_ids)
        params.extend(more)
        return sql

    def consent(code: str) -> str:
        sql, more = _consent_sql(code, using, user_ids)
        params.extend(more)
        return sql

    person = _table(Person, using)
    # Each derived table in the order its parameters appear in the statement.
    # Every name below is a quoted table name; every value a parameter.
    skills_sql = (
        f"SELECT ps.person_id, {', '.join(bit_columns)} "  # noqa: S608
        f"FROM {_table(PersonSkill, using)} ps "
        f"WHERE ps.person_id IN (SELECT id FROM {person} WHERE {scoped('user_id')}) "
        "GROUP BY ps.person_id"
    )
    movement_sql = consent(PurposeCode.FOUND_MOVEMENT)
    my_groups_sql = consent(PurposeCode.FOUND_MY_GROUPS)
    params += [Kind.ASK, Decision.SENT, Decision.HELD]
    asks_sql = (
        "SELECT l.user_id, MAX(l.at) AS last_asked_at "  # noqa: S608
        f"FROM {_table(LedgerEntry, using)} l WHERE l.kind = %s AND l.decision IN (%s, %s) "
        f"AND {scoped('l.user_id')} GROUP BY l.user_id"
    )
    params.append(Invitation.Status.ACCEPTED)
    outcomes_sql = (
        "SELECT i.user_id, COUNT(*) AS outcomes, "  # noqa: S608
        "SUM(CASE WHEN i.helped THEN 1 ELSE 0 END) AS helped "
        f"FROM {_table(Invitation, using)} i WHERE i.status = %s AND i.helped IS NOT NULL "
        f"AND {scoped('i.user_id')} GROUP BY i.user_id"
    )
    selected = [
        "p.id",
        "p.user_id",
        "p.eastings",
        "p.northings",
        f"COALESCE(pr.travel_radius_km, {int(DEFAULT_TRAVEL_RADIUS_KM)})",
        "COALESCE(pr.availability, 0)",
        *[f"COALESCE(s.{prefix}_{word}, 0)" for prefix, _ in _BIT_SETS for word in ("lo", "hi")],
        "(u.is_active AND p.verified)",
        "(fm.user_id IS NOT NULL)",
        "(fg.user_id IS NOT NULL)",
        "a.last_asked_at",
        "COALESCE(o.outcomes, 0)",
        "COALESCE(o.helped, 0)",
    ]
    sql = (
        f"SELECT {', '.join(selected)} FROM {person} p "  # noqa: S608
        f"JOIN {_table(User, using)} u ON u.id = p.user_id "
        f"LEFT JOIN {_table(Profile, using)} pr ON pr.person_id = p.id "
        f"LEFT JOIN ({skills_sql}) s ON s.person_id = p.id "
        f"LEFT JOIN ({movement_sql}) fm ON fm.user_id = p.user_id "
        f"LEFT JOIN ({my_groups_sql}) fg ON fg.user_id = p.user_id "
        f"LEFT JOIN ({asks_sql}) a ON a.user_id = p.user_id "
        f"LEFT JOIN ({outcomes_sql}) o ON o.user_id = p.user_id "
        f"WHERE {scoped('p.user_id')}"
    )
    return sql, params


# People who can do something remotely first (the remote index's stretch), then by place.
_REMOTE_FIRST = (
    "(CASE WHEN COALESCE(s.remote_lo, 0) = 0 AND COALESCE(s.remote_hi, 0) = 0 THEN 1 ELSE 0 END)"
)


def _insert_sql(using: str, select_sql: str) -> str:
    columns = ", ".join(COLUMNS)
    return f"INSERT INTO {_table(MatchingRow, using)} ({columns}) {select_sql}"


def sync_rows(user_ids: Iterable[int | None], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Recompute these accounts' rows from the source tables (a deleted person's row
    goes), in the caller's transaction."""
    wanted = sorted({user_id for user_id in user_ids if user_id is not None})
    if not wanted:
        return
    table = _table(MatchingRow, using)
    person = _table(Person, using)
    with connections[using].cursor() as cursor:
        for start in range(0, len(wanted), SYNC_CHUNK):
            chunk = wanted[start : start + SYNC_CHUNK]
            by_user, ids = _in_list("user_id", chunk)
            # By account, and by person too: a person given a (new) account keeps its key.
            cursor.execute(
                f"DELETE FROM {table} WHERE {by_user} "  # noqa: S608
                f"OR person_id IN (SELECT id FROM {person} WHERE {by_user})",
                ids + ids,
            )
            select_sql, params = _rows_sql(using, chunk)
            cursor.execute(_insert_sql(using, select_sql), params)


def rebuild_rows(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """Recompute every row (after a bulk load); returns how many there are."""
    connection = connections[using]
    table = _table(MatchingRow, using)
    select_sql, params = _rows_sql(using, None)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Emptied at once (the transaction holds the table); filled in location order
            # so the rows of one square sit on neighbouring pages.
            cursor.execute(f"TRUNCATE {table}")
        else:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        cursor.execute(
            _insert_sql(
                using, f"{select_sql} ORDER BY {_REMOTE_FIRST}, p.eastings, p.northings, p.id"
            ),
            params,
        )
        count = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")
    return int(count)


def note_asks(user_ids: Iterable[int], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Bring `last_asked_at` up to date for people just asked (pacing writes the ledger
    with raw SQL, which no signal sees): one UPDATE per chunk of accounts."""
    wanted = sorted(set(user_ids))
    table = _table(MatchingRow, using)
    ledger = _table(LedgerEntry, using)
    with connections[using].cursor() as cursor:
        for start in range(0, len(wanted), SYNC_CHUNK):
            chunk = wanted[start : start + SYNC_CHUNK]
            by_user, ids = _in_list("user_id", chunk)
            cursor.execute(
                f"UPDATE {table} SET last_asked_at = ("  # noqa: S608
                f"SELECT MAX(l.at) FROM {ledger} l WHERE l.user_id = {table}.user_id "
                f"AND l.kind = %s AND l.decision IN (%s, %s)) WHERE {by_user}",
                [Kind.ASK, Decision.SENT, Decision.HELD, *ids],
            )


def sync_outcomes(user_ids: Iterable[int], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Bring `outcomes` and `helped` up to date for these accounts (an invitation of
    theirs changed): one UPDATE per chunk of accounts."""
    wanted = sorted(set(user_ids))
    table = _table(MatchingRow, using)
    invitations = _table(Invitation, using)
    counted = (
        f"FROM {invitations} i WHERE i.user_id = {table}.user_id "
        "AND i.status = %s AND i.helped IS NOT NULL"
    )
    with connections[using].cursor() as cursor:
        for start in range(0, len(wanted), SYNC_CHUNK):
            chunk = wanted[start : start + SYNC_CHUNK]
            by_user, ids = _in_list("user_id", chunk)
            cursor.execute(
                f"UPDATE {table} SET outcomes = (SELECT COUNT(*) {counted}), "  # noqa: S608
                f"helped = (SELECT COUNT(*) {counted} AND i.helped) WHERE {by_user}",
                [Invitation.Status.ACCEPTED, Invitation.Status.ACCEPTED, *ids],
            )
