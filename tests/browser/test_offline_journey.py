"""People who are not online, in a real browser: the paper sign-up form prints to at most
two A4 pages, and an organiser registers a volunteer who then claims the account."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.forms.utils import pretty_name
from playwright.sync_api import expect

from handsup.accounts.models import User
from handsup.core.personas import persona
from handsup.people.offline_forms import web_signup_forms
from tests.browser.journey import Journey, totp_code
from tests.fixtures import Cast

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # what tests/fixtures.py gives every persona
CODE = re.compile(r"\b[A-Z2-9]{5}-[A-Z2-9]{5}\b")
# Page objects in a PDF, not the /Pages tree that holds them.
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def web_form_labels() -> list[str]:
    """Every visible field label of the web sign-up's forms, read from the forms themselves."""
    return [
        str(field.label or pretty_name(name))
        for form_class in web_signup_forms()
        for name, field in form_class().fields.items()
        if not field.widget.is_hidden
    ]


def test_the_paper_sign_up_form_prints_to_two_a4_pages_with_every_field(
    journey: Journey,
) -> None:
    page = journey.visit("/sign-up-form/")
    pdf = page.pdf(format="A4", print_background=False)
    pages = len(PDF_PAGE.findall(pdf))
    assert 1 <= pages <= 2, f"the sign-up form prints to {pages} A4 pages"
    text = page.inner_text("main")
    labels = web_form_labels()
    missing = [label for label in labels if label not in text]
    assert labels and missing == [], f"fields of the web form not on paper: {missing}"


def log_in_as_organiser_a(cast: Cast, journey: Journey) -> None:
    journey.visit("/accounts/login/")
    journey.fill("Email", cast.users["organiser_a"].email)
    journey.fill("Password", PASSWORD)
    journey.submit("Log in")
    journey.fill("Code", totp_code(persona("organiser_a").totp_secret))
    journey.submit("Continue")


def test_an_organiser_prints_a_claim_letter_for_someone_without_email(
    cast: Cast, journey: Journey
) -> None:
    group = cast.groups["group_a"]
    log_in_as_organiser_a(cast, journey)
    journey.visit(f"/groups/manage/{group.public_id}/people/new/")
    journey.submit("Register them")  # empty: the error summary must pass axe too
    expect(journey.page.locator(".error-summary")).to_be_visible()
    journey.fill("Name", "Percy Post")
    journey.page.get_by_label("By phone, to me").check()
    journey.fill("Postal address", "3 Canal Street\nManchester")
    journey.page.get_by_role("checkbox", name="Post", exact=True).check()
    journey.submit("Register them")
    expect(journey.page.locator(".notifications")).to_contain_text("Print a letter")
    journey.click("Print a letter with a new code")
    journey.submit("Make the letter")
    letter = journey.page.inner_text("main")
    assert "3 Canal Street" in letter and CODE.search(letter)
    pdf = journey.page.pdf(format="A4")
    assert len(PDF_PAGE.findall(pdf)) == 1, "the claim letter fits on one A4 page"


def test_an_organiser_registers_a_volunteer_who_then_claims_the_account(
    cast: Cast, new_journey: Callable[..., Journey]
) -> None:
    group = cast.groups["group_a"]
    organiser = new_journey()
    log_in_as_organiser_a(cast, organiser)

    organiser.visit(f"/groups/manage/{group.public_id}/people/new/")
    expect(organiser.page.get_by_role("heading", level=1)).to_have_text(
        "Register someone who is not online"
    )
    organiser.fill("Name", "Olive Offline")
    organiser.page.get_by_label("On a paper form they signed").check()
    organiser.fill("Email address", "olive@example.org")
    organiser.fill("Phone number", "0161 496 0123")
    organiser.page.get_by_role("checkbox", name="Email", exact=True).check()
    organiser.page.get_by_role("checkbox", name="Phone", exact=True).check()
    organiser.submit("Register them")
    expect(organiser.page.locator(".notifications")).to_contain_text("We have emailed them a code")
    expect(organiser.page.get_by_role("heading", level=1)).to_have_text("Olive Offline")

    [email] = [message for message in mail.outbox if message.to == ["olive@example.org"]]
    code = CODE.search(str(email.body))
    assert code, email.body
    assert "/claim/" in email.body

    volunteer = new_journey()
    volunteer.visit("/claim/")
    volunteer.fill("Your code", "WRONG-CODE2")
    volunteer.fill("Email address", "olive@example.org")
    volunteer.fill("Choose a password", "olive-has-a-long-passphrase")
    volunteer.submit("Claim my account")
    expect(volunteer.page.locator(".error-summary")).to_contain_text("That code is not right")
    volunteer.fill("Your code", code.group(0).lower())
    volunteer.fill("Choose a password", "olive-has-a-long-passphrase")
    volunteer.submit("Claim my account")
    expect(volunteer.page.locator(".notifications")).to_contain_text("This account is yours now")
    expect(volunteer.page.get_by_role("button", name="Log out")).to_be_visible()

    volunteer.visit("/me/profile/print/")
    assert "0161 496 0123" in volunteer.page.inner_text("main")

    olive = User.objects.get(email="olive@example.org")
    assert olive.check_password("olive-has-a-long-passphrase")
    assert olive.memberships.filter(group=group).exists()
