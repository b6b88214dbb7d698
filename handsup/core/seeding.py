"""The synthetic movement (`handsup seed`) and the one place each app extends it.

`handsup seed --volunteers N --seed S` runs every registered *seed step* in order, so one
command always builds the whole current product at national size. To add your app's data,
register a step from your AppConfig.ready::

    from handsup.core.seeding import SeedStep, register_seed_step

    register_seed_step(
        SeedStep(name="skills", build=build_skills, reset=reset_skills, after=("people",))
    )

The rules a step follows:

* `build(context)` writes its rows set-based: `context.bulk_insert(...)` (COPY on
  PostgreSQL, `executemany` in one large transaction on SQLite), never a row at a time
  through the ORM. It runs in its own transaction and returns a one-line summary.
* All randomness comes from `context.rng(step name)`: a numpy Generator seeded from the
  run's seed and the step's name, so the same seed gives the same rows, and adding a step
  never changes what the other steps make. Timestamps count back from `context.epoch`,
  never from now.
* Steps hand results to later steps through `context.artifacts` (the people step leaves
  a `SeededPeople` of numpy arrays there), so a later step need not read them back.
* Seeded rows are marked (e.g. `Person.seeded`), and `reset(context)` deletes exactly
  what `build` made, set-based. Resets run in reverse order, before any build.
* Steps never touch the personas (`core/personas.py`): those belong to `demo_data`.
"""

from __future__ import annotations

import gc
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, Protocol

import numpy as np
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from tqdm import tqdm

# Seeded timestamps count back from here, so a rerun next year makes the same rows.
SEED_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# Rows per executemany call (SQLite) or between progress updates (COPY).
BULK_BATCH = 20_000


class SeedError(Exception):
    """A seed cannot run as asked (e.g. no postcodes loaded); the message says why."""


def progress_bar(total: int | None, desc: str, unit: str = "rows") -> tqdm[Any]:
    """A tqdm bar on stderr that switches itself off when stderr is not a terminal."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr, disable=None)


def _column(model: type[models.Model], field_name: str) -> str:
    column = getattr(model._meta.get_field(field_name), "column", None)
    if not isinstance(column, str):
        raise ValueError(f"{model.__name__}.{field_name} is not a database column.")
    return column


class Writer(Protocol):
    """Where seeding reports progress in words: a file, or a command's stdout."""

    def write(self, msg: str, /) -> Any: ...


