"""What every `handsup bench …` result names: the machine and database it ran on; and
the tidying a benchmark does after its bulk writes."""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Iterable
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
