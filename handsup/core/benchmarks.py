"""What every `handsup bench …` result names: the machine and database it ran on."""

from __future__ import annotations

import os
import platform
import sqlite3
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections


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
