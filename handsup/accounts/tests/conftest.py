"""A clean rate-limit cache for every accounts test (`cast` comes from the root conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits(db: None) -> Iterator[None]:
    # allauth counts attempts in the cache (a database table here); one test's failed
    # logins must not lock the next test out.
    cache.clear()
    yield
    cache.clear()