def bulk_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    using: str = DEFAULT_DB_ALIAS,
    progress: tqdm[Any] | None = None,
) -> int:
    """Insert rows of database-ready values into `model`'s table; return how many.

    `fields` are model field names (`user` or `user_id` for a foreign key); each row holds
    values as the database stores them: ints, strings, bools, None, and timestamps from
    `db_timestamps`. PostgreSQL gets one COPY; other databases get `executemany` in
    batches, which is fast on SQLite inside the caller's transaction.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(_column(model, name)) for name in fields)
    count = 0
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
                if progress is not None and count % BULK_BATCH == 0:
                    progress.update(BULK_BATCH)
        if progress is not None:
            progress.update(count % BULK_BATCH)
        return count
    placeholders = ", ".join(["%s"] * len(fields))
    statement = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 (quoted names)
    with connection.cursor() as cursor:
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BULK_BATCH:
                cursor.executemany(statement, batch)
                count += len(batch)
                if progress is not None:
                    progress.update(len(batch))
                batch = []
        if batch:
            cursor.executemany(statement, batch)
            count += len(batch)
            if progress is not None:
                progress.update(len(batch))
    return count


def reserve_ids(model: type[models.Model], count: int, *, using: str = DEFAULT_DB_ALIAS) -> Any:
    """Reserve `count` primary keys of `model` for rows about to be bulk-inserted.

    Returns an int64 numpy array. On PostgreSQL the ids come from the table's sequence
    (safe alongside other writers); on SQLite, the caller's write transaction holds the
    database lock, so the ids after the highest ever used are free.
    """
    connection = connections[using]
    table = model._meta.db_table
    pk_column = _column(model, model._meta.pk.name) if model._meta.pk else "id"
    if count == 0:
        return np.empty(0, dtype=np.int64)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT array_agg(nextval(pg_get_serial_sequence(%s, %s))) "
                "FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), pk_column, count],
            )
            return np.sort(np.asarray(cursor.fetchone()[0], dtype=np.int64))
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({quote(pk_column)}), 0) FROM {quote(table)}")  # noqa: S608
        highest = cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            # AUTOINCREMENT tables never reuse ids of deleted rows: respect that.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            if row is not None:
                highest = max(highest, row[0])
    return np.arange(highest + 1, highest + 1 + count, dtype=np.int64)


def db_timestamps(
    seconds_before_epoch: Any, *, epoch: datetime = SEED_EPOCH, using: str = DEFAULT_DB_ALIAS
) -> list[str]:
    """Timestamps `seconds_before_epoch` (an int array) before `epoch`, as stored values.

    Formatted in bulk with numpy; SQLite stores naive UTC text the way Django writes it
    (so string comparisons in SQL still order correctly), PostgreSQL gets an explicit
    UTC offset.
    """
    seconds = np.asarray(seconds_before_epoch, dtype="timedelta64[s]")
    if not seconds.size:
        # numpy's string functions size their output by the longest string: of nothing,
        # there is none, so they fail rather than return nothing.
        return []
    base = np.datetime64(epoch.replace(tzinfo=None), "s")
    moments = base - seconds
    text = np.char.replace(np.datetime_as_string(moments, unit="s"), "T", " ")
    if connections[using].vendor == "postgresql":
        text = np.char.add(text, "+00:00")
    return text.tolist()  # type: ignore[no-any-return]


@contextmanager
def bulk_loading(using: str = DEFAULT_DB_ALIAS) -> Iterator[BaseDatabaseWrapper]:
    """Tune the process and connection for loading millions of rows, then put them back.

    Millions of short-lived row tuples set off Python's cyclic garbage collector again
    and again (doubling the time) though none of them can be part of a cycle, so it is
    paused. SQLite's default page cache (2 MB) thrashes while filling several large
    indexes at once, so it gets a bigger one for the duration.
    """
    connection = connections[using]
    connection.ensure_connection()
    collecting = gc.isenabled()
    gc.disable()
    previous_cache = None
    try:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                previous_cache = int(cursor.fetchone()[0])
                cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
        yield connection
    finally:
        if previous_cache is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {previous_cache}")
        if collecting:
            gc.enable()


@contextmanager
def constraints_suspended(
    *models_: type[models.Model],
    own: bool = True,
    incoming: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> Iterator[None]:
    """Suspend the tables' indexes and constraints for a bulk write; restore them after.

    PostgreSQL's own advice for bulk loading: keeping half a dozen B-trees and a
    foreign-key check up to date row by row is several times slower than building them
    afterwards, in bulk, and validating each key in one pass. `own` drops the tables'
    secondary indexes, unique constraints and outgoing foreign keys (for inserts);
    `incoming` drops other tables' foreign keys pointing at them (for deletes, each of
    which would otherwise probe every referencing table). Primary keys stay.

    Must run inside a transaction, which holds the tables locked until it ends; an error
    rolls everything back. On SQLite only explicitly created indexes can be dropped (a
    UNIQUE column's automatic index cannot), and foreign keys are left alone.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("constraints_suspended() needs a transaction (transaction.atomic).")
    quote = connection.ops.quote_name
    restore_indexes: list[str] = []
    restore_constraints: list[str] = []
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            # Check keys already written in this transaction now: PostgreSQL refuses to
            # alter a table with foreign-key checks still queued for commit.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for model in models_:
            table = model._meta.db_table
            if postgresql:
                cursor.execute(
                    """
                    SELECT con.conrelid::regclass::text, con.conname,
                           pg_get_constraintdef(con.oid)
                    FROM pg_constraint con
                    WHERE (%s AND con.conrelid = %s::regclass AND con.contype IN ('u', 'f'))
                       OR (%s AND con.confrelid = %s::regclass AND con.contype = 'f')
                    ORDER BY con.contype DESC, con.conname
                    """,
                    [own, table, incoming, table],
                )
                for owner, name, definition in cursor.fetchall():
                    cursor.execute(f"ALTER TABLE {owner} DROP CONSTRAINT {quote(name)}")
                    restore_constraints.append(
                        f"ALTER TABLE {owner} ADD CONSTRAINT {quote(name)} {definition}"
                    )
                if own:
                    cursor.execute(
                        """
                        SELECT cls.relname, pg_get_indexdef(ind.indexrelid)
                        FROM pg_index ind JOIN pg_class cls ON cls.oid = ind.indexrelid
                        WHERE ind.indrelid = %s::regclass AND NOT ind.indisprimary
                        """,
                        [table],
                    )
                    for name, definition in cursor.fetchall():
                        cursor.execute(f"DROP INDEX {quote(name)}")
                        restore_indexes.append(definition)
            elif connection.vendor == "sqlite" and own:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"DROP INDEX {quote(name)}")
                    restore_indexes.append(definition)
        if postgresql:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    yield
    with connection.cursor() as cursor:
        # Indexes first: re-adding a unique constraint builds its own, and validating a
        # foreign key is faster once the referencing columns are indexed again.
        for statement in restore_indexes + restore_constraints:
            cursor.execute(statement)
        if postgresql:
            # Back to Django's default: every foreign key is checked at commit.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@dataclass
