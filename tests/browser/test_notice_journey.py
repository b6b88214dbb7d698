"""A new privacy notice that needs fresh consent, in a real browser: the platform admin
publishes it in the admin; Vera signs in on her way to "Your data", is asked first,
agrees, and lands where she was going, where her consent history shows the new version."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from handsup.core.personas import persona
from handsup.privacy.consent import current_consents
from handsup.privacy.models import PrivacyNotice
from tests.browser.journey import Journey, totp_code
from tests.fixtures import Cast

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # what tests/fixtures.py gives every persona
NEW_TEXT = "Hands Up privacy notice, version two: we now also keep your languages."


def log_in(journey: Journey, email: str) -> None:
    journey.fill("Email", email)
    journey.fill("Password", PASSWORD)
    journey.submit("Log in")


def test_a_volunteer_agrees_to_a_changed_notice_and_goes_on(cast: Cast, new_journey) -> None:
    vera = cast.users["volunteer"]
    held = [event for event in current_consents(vera) if event.given]
    assert held and {event.notice_version.version for event in held} == {1}

    # The platform admin publishes version 2, marked as needing fresh consent.
    admin = new_journey()
    admin.visit("/admin/privacy/privacynotice/add/")
    log_in(admin, cast.users["platform_admin"].email)
    admin.fill("Code", totp_code(persona("platform_admin").totp_secret))
    admin.submit("Continue")
    expect(admin.page.get_by_role("heading", name="Add privacy notice")).to_be_visible()
    admin.fill("Text:", NEW_TEXT)
    admin.page.locator("#id_published_at_0").fill("2020-01-01")
    admin.page.locator("#id_published_at_1").fill("00:00:00")
    admin.page.get_by_label("Needs fresh consent").check()
    admin.page.get_by_role("button", name="Save", exact=True).click()
    admin.check()
    expect(admin.page.locator(".messagelist")).to_contain_text("was added successfully")
    notice = PrivacyNotice.objects.current()
    assert notice is not None and notice.version == 2 and notice.needs_fresh_consent

    # Vera signs in on her way to "Your data", and is asked first.
    volunteer = new_journey()
    volunteer.visit("/my-data/")
    log_in(volunteer, vera.email)
    page = volunteer.page
    expect(page.get_by_role("heading", level=1)).to_have_text("Our privacy notice has changed")
    expect(page.locator("main")).to_contain_text(NEW_TEXT)
    asked = page.get_by_role(
        "table", name="Your consents given under an earlier version of the notice"
    )
    for event in held:
        expect(asked).to_contain_text(event.purpose.name)
    volunteer.submit("I agree")

    # She lands where she was going; her history shows the new version.
    assert re.search(r"/my-data/$", page.url), page.url
    expect(page.get_by_role("heading", name="Your data", level=1)).to_be_visible()
    expect(page.locator(".notifications")).to_contain_text(
        "your choices stand under the new notice"
    )
    history = page.locator("section[aria-labelledby=consents]")
    expect(history).to_contain_text("Version 2")
    assert {event.notice_version.version for event in current_consents(vera) if event.given} == {2}

    # Not asked again.
    volunteer.visit("/me/")
    assert page.url.endswith("/me/")
