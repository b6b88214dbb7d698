"""Fixtures every test in the project can use, wherever it lives."""

from handsup.places.testing import places, places_loaded
from tests.fixtures import Cast, cast

__all__ = ["Cast", "cast", "places", "places_loaded"]


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Tests marked `slow` (minutes each) run only when asked for by name, e.g.
    `pytest -m slow`; every other run leaves them out (reported as deselected)."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