class SeedContext:
    """What every seed step gets: the run's parameters and the bulk-loading tools."""

    seed: int
    volunteers: int
    using: str = DEFAULT_DB_ALIAS
    epoch: datetime = SEED_EPOCH
    show_progress: bool | None = None  # None: only when stderr is a terminal
    artifacts: dict[str, Any] = field(default_factory=dict)

    @property
    def vendor(self) -> str:
        return connections[self.using].vendor

    def rng(self, name: str) -> np.random.Generator:
        """The step's own random stream: fixed by the seed and the step's name."""
        sequence = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()),))
        return np.random.Generator(np.random.PCG64(sequence))

    def progress(self, total: int | None, desc: str, unit: str = "rows") -> tqdm[Any]:
        bar = progress_bar(total, desc, unit)
        if self.show_progress is False:
            bar.disable = True
        return bar

    def bulk_insert(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        total: int | None = None,
        desc: str | None = None,
    ) -> int:
        with self.progress(total, desc or str(model._meta.verbose_name_plural)) as bar:
            return bulk_insert(model, fields, rows, using=self.using, progress=bar)

    def constraints_suspended(
        self, *models_: type[models.Model], own: bool = True, incoming: bool = False
    ) -> AbstractContextManager[None]:
        return constraints_suspended(*models_, own=own, incoming=incoming, using=self.using)

    def reserve_ids(self, model: type[models.Model], count: int) -> Any:
        return reserve_ids(model, count, using=self.using)

    def timestamps(self, seconds_before_epoch: Any) -> list[str]:
        return db_timestamps(seconds_before_epoch, epoch=self.epoch, using=self.using)


@dataclass(frozen=True)
class SeedStep:
    name: str
    build: Callable[[SeedContext], str]
    reset: Callable[[SeedContext], str] | None = None
    after: tuple[str, ...] = ()


_registry: dict[str, SeedStep] = {}


def register_seed_step(step: SeedStep) -> None:
    """Add (or replace, by name) a step. Call from AppConfig.ready."""
    _registry[step.name] = step


def seed_steps() -> list[SeedStep]:
    """Registered steps, each after the steps it names in `after`.

    Ties keep registration order, which follows INSTALLED_APPS.
    """
    ordered: list[SeedStep] = []
    placed: set[str] = set()
    pending = list(_registry.values())
    for step in pending:
        missing = set(step.after) - set(_registry)
        if missing:
            raise ImproperlyConfigured(
                f"Seed step {step.name!r} runs after unregistered steps: {sorted(missing)}"
            )
    while pending:
        ready = [step for step in pending if placed.issuperset(step.after)]
        if not ready:
            names = sorted(step.name for step in pending)
            raise ImproperlyConfigured(f"Seed steps depend on each other in a cycle: {names}")
        for step in ready:
            ordered.append(step)
            placed.add(step.name)
        pending = [step for step in pending if step.name not in placed]
    return ordered


@dataclass(frozen=True)
class StepReport:
    name: str
    summary: str
    seconds: float


def reset_seed(context: SeedContext, *, out: Writer | None = None) -> list[StepReport]:
    """Delete every seeded row: each step's reset, in reverse order, in one transaction."""
    reports: list[StepReport] = []
    with bulk_loading(context.using), transaction.atomic(using=context.using):
        for step in reversed(seed_steps()):
            if step.reset is None:
                continue
            started = time.monotonic()
            summary = step.reset(context)
            reports.append(StepReport(step.name, summary, time.monotonic() - started))
            if out is not None:
                out.write(f"reset {step.name}: {summary} ({reports[-1].seconds:.1f} s)\n")
    return reports


def run_seed(context: SeedContext, *, out: Writer | None = None) -> list[StepReport]:
    """Build the movement: every step in order, each in its own transaction."""
    reports: list[StepReport] = []
    with bulk_loading(context.using):
        for step in seed_steps():
            started = time.monotonic()
            with transaction.atomic(using=context.using):
                summary = step.build(context)
            reports.append(StepReport(step.name, summary, time.monotonic() - started))
            if out is not None:
                out.write(f"{step.name}: {summary} ({reports[-1].seconds:.1f} s)\n")
    return reports


def column_rows(count: int, *columns: Any, chunk: int = 50_000) -> Iterator[tuple[Any, ...]]:
    """Rows for `bulk_insert`, made `chunk` at a time from column-wise values: a numpy
    array, a function of (start, stop) giving a list, or one value for every row."""
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        parts: list[Any] = []
        for column in columns:
            if isinstance(column, np.ndarray):
                parts.append(column[start:stop].tolist())
            elif callable(column):
                parts.append(column(start, stop))
            else:
                parts.append(repeat(column, stop - start))
        yield from zip(*parts, strict=True)
