"""The accounts journeys in a real browser: sign up, reset a password, two-factor
authentication (chosen, and required of organisers), the admin login, small screens."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from handsup.accounts.models import User
from handsup.core.personas import persona
from tests.browser.journey import Journey, link_in, totp_code
from tests.fixtures import Cast

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # what tests/conftest.py gives every persona


def log_in(journey: Journey, email: str, password: str) -> None:
    journey.fill("Email", email)
    journey.fill("Password", password)
    journey.submit("Log in")


def log_out(journey: Journey) -> None:
    journey.submit("Log out")
    expect(journey.page.locator(".notifications")).to_have_text("You have logged out.")
    expect(journey.page.get_by_role("link", name="Log in", exact=True)).to_be_visible()


def expect_logged_in(journey: Journey) -> None:
    expect(journey.page.get_by_role("button", name="Log out")).to_be_visible()


def expect_heading(journey: Journey, text: str | re.Pattern[str]) -> None:
    expect(journey.page.get_by_role("heading", level=1)).to_have_text(text)


def confirm_it_is_me(journey: Journey, password: str) -> None:
    # allauth asks for the password again before any change to two-factor settings,
    # even straight after logging in.
    expect_heading(journey, "Confirm it is you")
    journey.fill("Password", password)
    journey.submit("Confirm")


def enrol_authenticator_app(journey: Journey) -> str:
    """On the activation page: read the secret shown as text, enter a code, and land
    on the recovery codes. Returns the secret, as the person's app would hold it."""
    secret = journey.page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    qr_code = journey.page.get_by_role("img", name="QR code to scan with your authenticator app")
    expect(qr_code).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    # The QR code must actually render under the CSP (img-src allows data: URIs).
    assert qr_code.evaluate("img => img.complete && img.naturalWidth > 0")
    journey.fill("Authenticator code", totp_code(secret))
    journey.submit("Turn on two-factor authentication")
    expect_heading(journey, "Your recovery codes")
    codes = journey.page.locator(".recovery-codes li")
    expect(codes).to_have_count(10)
    return secret


def test_sign_up_confirm_email_then_log_out_and_in(journey: Journey) -> None:
    journey.visit("/")
    # The header's "Sign up" makes just an account; "Put your hand up" is the fuller
    # volunteer onboarding, tested in test_onboarding_journey.
    journey.click(journey.page.get_by_role("link", name="Sign up", exact=True))
    expect_heading(journey, "Create an account")
    journey.fill("Email", "new.helper@example.org")
    journey.fill("Password", "a-long-and-unusual-passphrase")
    journey.fill("Password (again)", "a-long-and-unusual-passphrase")
    journey.submit("Create account")
    expect_logged_in(journey)

    user = User.objects.get(email="new.helper@example.org")
    address = EmailAddress.objects.get(user=user)
    assert not address.verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.helper@example.org"]
    assert mail.outbox[0].subject == "[Hands Up] Confirm your email address"
    confirm_link = link_in(str(mail.outbox[0].body), "/accounts/confirm-email/")

    journey.visit(confirm_link)
    expect_heading(journey, "Confirm your email address")
    journey.submit("Confirm")
    address.refresh_from_db()
    assert address.verified

    log_out(journey)
    journey.click("Log in")
    log_in(journey, "new.helper@example.org", "a-long-and-unusual-passphrase")
    expect_logged_in(journey)
    expect(journey.page.locator(".notifications")).to_have_text(
        "You are logged in as new.helper@example.org."
    )


def test_password_reset_by_email_link(cast: Cast, journey: Journey) -> None:
    email = cast.users["volunteer"].email
    journey.visit("/accounts/login/")
    journey.click("Forgotten your password?")
    expect_heading(journey, "Reset your password")
    journey.fill("Email", email)
    journey.submit("Send me a link")
    expect_heading(journey, "Check your email")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Hands Up] Reset your password"
    reset_link = link_in(str(mail.outbox[0].body), "/accounts/password/reset/key/")
    journey.visit(reset_link)
    expect_heading(journey, "Choose a new password")
    journey.fill("New Password", "a-brand-new-passphrase")
    journey.fill("New Password (again)", "a-brand-new-passphrase")
    journey.submit("Save new password")
    expect_heading(journey, "Your password has been changed")

    journey.click("Log in with your new password")
    log_in(journey, email, PASSWORD)
    summary = journey.page.locator(".error-summary")
    expect(summary).to_contain_text("not correct")
    # The summary takes focus through a nonce-carrying script: proof the CSP lets it run.
    expect(summary).to_be_focused()
    log_in(journey, email, "a-brand-new-passphrase")
    expect_logged_in(journey)


