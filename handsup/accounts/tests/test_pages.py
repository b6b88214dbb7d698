"""Every account and two-factor page renders inside our own page frame, under the CSP,
and every word on it is marked for translation."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.test import Client
from django.urls import reverse

from handsup.accounts.tests.helpers import log_in_with_password
from tests.fixtures import Cast

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

ANONYMOUS_PAGES = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_email_verification_sent",
    "account_inactive",
]
# Pages for someone signed in without two-factor authentication.
VOLUNTEER_PAGES = [
    "account_email",
    "account_change_password",
    "account_logout",
    "account_reauthenticate",
    "account_request_reauthentication_code",
    "mfa_index",
    "mfa_activate_totp",
]
# Pages for someone with an authenticator app and recovery codes.
ENROLLED_PAGES = [
    "mfa_index",
    "mfa_deactivate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_reauthenticate",
]


def assert_our_page(response: TestResponse) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    assert '<a class="skip-link" href="#main">' in html, "not rendered inside base.html"
    assert '<main id="main"' in html
    assert html.count("<h1") == 1
    assert " style=" not in html, "inline styles break the CSP"
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    for script in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in script or (nonce and f'nonce="{nonce.group(1)}"' in script), script
    return html


@pytest.mark.parametrize("url_name", ANONYMOUS_PAGES)
def test_anonymous_pages(db: None, url_name: str) -> None:
    assert_our_page(Client().get(reverse(url_name)))


@pytest.mark.parametrize("url_name", VOLUNTEER_PAGES)
def test_volunteer_pages(cast: Cast, url_name: str) -> None:
    assert_our_page(cast.client_for("volunteer").get(reverse(url_name)))


@pytest.mark.parametrize("url_name", ENROLLED_PAGES)
def test_enrolled_pages(cast: Cast, url_name: str) -> None:
    assert_our_page(cast.client_for("organiser_a").get(reverse(url_name)))


def test_code_step_of_login(cast: Cast) -> None:
    client = Client()
    location = log_in_with_password(client, cast.users["organiser_a"].email)
    html = assert_our_page(client.get(location))
    assert '<label for="id_code">' in html
    assert 'autocomplete="one-time-code"' in html


def test_link_pages(cast: Cast) -> None:
    address = EmailAddress.objects.create(
        user=cast.users["volunteer"], email="second@example.org", verified=False
    )
    key = EmailConfirmationHMAC(address).key
    assert_our_page(Client().get(reverse("account_confirm_email", args=[key])))
    assert_our_page(Client().get(reverse("account_confirm_email", args=["not-a-key"])))
    bad_reset = reverse("account_reset_password_from_key", kwargs={"uidb36": "1", "key": "x"})
    html = assert_our_page(Client().get(bad_reset))
    assert "This link has expired or has already been used" in html


def test_recovery_codes_download_is_plain_text(cast: Cast) -> None:
    response = cast.client_for("organiser_a").get(reverse("mfa_download_recovery_codes"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert len(response.content.decode().split()) == 10


def test_totp_activation_shows_the_secret_as_text_and_explains_when_required(
    cast: Cast,
) -> None:
    client = cast.client_for("organiser_no_mfa")
    response = client.get(reverse("me"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp") + "?required=1"

    html = assert_our_page(client.get(response["Location"]))
    assert (
        "Organisers, admins and movement-wide roles must set up two-factor authentication "
        "before continuing." in html
    )
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]{32})</code>', html)
    assert secret, "the secret must be readable, not only inside the QR code"
    assert re.search(
        r'<img class="qr-code" src="data:image/svg\+xml;base64,[^"]+" alt="[^"]+"', html
    )
    # A failed attempt comes back to the same explanation.
    failed = client.post(response["Location"], {"code": "123"})
    assert "must set up two-factor authentication" in assert_our_page(failed)

    plain = assert_our_page(cast.client_for("volunteer").get(reverse("mfa_activate_totp")))
    assert "must set up two-factor authentication" not in plain


# --- every word marked for translation ----------------------------------------------

_TEMPLATE_DIRS = ("account", "mfa", "allauth")
_UNTRANSLATED_ATTRIBUTE = re.compile(
    r'\b(?:aria-label|alt|title|placeholder)="(?![^"]*\{[%{])[^"]*[A-Za-z][^"]*"'
)


def visible_text_outside_translation(source: str) -> str:
    """What a template would show that no {% translate %} or {% blocktranslate %} covers."""
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", source, flags=re.S)
    text = re.sub(r"{#.*?#}", " ", text, flags=re.S)
    text = re.sub(r"{%\s*blocktranslate\b.*?{%\s*endblocktranslate\s*%}", " ", text, flags=re.S)
    text = re.sub(r"<script\b.*?</script>", " ", text, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    return " ".join(text.split())


def our_templates() -> list[Path]:
    found = [
        path
        for folder in _TEMPLATE_DIRS
        for path in sorted((TEMPLATES / folder).rglob("*"))
        if path.suffix in {".html", ".txt"}
    ]
    assert len(found) > 30
    return found


def test_every_visible_word_is_marked_for_translation() -> None:
    problems = {}
    for path in our_templates():
        source = path.read_text()
        leftover = visible_text_outside_translation(source)
        attributes = _UNTRANSLATED_ATTRIBUTE.findall(source)
        if re.search(r"[A-Za-z]", leftover) or attributes:
            problems[str(path.relative_to(TEMPLATES))] = (leftover, attributes)
    assert problems == {}


def test_the_translation_check_can_fail() -> None:
    assert visible_text_outside_translation("<p>Hello {% translate 'there' %}</p>") == "Hello"
    assert _UNTRANSLATED_ATTRIBUTE.search('<img alt="A picture">')
    assert not _UNTRANSLATED_ATTRIBUTE.search("<img alt=\"{% translate 'A picture' %}\">")


def test_deactivation_page_offers_the_button_when_allowed(cast: Cast) -> None:
    from allauth.mfa.totp.internal.auth import TOTP

    # A volunteer may turn their own second factor off again.
    TOTP.activate(cast.users["volunteer"], "JBSWY3DPEHPK3PXP")
    client = cast.client_for("volunteer")
    session = client.session
    session["account_authentication_methods"] += [
        {"method": "mfa", "at": time.time(), "type": "totp"}
    ]
    session.save()
    html = assert_our_page(client.get(reverse("mfa_deactivate_totp")))
    assert ">Turn off</button>" in html
    assert "error-summary" not in html


def test_organisers_cannot_turn_their_second_factor_off(cast: Cast) -> None:
    html = assert_our_page(cast.client_for("organiser_a").get(reverse("mfa_deactivate_totp")))
    assert ">Turn off</button>" not in html
