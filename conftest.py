"""Fixtures every test in the project can use, wherever it lives."""

from handsup.places.testing import places, places_loaded
from tests.fixtures import Cast, cast

__all__ = ["Cast", "cast", "places", "places_loaded"]
