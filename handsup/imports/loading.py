"""The set-based loader: checked rows go into a staging table, then a few statements.

Rows that passed the Python checks are written to a temporary table on the import's own
connection (`COPY` on PostgreSQL, `executemany` on SQLite), a batch at a time. Then, in
one transaction, a handful of statements decide each row's fate and write everything:

1. duplicates: a second row with an email already used higher up in the file;
2. existing accounts: rows whose email has an account (or a person without one) are
   only counted, as invitations; nothing about the account is read beyond its id;
3. the group's own records: of those, the accounts this group imported and nobody has
   claimed yet are updated instead (unless the person has since left the group);
4. new people: account (unusable password, placeholder email when none), person,
   profile, membership and consent events, each in one `INSERT … SELECT`.

Each new row's random values (public ids, unusable password, placeholder email) are
made in Python as it is staged, from the operating system's random source, as
`secrets` would.

The table is per connection and dropped when the import ends; PostgreSQL temporary
tables don't work through a transaction-pooling proxy (use session pooling for workers).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from handsup.accounts.models import User
from handsup.core.seeding import reserve_ids
from handsup.groups.models import Membership
from handsup.imports.models import ImportedPerson
from handsup.imports.validation import CleanRow
from handsup.people.models import Person, Profile
from handsup.people.offline import PLACEHOLDER_EMAIL_DOMAIN
from handsup.privacy.models import ConsentEvent

NEW = "new"
UPDATE = "update"
EXISTING = "existing"
DUPLICATE = "duplicate"
LEFT = "left"

_COLUMNS = (
    ("row_no", "INTEGER NOT NULL"),
    ("email", "TEXT NOT NULL"),
    ("account_email", "TEXT NOT NULL"),
    ("name", "TEXT NOT NULL"),
    ("postcode", "TEXT NOT NULL"),
    ("district", "TEXT NOT NULL"),
    ("eastings", "INTEGER NULL"),
    ("northings", "INTEGER NULL"),
    ("phone", "TEXT NOT NULL"),
    ("talents", "TEXT NOT NULL"),
    ("user_public_id", "TEXT NOT NULL"),
    ("person_public_id", "TEXT NOT NULL"),
    ("membership_public_id", "TEXT NOT NULL"),
    ("password", "TEXT NOT NULL"),
)
_STAGED = [name for name, _type in _COLUMNS]
_RANDOM_BYTES = 12 * 3 + 30 + 8  # three public ids, a password, a placeholder address


@dataclass(frozen=True)
class Consent:
    """A consent every loaded row gets (those with `needs` non-empty, that value)."""

    purpose_id: int
    wording: str
    needs: str = ""  # a staging column that must be non-empty: "email" or "phone"


@dataclass(frozen=True)
class LoadPlan:
    group_id: int | None
    job_id: int
    recorded_by_id: int | None
    notice_id: int | None
    consents: tuple[Consent, ...]
    now: datetime


class Staging:
    """The temporary table for one import, on one connection."""

    def __init__(self, connection: BaseDatabaseWrapper, job_id: int) -> None:
        self.connection = connection
        self.name = connection.ops.quote_name(f"imports_staging_{job_id}")
        self.postgresql = connection.vendor == "postgresql"
        # SQLite, a first import: new ids are the staging row's position plus these.
        self._offsets: dict[str, int] = {}

    # --- Filling it -------------------------------------------------------------------

    def create(self) -> None:
        columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
        extra = "outcome TEXT NOT NULL DEFAULT 'new', first_row INTEGER NULL, user_id BIGINT NULL"
        if self.postgresql:
            # Ids for the rows that turn out new, taken from the tables' own sequences
            # as each row is copied in (in C, by COPY), so saving needs no pass to find
            # them. Rows that turn out not to be new leave gaps, as sequences do anyway.
            user_seq, person_seq = self._sequence(User), self._sequence(Person)
            extra += (
                f", new_user_id BIGINT NOT NULL DEFAULT nextval('{user_seq}'::regclass)"
                f", new_person_id BIGINT NOT NULL DEFAULT nextval('{person_seq}'::regclass)"
            )
        else:
            extra += ", new_user_id BIGINT NULL, new_person_id BIGINT NULL"
        self._run(f"DROP TABLE IF EXISTS {self.name}")
        self._run(f"CREATE TEMPORARY TABLE {self.name} ({columns}, {extra})")

    def _sequence(self, model: type[models.Model]) -> str:
        """PostgreSQL: the qualified name of the sequence behind `model`'s primary key."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                [_table(model), str(model._meta.pk.column) if model._meta.pk else "id"],
            )
            name = cursor.fetchone()[0]
        if not name or "'" in name:
            raise RuntimeError(f"No usable id sequence for {model.__name__}.")
        return str(name)

    def add(self, rows: Sequence[CleanRow]) -> None:
        if not rows:
            return
        values = list(_staged_values(rows))
        names = ", ".join(_STAGED)
        with self.connection.cursor() as cursor:
            if self.postgresql:
                with cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(_STAGED))
                cursor.executemany(
                    f"INSERT INTO {self.name} ({names}) VALUES ({marks})",  # noqa: S608
                    values,
                )

    def finish_loading(self) -> None:
        """Index the table and (PostgreSQL) gather statistics, which temp tables lack."""
        index = self.connection.ops.quote_name(f"{self.name.strip(chr(34))}_email")
        self._run(f"CREATE INDEX {index} ON {self.name} (email, row_no)")
        if self.postgresql:
            # Only the columns the classifying statements join and filter on: the
            # statistics of the others would cost as much and be used by nothing.
            self._run(f"ANALYZE {self.name} (email, outcome, user_id)")

    def drop(self) -> None:
        self._run(f"DROP TABLE IF EXISTS {self.name}")

    # --- Deciding each row's fate ------------------------------------------------------

    def classify(self, *, group_id: int | None) -> None:
        """Mark duplicates, existing accounts, the group's own records and leavers."""
        s = self.name
        self._run(
            f"UPDATE {s} SET outcome = %s, first_row = f.first_row "  # noqa: S608
            f"FROM (SELECT email, MIN(row_no) AS first_row FROM {s} WHERE email <> '' "
            f"GROUP BY email HAVING COUNT(*) > 1) AS f "
            f"WHERE {s}.email = f.email AND {s}.row_no > f.first_row",
            [DUPLICATE],
        )
        user = _table(User)
        self._run(
            f"UPDATE {s} SET outcome = %s, user_id = u.id FROM {user} AS u "  # noqa: S608
            f"WHERE u.email = {s}.email AND {s}.outcome = %s AND {s}.email <> ''",
            [EXISTING, NEW],
        )
        person = _table(Person)
        self._run(
            f"UPDATE {s} SET outcome = %s FROM {person} AS p "  # noqa: S608
            f"WHERE p.email = {s}.email AND p.user_id IS NULL AND {s}.outcome = %s "
            f"AND {s}.email <> ''",
            [EXISTING, NEW],
        )
        imported = _table(ImportedPerson)
        scope, scope_params = _group_condition("ip.group_id", group_id)
        self._run(
            f"UPDATE {s} SET outcome = %s FROM {imported} AS ip, {user} AS u "  # noqa: S608
            f"WHERE {s}.outcome = %s AND ip.user_id = {s}.user_id AND {scope} "
            f"AND u.id = {s}.user_id AND u.password LIKE %s",
            [UPDATE, EXISTING, *scope_params, "!%"],
        )
        if group_id is not None:
            from handsup.groups.models import Departure

            departure, membership = _table(Departure), _table(Membership)
            self._run(
                f"UPDATE {s} SET outcome = %s FROM {departure} AS d "  # noqa: S608
                f"WHERE {s}.outcome = %s AND d.user_id = {s}.user_id AND d.group_id = %s "
                f"AND NOT EXISTS (SELECT 1 FROM {membership} AS m "
                f"WHERE m.user_id = {s}.user_id AND m.group_id = %s)",
                [LEFT, UPDATE, group_id, group_id],
            )
        if self.postgresql:
            # The planner must know how many rows are new and how many updates, or it
            # may plan the writes below for one row and loop over a whole table.
            self._run(f"ANALYZE {s} (outcome, user_id)")

    def refresh_statistics(self) -> None:
        """PostgreSQL: ANALYZE the tables a large import has just grown, outside its
        transaction. Until autovacuum gets round to it, a re-import straight after a big
        first import would otherwise be planned for the tables as they were."""
        if not self.postgresql:
            return
        # Only the columns an import's statements join and filter on (the rest cost as
        # much to sample and sort): a column list leaves the table due for autovacuum's
        # own full ANALYZE, which brings the other columns up to date in its own time.
        columns = ", ".join(
            f"{_table(model)} ({', '.join(_column(model, name) for name in names)})"
            for model, names in _STATISTICS_FOR_IMPORTS
        )
        self._run(f"ANALYZE {columns}")

    def existing_user_ids(self) -> list[int]:
        """Accounts the file names that the import leaves alone (to be invited instead)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT user_id FROM {self.name} "  # noqa: S608
                "WHERE outcome = %s AND user_id IS NOT NULL",
                [EXISTING],
            )
            return [user_id for (user_id,) in cursor.fetchall()]

    def counts(self) -> dict[str, int]:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT outcome, COUNT(*) FROM {self.name} GROUP BY outcome")  # noqa: S608
            return {outcome: count for outcome, count in cursor.fetchall()}

    def set_aside(self) -> Iterator[tuple[int, str, int | None, list[str]]]:
        """Duplicates and leavers: (row, outcome, first row, staged values) in row order."""
        fields = ["email", "name", "postcode", "phone", "talents"]
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_no, outcome, first_row, {', '.join(fields)} FROM {self.name} "  # noqa: S608
                f"WHERE outcome IN (%s, %s) ORDER BY row_no",
                [DUPLICATE, LEFT],
            )
            while batch := cursor.fetchmany(2000):
                for row_no, outcome, first_row, *values in batch:
                    yield row_no, outcome, first_row, [str(v or "") for v in values]

    # --- Writing ------------------------------------------------------------------------

    def load(self, plan: LoadPlan) -> None:
        """Create the new people and update the group's own records. Caller: one atomic.

        New accounts are inserted without ON CONFLICT: the rows were classified in this
        transaction, so an address can only clash if someone signs up with it in the
        seconds between (PostgreSQL); the import then fails whole and can be run again.
        """
        s = self.name
        now = plan.now
        counts = self.counts()
        if not self.postgresql:
            self._number_new_rows(counts)
        # Statements for outcomes no row has are not run at all. Besides saving time, a
        # first import must not join the accounts it has just inserted: until they are
        # analysed, the planner may think the table nearly empty and scan all of it
        # once per staged row.
        present = {outcome for outcome, count in counts.items() if count}
        new_user, new_person = self._new_id("new_user_id"), self._new_id("new_person_id")
        new = f"{s}.outcome = %s"
        self._insert(
            User,
            {
                "id": new_user,
                "public_id": f"{s}.user_public_id",
                "password": f"{s}.password",
                "email": f"{s}.account_email",
                "full_name": f"{s}.name",
                "date_joined": ("%s", [now]),
            },
            where=new,
            params=[NEW],
        )
        self._insert(
            Person,
            {
                "id": new_person,
                "public_id": f"{s}.person_public_id",
                "user": new_user,
                "display_name": f"{s}.name",
                "postcode": f"{s}.postcode",
                "district": f"{s}.district",
                "eastings": f"{s}.eastings",
                "northings": f"{s}.northings",
                "created_at": ("%s", [now]),
            },
            where=new,
            params=[NEW],
        )
        self._insert(
            Profile,
            {
                "person": new_person,
                "phone": f"{s}.phone",
                "talents": f"{s}.talents",
                "contact_by_email": f"({s}.email <> '')",
                "contact_by_phone": f"({s}.phone <> '')",
                "updated_at": ("%s", [now]),
            },
            where=new,
            params=[NEW],
        )
        if UPDATE in present:
            self._update_own_records(plan)
        if plan.group_id is not None:
            already_member = (
                f" AND NOT EXISTS (SELECT 1 FROM {_table(Membership)} AS m "  # noqa: S608
                f"WHERE m.user_id = {s}.user_id AND m.group_id = %s)"
            )
            for outcome, user_column in ((NEW, new_user), (UPDATE, f"{s}.user_id")):
                if outcome not in present:
                    continue
                self._insert(
                    Membership,
                    {
                        "public_id": f"{s}.membership_public_id",
                        "user": user_column,
                        "group": ("%s", [plan.group_id]),
                        "joined_at": ("%s", [now]),
                    },
                    where=f"{s}.outcome = %s" + (already_member if outcome == UPDATE else ""),
                    params=[outcome, *([plan.group_id] if outcome == UPDATE else [])],
                    # Most own records are still members: they are skipped by the NOT
                    # EXISTS (cheap, through the unique index); the clause catches a race.
                    on_conflict_do_nothing=outcome == UPDATE,
                )
        self._insert(
            ImportedPerson,
            {
                "user": new_user,
                "group": ("%s", [plan.group_id]),
                "job": ("%s", [plan.job_id]),
                "imported_at": ("%s", [now]),
            },
            where=new,
            params=[NEW],
        )
        for consent in plan.consents:
            self._record_consent(plan, consent, present)

    def _number_new_rows(self, counts: dict[str, int]) -> None:
        """SQLite: give the new rows the ids after each table's highest, under the write
        lock this transaction holds, so nobody else can take them.

        When most staged rows are new (a first import), a new row's id is simply the
        highest id plus its row's position in the staging table, with no pass over the
        table; the few rows that aren't new leave gaps, as a sequence would. Otherwise
        (a re-import: mostly updates) the new rows are numbered one after another."""
        s = self.name
        self._offsets = {}
        count = counts.get(NEW, 0)
        if not count:
            return
        alias = self.connection.alias
        if count * 10 >= sum(counts.values()) * 9:
            with self.connection.cursor() as cursor:
                cursor.execute(f"SELECT MAX(rowid) FROM {s}")  # noqa: S608
                last = int(cursor.fetchone()[0])
            self._offsets = {
                "new_user_id": int(reserve_ids(User, last, using=alias)[0]) - 1,
                "new_person_id": int(reserve_ids(Person, last, using=alias)[0]) - 1,
            }
            return
        first_user = int(reserve_ids(User, count, using=alias)[0])
        first_person = int(reserve_ids(Person, count, using=alias)[0])
        self._run(
            f"UPDATE {s} SET new_user_id = %s + r.n, new_person_id = %s + r.n "  # noqa: S608
            f"FROM (SELECT rowid AS rid, ROW_NUMBER() OVER (ORDER BY rowid) - 1 AS n "
            f"FROM {s} WHERE outcome = %s) AS r WHERE {s}.rowid = r.rid",
            [first_user, first_person, NEW],
        )

    def _new_id(self, column: str) -> str:
        """SQL for a new row's id: its staged column, or (SQLite, a first import) its
        position in the staging table after the table's highest id."""
        offset = self._offsets.get(column)
        if offset is None:
            return f"{self.name}.{column}"
        return f"({self.name}.rowid + {int(offset)})"

    def _update_own_records(self, plan: LoadPlan) -> None:
        s = self.name
        user, person, profile = _table(User), _table(Person), _table(Profile)
        own = f"{s}.outcome = %s"
        self._run(
            f"UPDATE {user} SET full_name = {s}.name FROM {s} "  # noqa: S608
            f"WHERE {user}.id = {s}.user_id AND {own} AND {user}.full_name <> {s}.name",
            [UPDATE],
        )
        # A blank cell keeps what we have: a half-filled sheet never erases anything.
        self._run(
            f"UPDATE {person} SET display_name = {s}.name, "  # noqa: S608
            f"postcode = CASE WHEN {s}.district <> '' THEN {s}.postcode "
            f"ELSE {person}.postcode END, "
            f"district = CASE WHEN {s}.district <> '' THEN {s}.district "
            f"ELSE {person}.district END, "
            f"eastings = CASE WHEN {s}.district <> '' THEN {s}.eastings "
            f"ELSE {person}.eastings END, "
            f"northings = CASE WHEN {s}.district <> '' THEN {s}.northings "
            f"ELSE {person}.northings END "
            f"FROM {s} WHERE {person}.user_id = {s}.user_id AND {own} "
            f"AND ({person}.display_name <> {s}.name OR ({s}.district <> '' AND "
            f"({person}.postcode <> {s}.postcode OR {person}.district <> {s}.district)))",
            [UPDATE],
        )
        self._run(
            f"UPDATE {profile} SET "  # noqa: S608
            f"phone = CASE WHEN {s}.phone <> '' THEN {s}.phone ELSE {profile}.phone END, "
            f"talents = CASE WHEN {s}.talents <> '' THEN {s}.talents "
            f"ELSE {profile}.talents END, updated_at = %s "
            f"FROM {s}, {person} AS p WHERE p.id = {profile}.person_id "
            f"AND p.user_id = {s}.user_id AND {own} "
            f"AND (({s}.phone <> '' AND {s}.phone <> {profile}.phone) "
            f"OR ({s}.talents <> '' AND {s}.talents <> {profile}.talents))",
            [self.connection.ops.adapt_datetimefield_value(plan.now), UPDATE],
        )

    def _record_consent(self, plan: LoadPlan, consent: Consent, present: set[str]) -> None:
        """New people get the consent; the group's own records only if they never had
        an event for it, so a consent someone withdrew is never given back by a re-import.
        """
        s = self.name
        event = _table(ConsentEvent)
        scope, scope_params = _group_condition("c.group_id", plan.group_id)
        needs = f" AND {s}.{consent.needs} <> ''" if consent.needs else ""
        never_recorded = (
            f" AND NOT EXISTS (SELECT 1 FROM {event} AS c WHERE c.user_id = {s}.user_id "  # noqa: S608
            f"AND c.purpose_id = %s AND {scope} AND c.channel = '')"
        )
        for outcome, user_column, condition, params in (
            (NEW, self._new_id("new_user_id"), "", []),
            (UPDATE, f"{s}.user_id", never_recorded, [consent.purpose_id, *scope_params]),
        ):
            if outcome not in present:
                continue
            self._insert(
                ConsentEvent,
                {
                    "user": user_column,
                    "purpose": ("%s", [consent.purpose_id]),
                    "group": ("%s", [plan.group_id]),
                    "given": ("%s", [True]),
                    "at": ("%s", [plan.now]),
                    "source": ("%s", [ConsentEvent.Source.IMPORT.value]),
                    "recorded_by": ("%s", [plan.recorded_by_id]),
                    "notice_version": ("%s", [plan.notice_id]),
                    "wording": ("%s", [consent.wording]),
                },
                where=f"{s}.outcome = %s{needs}{condition}",
                params=[outcome, *params],
            )

    # --- Helpers ------------------------------------------------------------------------

    def _insert(
        self,
        model: type[models.Model],
        given: dict[str, str | tuple[str, list[Any]]],
        *,
        where: str,
        params: list[Any],
        on_conflict_do_nothing: bool = False,
    ) -> None:
        """INSERT … SELECT from the staging table into `model`'s table.

        `given` maps field names to SQL over the staging table (or "%s" with a value);
        every other column gets the field's default, as `Model.save()` would.
        """
        connection = self.connection
        quote = connection.ops.quote_name
        columns: list[str] = []
        select: list[str] = []
        select_params: list[Any] = []
        for field in model._meta.local_concrete_fields:
            spec = given.get(field.name)
            if field.primary_key and spec is None:
                continue
            columns.append(quote(str(field.column)))
            if spec is None:
                select.append("%s")
                select_params.append(field.get_db_prep_save(field.get_default(), connection))
            elif isinstance(spec, tuple):
                select.append(spec[0])
                select_params.extend(field.get_db_prep_save(value, connection) for value in spec[1])
            else:
                select.append(spec)
        unknown = set(given) - {f.name for f in model._meta.local_concrete_fields}
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}.")
        conflict = " ON CONFLICT DO NOTHING" if on_conflict_do_nothing else ""
        self._run(
            f"INSERT INTO {_table(model)} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(select)} FROM {self.name} WHERE {where}{conflict}",
            [*select_params, *params],
        )

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, list(params))


