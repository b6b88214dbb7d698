"""Tokens for the API tests, one per persona of the API's authorisation matrix.

Imported by the API test modules (`from .api_fixtures import *`-style, by name)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from handsup.platform.models import ApiToken, Scope
from handsup.platform.tokens import do_create_token

__all__ = [
    "Caller",
    "caller_a",
    "caller_b",
    "caller_expired",
    "caller_read_only",
    "make_caller",
]

ALL_SCOPES = list(Scope.values)
READ_SCOPES = [scope for scope in Scope.values if scope.endswith(":read")]


@dataclass
class Caller:
    token: ApiToken
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def get(self, path: str, **params: Any) -> Any:
        return Client().get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, data: Any = None, *, raw: bytes | str | None = None) -> Any:
        import json

        body = raw if raw is not None else json.dumps(data if data is not None else {})
        return Client().post(
            f"/api/v1{path}", body, content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, data: Any) -> Any:
        import json

        return Client().patch(
            f"/api/v1{path}",
            json.dumps(data),
            content_type="application/json",
            headers=self.headers,
        )


def make_caller(
    cast: Any, *, group: str, creator: str, scopes: list[str], days: int = 30
) -> Caller:
    made = do_create_token(
        actor=cast.users[creator],
        group=cast.groups[group],
        name=f"{group} {creator}",
        scopes=scopes,
        expires_in_days=days,
    )
    return Caller(token=made.token, secret=made.secret)


@pytest.fixture
def caller_a(cast: Any) -> Caller:
    """Group A, every scope, made by admin_a."""
    return make_caller(cast, group="group_a", creator="admin_a", scopes=ALL_SCOPES)


@pytest.fixture
def caller_b(cast: Any) -> Caller:
    """Group B, every scope (made by platform_admin, who may administer any group)."""
    return make_caller(cast, group="group_b", creator="platform_admin", scopes=ALL_SCOPES)


@pytest.fixture
def caller_read_only(cast: Any) -> Caller:
    return make_caller(cast, group="group_a", creator="admin_a", scopes=READ_SCOPES)


@pytest.fixture
def caller_expired(cast: Any) -> Caller:
    caller = make_caller(cast, group="group_a", creator="admin_a", scopes=ALL_SCOPES)
    ApiToken.objects.filter(pk=caller.token.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    return caller
