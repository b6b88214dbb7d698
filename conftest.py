"""Fixtures every test in the project can use, wherever it lives."""

from handsup.places.testing import places, places_loaded
from tests.fixtures import Cast, cast

__all__ = ["Cast", "cast", "places", "places_loaded"]


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Leave out (reported as deselected, never skipped): tests marked `slow` (minutes
    each) unless asked for by name, e.g. `pytest -m slow`; and tests marked `postgresql`
    or `pgcluster` (a throwaway PostgreSQL cluster of the test's own) when the run is on
    SQLite. A `pgcluster` test that can't make its cluster on PostgreSQL fails, never skips."""
    from django.db import connection

    asked_for_slow = "slow" in (config.getoption("markexpr") or "")
    on_sqlite = connection.vendor != "postgresql"

    def left_out(item) -> bool:  # type: ignore[no-untyped-def]
        if item.get_closest_marker("slow") and not asked_for_slow:
            return True
        only_on_postgresql = item.get_closest_marker("postgresql") or item.get_closest_marker(
            "pgcluster"
        )
        return bool(only_on_postgresql and on_sqlite)

    dropped = [item for item in items if left_out(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not left_out(item)]