_STATISTICS_FOR_IMPORTS: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (User, ("email", "password")),
    (Person, ("user", "email")),
    (Profile, ("person",)),
    (Membership, ("user", "group")),
    (ImportedPerson, ("user", "group")),
    (ConsentEvent, ("user", "purpose", "group", "channel")),
)


def _column(model: type[models.Model], name: str) -> str:
    return f'"{model._meta.get_field(name).column}"'  # type: ignore[union-attr]


def _table(model: type[models.Model]) -> str:
    # PostgreSQL and SQLite quote names alike.
    return f'"{model._meta.db_table}"'


def _group_condition(column: str, group_id: int | None) -> tuple[str, list[Any]]:
    if group_id is None:
        return f"{column} IS NULL", []
    return f"{column} = %s", [group_id]


def _staged_values(rows: Sequence[CleanRow]) -> Iterator[tuple[Any, ...]]:
    # One call to the OS random source per batch, sliced per row: the same entropy
    # `secrets.token_urlsafe` uses, without a system call per value.
    pool = os.urandom(_RANDOM_BYTES * len(rows))
    encode = base64.urlsafe_b64encode
    for index, row in enumerate(rows):
        at = index * _RANDOM_BYTES
        chunk = pool[at : at + _RANDOM_BYTES]
        ids = encode(chunk[:36]).decode()
        password = "!" + encode(chunk[36:66]).decode()
        account_email = row.email or (f"unclaimed-{chunk[66:74].hex()}@{PLACEHOLDER_EMAIL_DOMAIN}")
        yield (
            row.row,
            row.email,
            account_email,
            row.name,
            row.postcode,
            row.district,
            row.eastings,
            row.northings,
            row.phone,
            row.talents,
            ids[0:16],
            ids[16:32],
            ids[32:48],
            password,
        )
