"""The journey harness itself must catch what it promises to catch."""

from __future__ import annotations

import pytest
from playwright.sync_api import Route

from tests.browser.journey import (
    AccessibilityViolation,
    ContentSecurityPolicyViolation,
    Journey,
)

pytestmark = pytest.mark.browser

# The site's own policy, as the live server sends it (no 'unsafe-inline').
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"


def serve(journey: Journey, path: str, body: str) -> str:
    """Answer `path` on the live server's origin with `body` under the strict CSP."""
    url = journey.url(path)

    def fulfil(route: Route) -> None:
        route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": STRICT_CSP},
            body=body,
        )

    journey.page.route(url, fulfil)
    return url


PAGE = (
    '<!doctype html><html lang="en"><head><title>Harness</title></head>'
    "<body><main><h1>Harness</h1>{}</main></body></html>"
)


def test_a_serious_accessibility_problem_fails_the_check(journey: Journey) -> None:
    # An unlabelled text box is a "critical" axe violation.
    url = serve(journey, "/harness/unlabelled/", PAGE.format('<input type="text">'))
    with pytest.raises(AccessibilityViolation, match=r"label \(critical\)"):
        journey.visit(url)
    # The failing page stays unchecked; forget it so teardown judges only what follows.
    journey.loads.clear()
    journey.page.unroute(url)
    journey.visit("/")


def test_a_script_blocked_by_the_csp_fails_the_check(journey: Journey) -> None:
    url = serve(
        journey, "/harness/inline-script/", PAGE.format("<script>document.title = 'x'</script>")
    )
    with pytest.raises(ContentSecurityPolicyViolation, match="Content Security Policy"):
        journey.visit(url)
    # The failing page stays unchecked; forget it so teardown judges only what follows.
    journey.loads.clear()
    journey.page.unroute(url)
    journey.visit("/")


def test_a_page_loaded_without_a_check_is_reported(journey: Journey) -> None:
    journey.visit("/")
    journey.page.goto(journey.url("/about/"))  # bypasses the harness on purpose
    with pytest.raises(AccessibilityViolation, match="never axe-checked") as raised:
        journey.assert_all_checked()
    assert str(raised.value).endswith("/about/")
    journey.check()
    journey.assert_all_checked()
