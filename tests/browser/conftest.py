"""Browser journeys: Chromium through Playwright against pytest-django's live server.

Every test here must carry the `browser` marker (set `pytestmark` in the module), so
that `-m "not browser"` can leave them out; collection fails if one is missing.
Pages are visited through the `journey` fixture, which axe-checks each one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.browser.journey import Journey

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# the database calls that fixtures make next to it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

BROWSER_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if BROWSER_DIR in Path(str(item.path)).parents
        and item.get_closest_marker("browser") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "Tests in tests/browser must be marked browser (pytestmark = "
            "pytest.mark.browser): " + ", ".join(unmarked)
        )


def chromium_executable() -> str | None:
    """settings.CHROMIUM_PATH, else the system's Chromium, else Playwright's own."""
    configured = getattr(settings, "CHROMIUM_PATH", "")
    if configured:
        return str(configured)
    return shutil.which("chromium") or shutil.which("chromium-browser")


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # Teardown reads this: a journey that already failed need not also report the
    # page it stopped on as unchecked.
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(transactional_db: None) -> Iterator[None]:
    # allauth's rate limits live in the (database) cache; journeys log in many times.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def new_journey(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Journey]]:
    """Open a fresh browser (own cookies) for one person; several may run side by side."""
    base_url = live_server.url
    opened: list[tuple[Journey, BrowserContext]] = []

    def open_journey(*, width: int = 1024, height: int = 768) -> Journey:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
        context.set_default_timeout(15_000)
        journey = Journey(page=context.new_page(), base_url=base_url)
        opened.append((journey, context))
        return journey

    yield open_journey
    try:
        if not request.node.stash.get(_CALL_FAILED, False):
            for journey, _context in opened:
                journey.assert_all_checked()
    finally:
        for _journey, context in opened:
            context.close()


@pytest.fixture
def journey(new_journey: Callable[..., Journey]) -> Journey:
    return new_journey()
