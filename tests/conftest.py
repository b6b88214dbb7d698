"""Kept for imports of `tests.conftest.Cast`; the fixtures live in tests/fixtures.py."""

from tests.fixtures import Cast

__all__ = ["Cast"]
