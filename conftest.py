"""Fixtures every test in the project can use, wherever it lives."""

from tests.fixtures import Cast, cast

__all__ = ["Cast", "cast"]
