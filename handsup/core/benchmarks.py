"""What every `handsup bench …` result names: the machine and database it ran on; the
tidying a benchmark does after its bulk writes; and the running commentary it gives while
it works (`step`), so that a run of several minutes shows it is alive."""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from io import TextIOBase
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


def machine(using: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            row = cursor.fetchone()
            version = f"PostgreSQL {row[0] if row else '?'}"
    else:
        version = f"SQLite {sqlite3.sqlite_version}"
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "database": connection.vendor,
        "database_version": version,
    }


def tidy_tables(
    models: Iterable[type[Model]], *, vacuum: bool, using: str = DEFAULT_DB_ALIAS
) -> None:
    """On PostgreSQL, what autovacuum would do in time after a benchmark's bulk writes or
    deletes: fresh statistics (`ANALYZE`), and with `vacuum` the dead rows cleared and the
    new rows' hint bits set too (`VACUUM (ANALYZE)`). VACUUM can't run inside a
    transaction (a test's), so there `vacuum` does nothing at all. Nothing elsewhere."""
    connection = connections[using]
    if connection.vendor != "postgresql" or (vacuum and connection.in_atomic_block):
        return
    command = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")


# Where `step` writes, and when the run started; nowhere unless a command says so.
_steps: ContextVar[tuple[TextIOBase, float] | None] = ContextVar("benchmark_steps", default=None)


@contextmanager
def steps_to(out: TextIOBase) -> Iterator[None]:
    """While this lasts, `step` writes each step to `out` (the command's stderr, so that
    `--json` output stays one JSON object)."""
    token = _steps.set((out, time.perf_counter()))
    try:
        yield
    finally:
        _steps.reset(token)


def step(text: str) -> None:
    """Say what the benchmark starts doing now, with the time since the run began.

    Only the untimed parts' length is news to an operator (building a world of half a
    million people, removing it); the timed parts are in the results. Says nothing when
    no command asked for the steps (tests, other callers)."""
    current = _steps.get()
    if current is None:
        return
    out, started = current
    out.write(f"[{time.perf_counter() - started:6.1f} s] {text}\n")
    out.flush()
