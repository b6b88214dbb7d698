"""Shared fixtures: the personas of QUALITY.md, with marker strings in their personal data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from django.test import Client

from handsup.accounts.models import User
from handsup.core.personas import (
    PERSONA_KEYS,
    build_demo_groups,
    build_personas,
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
        client = Client()
        if key != "anonymous":
            client.force_login(self.users[key])
        return client


@pytest.fixture
def cast(db: None) -> Cast:
    token = "Mk" + secrets.token_hex(4)
    groups = build_demo_groups()
    users = build_personas(groups, password="correct-horse-battery", marker_token=token)
    assert set(users) == set(PERSONA_KEYS)
    return Cast(groups=groups, users=users, marker_token=token)
