"""Shared fixtures: the personas of QUALITY.md, with marker strings in their personal data.

Imported by the root conftest.py so every app's tests can use them."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import pytest
from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY as AUTHENTICATION_METHODS_USER_SESSION_KEY,
)
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.test import Client

from handsup.accounts.models import User
from handsup.core.personas import (
    PERSONA_KEYS,
    build_demo_groups,
    build_personas,
    persona,
    persona_marker,
)
from handsup.groups.models import Group


@dataclass
class Cast:
    """Everyone the matrix and journeys need, built once per test."""

    groups: dict[str, Group]
    users: dict[str, User]
    marker_token: str

    def marker(self, key: str) -> str:
        return persona_marker(self.marker_token, key)

    def markers(self) -> dict[str, str]:
        return {key: self.marker(key) for key in self.users}

    def client_for(self, key: str) -> Client:
        """A client signed in as the persona, as if they had just logged in fully."""
        client = Client()
        if key != "anonymous":
            user = self.users[key]
            client.force_login(user)
            # allauth asks for a recent (re)authentication before MFA changes; record
            # the password (and, where enrolled, TOTP) steps a person just made.
            session = client.session
            now = time.time()
            methods = [
                {"method": "password", "at": now, "email": user.email, "reauthenticated": True}
            ]
            if persona(key).has_mfa:
                methods.append({"method": "mfa", "at": now, "type": "totp"})
            session[AUTHENTICATION_METHODS_SESSION_KEY] = methods
            session[AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
            session.save()
        return client


@pytest.fixture
def cast(db: None) -> Cast:
    token = "Mk" + secrets.token_hex(4)
    groups = build_demo_groups()
    users = build_personas(groups, password="correct-horse-battery", marker_token=token)
    assert set(users) == set(PERSONA_KEYS)
    return Cast(groups=groups, users=users, marker_token=token)
