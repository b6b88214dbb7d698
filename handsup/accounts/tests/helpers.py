"""Logging in the way a person does (password, then code) with Django's test client."""

from __future__ import annotations

import re
import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse

PASSWORD = "correct-horse-battery"  # what tests/conftest.py gives every persona


def current_totp(secret: str) -> str:
    period = mfa_settings.TOTP_PERIOD
    if period - (time.time() % period) < 2:
        time.sleep(2)  # never hand out a code in the last moment of its window
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def wrong_totp(secret: str) -> str:
    right = current_totp(secret)
    return "000000" if right != "000000" else "111111"


def log_in_with_password(client: Client, email: str, password: str = PASSWORD) -> str:
    """Submit the login form; returns where it redirected."""
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def log_in(client: Client, email: str, *, totp_secret: str | None = None) -> None:
    location = log_in_with_password(client, email)
    if totp_secret is not None:
        assert location == reverse("mfa_authenticate")
        response = client.post(location, {"code": current_totp(totp_secret)})
        assert response.status_code == 302, response.content.decode()[:2000]


def reauthenticate(client: Client, password: str = PASSWORD) -> None:
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content.decode()[:2000]


def field_error(html: str, field_id: str) -> str:
    """The text of the error message shown next to a field (empty if none)."""
    match = re.search(
        rf'<p class="error-message" id="{re.escape(field_id)}_error">(.*?)</p>', html, re.S
    )
    if not match:
        return ""
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("Error:", "", 1).strip()


def error_summary_links(html: str) -> list[tuple[str, str]]:
    """(href, text) for each link in the error summary."""
    match = re.search(
        r'<div class="error-summary" role="alert" tabindex="-1">(.*?)</div>', html, re.S
    )
    if not match:
        return []
    return re.findall(r'<a href="([^"]+)">(.*?)</a>', match.group(1), re.S)


def error_summary_text(html: str) -> str:
    match = re.search(
        r'<div class="error-summary" role="alert" tabindex="-1">(.*?)</div>', html, re.S
    )
    if not match:
        return ""
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())
