"""Bad input on the accounts pages: a clear message next to the field, never a 500,
and nothing the person typed (or already stored) lost."""

from __future__ import annotations

import re
import time
from html import unescape
from typing import TYPE_CHECKING
from unittest import mock

from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client
from django.urls import reverse

from handsup.accounts.models import User
from handsup.accounts.tests.helpers import (
    PASSWORD,
    error_summary_links,
    error_summary_text,
    field_error,
    log_in_with_password,
    wrong_totp,
)
from handsup.core.personas import persona
from tests.fixtures import Cast

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

SIGNUP = reverse("account_signup")
LOGIN = reverse("account_login")


NEW_PASSWORD = "a-long-and-unusual-passphrase"


def sign_up(client: Client, email: str, password: str = NEW_PASSWORD) -> TestResponse:
    return client.post(SIGNUP, {"email": email, "password1": password, "password2": password})


def test_sign_up_with_an_existing_email_says_so_next_to_the_email_field(cast: Cast) -> None:
    # With ACCOUNT_PREVENT_ENUMERATION=True but verification "optional", allauth cannot
    # hide the clash behind a "check your email" page, so it says so on the form.
    existing = cast.users["volunteer"].email
    response = sign_up(Client(), existing.upper())

    assert response.status_code == 200
    html = response.content.decode()
    assert field_error(html, "id_email") == "A user is already registered with this email address."
    assert ("#id_email", "Email: A user is already registered with this email address.") in [
        (href, unescape(text)) for href, text in error_summary_links(html)
    ]
    assert User.objects.filter(email__iexact=existing).count() == 1
    assert EmailAddress.objects.filter(email__iexact=existing).count() == 1
    assert mail.outbox == []


def test_weak_password_is_explained_and_the_email_is_kept(db: None) -> None:
    response = sign_up(Client(), "keen.helper@example.org", password="password")

    assert response.status_code == 200
    html = response.content.decode()
    message = field_error(html, "id_password1")
    assert "too short" in message and "too common" in message
    assert 'value="keen.helper@example.org"' in html
    assert 'aria-describedby="id_password1_helptext id_password1_error"' in html
    assert 'aria-invalid="true"' in html
    assert not User.objects.filter(email="keen.helper@example.org").exists()


def test_error_summary_links_to_every_field_with_a_problem(db: None) -> None:
    response = Client().post(SIGNUP, {"email": "", "password1": "", "password2": ""})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h2>There is a problem</h2>" in html
    assert [href for href, _text in error_summary_links(html)] == [
        "#id_email",
        "#id_password1",
        "#id_password2",
    ]
    for field_id in ("id_email", "id_password1", "id_password2"):
        assert field_error(html, field_id) == "This field is required."
        assert re.search(rf'<input [^>]*aria-invalid="true"[^>]*id="{field_id}"', html)
    assert html.count('class="form-group form-group--error"') == 3


def test_non_field_errors_are_listed_in_the_summary(cast: Cast) -> None:
    response = Client().post(
        LOGIN, {"login": cast.users["volunteer"].email, "password": "not-my-password"}
    )

    assert response.status_code == 200
    summary = error_summary_text(response.content.decode())
    assert "There is a problem" in summary
    assert "The email address and/or password you specified are not correct." in summary


def unconfirmed_address(client: Client, email: str) -> EmailAddress:
    response = sign_up(client, email)
    assert response.status_code == 302
    address = EmailAddress.objects.get(email=email)
    assert not address.verified
    return address


def test_expired_verification_link_explains_itself(db: None) -> None:
    client = Client()
    address = unconfirmed_address(client, "slow.reader@example.org")
    four_days_ago = time.time() - 4 * 24 * 60 * 60
    with mock.patch("django.core.signing.time.time", return_value=four_days_ago):
        key = EmailConfirmationHMAC(address).key
    url = reverse("account_confirm_email", args=[key])

    response = client.get(url)
    assert response.status_code == 200
    assert "This link has expired or has already been used" in response.content.decode()

    # Pressing "Confirm" on a page left open that long is refused without a crash.
    response = client.post(url)
    assert response.status_code == 404
    address.refresh_from_db()
    assert not address.verified


def test_reused_verification_link_explains_itself(db: None) -> None:
    client = Client()
    address = unconfirmed_address(client, "double.clicker@example.org")
    url = reverse("account_confirm_email", args=[EmailConfirmationHMAC(address).key])

    first = client.get(url)
    assert first.status_code == 200
    assert "Confirm your email address" in first.content.decode()
    assert client.post(url).status_code == 302
    address.refresh_from_db()
    assert address.verified

    again = client.get(url)
    assert again.status_code == 200
    html = again.content.decode()
    assert "This link has expired or has already been used" in html
    assert f'href="{reverse("account_email")}"' in html  # how to get a new one
    assert client.post(url).status_code == 404
    address.refresh_from_db()
    assert address.verified


def test_wrong_authenticator_code_is_explained_next_to_the_code_field(cast: Cast) -> None:
    client = Client()
    organiser = cast.users["organiser_a"]
    assert log_in_with_password(client, organiser.email) == reverse("mfa_authenticate")

    code = wrong_totp(persona("organiser_a").totp_secret)
    response = client.post(reverse("mfa_authenticate"), {"code": code})

    assert response.status_code == 200
    html = response.content.decode()
    assert field_error(html, "id_code") == "Incorrect code."
    # The summary names the field its message is about.
    assert error_summary_links(html) == [("#id_code", "Code: Incorrect code.")]
    # Still half-way: the code step did not log anyone in.
    assert client.get(reverse("me")).status_code == 302


def test_twenty_wrong_passwords_lock_the_account_out_without_a_crash(cast: Cast) -> None:
    client = Client()
    email = cast.users["volunteer"].email
    statuses = []
    summaries = []
    for attempt in range(20):
        response = client.post(LOGIN, {"login": email, "password": f"wrong-{attempt}"})
        statuses.append(response.status_code)
        summaries.append(error_summary_text(response.content.decode()))

    assert all(status in (200, 429) for status in statuses), statuses
    locked = "Too many failed login attempts. Try again later."
    assert locked in summaries[-1]
    first_lock = next(i for i, summary in enumerate(summaries) if locked in summary)
    assert first_lock == 5, summaries  # ACCOUNT_RATE_LIMITS["login_failed"]: 5 per key

    # The lockout holds even for the right password, and says why.
    response = client.post(LOGIN, {"login": email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    if response.status_code == 200:
        assert locked in error_summary_text(response.content.decode())
    assert client.get(reverse("me")).status_code == 302


def test_refused_deactivation_is_explained_and_changes_nothing(cast: Cast) -> None:
    client = cast.client_for("organiser_a")
    url = reverse("mfa_deactivate_totp")
    with mock.patch(
        "handsup.accounts.adapter.MFAAdapter.can_delete_authenticator", return_value=False
    ):
        page = client.get(url)
        attempt = client.post(url)

    for response in (page, attempt):
        assert response.status_code == 200
        html = response.content.decode()
        assert "There is a problem" in error_summary_text(html)
        assert ">Turn off</button>" not in html
    assert Authenticator.objects.filter(
        user=cast.users["organiser_a"], type=Authenticator.Type.TOTP
    ).exists()