def test_volunteer_enrols_an_authenticator_app(cast: Cast, journey: Journey) -> None:
    email = cast.users["volunteer"].email
    journey.visit("/accounts/login/")
    log_in(journey, email, PASSWORD)
    journey.click("Your Hands Up")
    journey.click("Two-factor authentication")
    expect_heading(journey, "Two-factor authentication")
    journey.click("Set up an authenticator app")
    confirm_it_is_me(journey, PASSWORD)
    expect_heading(journey, "Set up an authenticator app")
    # A volunteer chooses this; the "required" explanation is for organisers only.
    expect(journey.page.get_by_text("must set up two-factor authentication")).to_have_count(0)
    secret = enrol_authenticator_app(journey)
    assert Authenticator.objects.filter(
        user=cast.users["volunteer"], type=Authenticator.Type.TOTP
    ).exists()

    log_out(journey)
    journey.click("Log in")
    log_in(journey, email, PASSWORD)
    expect_heading(journey, "Enter your authentication code")
    journey.fill("Code", totp_code(secret))
    journey.submit("Continue")
    expect_logged_in(journey)


def test_organiser_without_mfa_must_enrol_before_organising(cast: Cast, journey: Journey) -> None:
    organiser = cast.users["organiser_no_mfa"]
    journey.visit("/me/")
    expect_heading(journey, "Log in")
    log_in(journey, organiser.email, PASSWORD)

    required = "Organisers, admins and movement-wide roles must set up two-factor authentication"
    expect(journey.page.get_by_role("status").filter(has_text=required)).to_be_visible()
    confirm_it_is_me(journey, PASSWORD)
    expect_heading(journey, "Set up an authenticator app")
    assert "required=1" in journey.page.url
    expect(journey.page.get_by_role("status").filter(has_text=required)).to_have_text(
        f"{required} before continuing."
    )
    enrol_authenticator_app(journey)

    journey.click("Continue to your Hands Up")
    expect_heading(journey, "Your Hands Up")
    group = cast.groups["group_a"]
    journey.click(f"Run {group.name}")
    assert journey.page.url == journey.url(reverse("groups:organise", args=[group.public_id]))
    expect(journey.page.get_by_role("heading", level=1)).to_contain_text(group.name)


def test_admin_login_goes_through_allauth_and_two_factor(cast: Cast, journey: Journey) -> None:
    admin = cast.users["platform_admin"]
    journey.visit("/admin/")
    expect_heading(journey, "Log in")
    log_in(journey, admin.email, PASSWORD)
    expect_heading(journey, "Enter your authentication code")
    journey.fill("Code", totp_code(persona("platform_admin").totp_secret))
    journey.submit("Continue")
    assert journey.page.url.endswith("/admin/")
    expect(journey.page.get_by_role("heading", name="Site administration")).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/accounts/login/"])
def test_no_horizontal_scroll_at_320px(new_journey: Callable[..., Journey], path: str) -> None:
    narrow = new_journey(width=320, height=640)
    page = narrow.visit(path)
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= 320, f"{path} scrolls sideways: {scroll_width}px wide at 320px"


def test_skip_link_is_the_first_thing_tab_reaches(journey: Journey) -> None:
    page = journey.visit("/")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "({cls: document.activeElement.className, text: document.activeElement.textContent,"
        " href: document.activeElement.getAttribute('href')})"
    )
    assert focused == {"cls": "skip-link", "text": "Skip to main content", "href": "#main"}
    expect(page.locator(".skip-link")).to_be_in_viewport()


def test_every_account_page_passes_axe_including_its_error_states(
    cast: Cast, new_journey: Callable[..., Journey]
) -> None:
    visitor = new_journey()
    for path in [
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/confirm-email/not-a-key/",
        "/accounts/password/reset/key/1-not-a-key/",
        "/accounts/inactive/",
    ]:
        visitor.visit(path)
    visitor.visit("/accounts/signup/")
    visitor.submit("Create account")
    expect(visitor.page.locator(".error-summary a")).to_have_count(3)

    organiser = new_journey()
    organiser.visit("/accounts/login/")
    log_in(organiser, cast.users["organiser_a"].email, PASSWORD)
    organiser.fill("Code", totp_code(persona("organiser_a").totp_secret))
    organiser.submit("Continue")
    organiser.visit("/accounts/2fa/totp/deactivate/")
    confirm_it_is_me(organiser, PASSWORD)
    expect_heading(organiser, "Turn off the authenticator app")
    for path in [
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/2fa/recovery-codes/",
        "/accounts/2fa/recovery-codes/generate/",
        "/accounts/2fa/reauthenticate/",
        "/accounts/logout/",
    ]:
        organiser.visit(path)
    organiser.visit("/accounts/email/")
    organiser.fill("Email", "not an address")
    organiser.submit("Add email address")
    expect(organiser.page.locator("#id_email_error")).to_contain_text("valid email address")
    organiser.visit("/accounts/password/change/")
    organiser.submit("Change password")
    expect(organiser.page.locator(".error-summary a")).to_have_count(3)
