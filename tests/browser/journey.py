"""A Playwright page that cannot leave a page unchecked.

Every document the browser loads in a journey must pass an axe check before the test
ends, and no page may log a Content Security Policy violation. Tests move through the
site with `visit`, `click` and `submit`, which check each page as it arrives; anything
loaded another way (a redirect chain, a link followed with the raw Playwright page)
is still recorded, and the fixture's teardown fails the test if it was never checked.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Locator, Page

# axe reports four impacts; these two block people from using a page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})

_axe = Axe()


class AccessibilityViolation(AssertionError):
    pass


class ContentSecurityPolicyViolation(AssertionError):
    pass


def format_violations(url: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"axe found {len(violations)} serious or critical problem(s) on {url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f"\n  {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            lines.append(f"    at {target}\n      {summary}")
            lines.append(f"      html: {node.get('html', '')[:300]}")
    return "\n".join(lines)


def is_csp_message(text: str) -> bool:
    return "content security policy" in text.lower()


@dataclass
class Load:
    url: str
    checked: bool = False


@dataclass
class Journey:
    """One person's browser tab, with an axe check on every page it loads."""

    page: Page
    base_url: str
    loads: list[Load] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("domcontentloaded", self._record_load)
        self.page.on("console", self._record_console)
        self.page.on("pageerror", self._record_page_error)

    # --- moving around -----------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def visit(self, path: str) -> Page:
        self.page.goto(self.url(path))
        return self.check()

    def click(self, target: Locator | str) -> Page:
        """Follow a link or press a button, then check the page it leads to."""
        locator = self._locate(target)
        locator.click()
        return self.check()

    def submit(self, button_name: str | re.Pattern[str]) -> Page:
        """Press the form button with this accessible name; check the resulting page."""
        return self.click(self.page.get_by_role("button", name=button_name))

    def fill(self, label: str | re.Pattern[str], value: str) -> None:
        self.page.get_by_label(label, exact=isinstance(label, str)).fill(value)

    # --- checks ------------------------------------------------------------------------

    def check(self) -> Page:
        """Run axe on the current document and fail on serious or critical problems."""
        self.page.wait_for_load_state("load")
        self._raise_script_errors()
        results = _axe.run(self.page)
        blocking = [
            violation
            for violation in results.response["violations"]
            if violation.get("impact") in BLOCKING_IMPACTS
        ]
        if blocking:
            raise AccessibilityViolation(format_violations(self.page.url, blocking))
        current = self._current_load()
        if current is None or current.url != self.page.url:
            # Same-document moves (following an error summary's #field link) change
            # the address without loading a document; record what was checked.
            current = Load(url=self.page.url)
            self.loads.append(current)
        current.checked = True
        return self.page

    def assert_all_checked(self) -> None:
        self._raise_script_errors()
        unchecked = [load.url for load in self.loads if not load.checked]
        if unchecked:
            raise AccessibilityViolation(
                "These pages were loaded but never axe-checked (use journey.visit, "
                "journey.click or journey.submit, or call journey.check()): " + ", ".join(unchecked)
            )

    # --- internals ---------------------------------------------------------------------

    def _locate(self, target: Locator | str) -> Locator:
        if isinstance(target, str):
            return self.page.get_by_role("link", name=target, exact=True)
        return target

    def _current_load(self) -> Load | None:
        # The document on screen is the last one that reached DOMContentLoaded.
        return self.loads[-1] if self.loads else None

    def _record_load(self, page: Page) -> None:
        if page.url != "about:blank":
            self.loads.append(Load(url=page.url))

    def _record_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and is_csp_message(message.text):
            self.script_errors.append(f"{self.page.url}: {message.text}")

    def _record_page_error(self, error: Exception) -> None:
        # A script that throws is as broken as one the CSP blocked.
        self.script_errors.append(f"{self.page.url}: uncaught error: {error}")

    def _raise_script_errors(self) -> None:
        if self.script_errors:
            errors, self.script_errors = self.script_errors, []
            raise ContentSecurityPolicyViolation(
                "The browser reported script errors or Content Security Policy "
                "violations:\n" + "\n".join(errors)
            )


def totp_code(secret: str) -> str:
    """The authenticator app's current code, never one about to expire."""
    period = mfa_settings.TOTP_PERIOD
    remaining = period - (time.time() % period)
    if remaining < 4:
        # Submitting a code in its last seconds races the window change.
        time.sleep(remaining + 0.2)
    counter = int(time.time()) // period
    return format_hotp_value(hotp_value(secret, counter))


def link_in(body: str, path_fragment: str) -> str:
    """The first absolute link in an email body whose path contains `path_fragment`."""
    for match in re.finditer(r"https?://\S+", body):
        if path_fragment in match.group(0):
            return match.group(0)
    raise AssertionError(f"No link containing {path_fragment!r} in email:\n{body}")
