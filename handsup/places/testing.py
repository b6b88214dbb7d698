"""Test fixtures: a few postcode areas, loaded once per test run (per xdist worker).

The project's root conftest.py offers them to every test. `places_loaded` fills the test
database once per session, outside any test's transaction; `places` is what a test asks
for: it also reloads (inside that test's transaction) if a transactional test has
flushed the tables since.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handsup.places.loading import load_postcodes
from handsup.places.models import Postcode, PostcodeDistrict

# Manchester and Cardiff (the demo groups), three London areas and three Highland ones:
# about 92,000 postcodes, about a second to load.
TEST_AREAS = ("CF", "EC", "HS", "IV", "KW", "M", "SW", "WC")


def ensure_test_places() -> None:
    loaded = set(
        PostcodeDistrict.objects.filter(area__in=TEST_AREAS)
        .values_list("area", flat=True)
        .distinct()
    )
    if loaded != set(TEST_AREAS) or not Postcode.objects.exists():
        load_postcodes(areas=TEST_AREAS, show_progress=False)


@pytest.fixture(scope="session")
def places_loaded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        ensure_test_places()
    yield


@pytest.fixture
def places(places_loaded: None, db: None) -> None:
    ensure_test_places()
