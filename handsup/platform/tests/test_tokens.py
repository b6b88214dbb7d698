"""API tokens: the admin pages (list, create with the secret shown once, revoke), and
what the API does with good, revoked, expired, missing and over-the-limit tokens."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from handsup.platform.api_auth import LAST_USED_EVERY
from handsup.platform.models import ApiCall, ApiToken
from handsup.platform.tokens import authenticate
from handsup.privacy.models import AuditEntry

from .api_fixtures import *  # noqa: F403 (the token fixtures)

pytestmark = pytest.mark.django_db


def tokens_url(cast, group: str = "group_a") -> str:
    return f"/groups/manage/{cast.groups[group].public_id}/api-tokens/"


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_a", 200),
        ("platform_admin", 200),
        ("organiser_a", 404),
        ("organiser_b", 404),
        ("admin_parent", 404),
        ("volunteer", 404),
        ("curator", 404),
        ("dpo", 404),
    ],
)
def test_only_the_groups_admins_see_its_tokens(cast, persona, status):
    assert cast.client_for(persona).get(tokens_url(cast)).status_code == status


def test_anonymous_is_sent_to_sign_in(cast):
    response = cast.client_for("anonymous").get(tokens_url(cast))
    assert response.status_code == 302 and "login" in response["Location"]


def test_creating_a_token_shows_the_secret_once_and_stores_a_digest(cast):
    client = cast.client_for("admin_a")
    response = client.post(
        tokens_url(cast),
        {"name": "Rota bot", "scopes": ["needs:read", "needs:write"], "expires_in_days": "30"},
    )
    assert response.status_code == 201
    page = response.content.decode()
    assert "copy it now; we can't show it again" in page.lower().replace("&#x27;", "'")
    token = ApiToken.objects.get()
    secret = next(word for word in page.split() if word.startswith('class="token-secret-value">'))
    secret = secret.split(">", 1)[1].split("<", 1)[0]
    assert secret.startswith("hu_") and token.prefix == secret[:10]
    assert token.secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.values().get())
    assert token.scopes == ["needs:read", "needs:write"]
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert authenticate(secret) == token
    # The list never shows it again.
    assert secret not in client.get(tokens_url(cast)).content.decode()
    assert AuditEntry.objects.filter(action="platform.token_created").count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "scopes": ["needs:read"], "expires_in_days": "30"},
        {"name": "x", "scopes": [], "expires_in_days": "30"},
        {"name": "x", "scopes": ["everything"], "expires_in_days": "30"},
        {"name": "x", "scopes": ["needs:read"], "expires_in_days": "0"},
        {"name": "x", "scopes": ["needs:read"], "expires_in_days": "366"},
        {"name": "x", "scopes": ["needs:read"], "expires_in_days": "soon"},
    ],
)
def test_bad_token_forms_are_400_and_make_nothing(cast, data):
    response = cast.client_for("admin_a").post(tokens_url(cast), data)
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_organiser_of_b_cannot_create_a_token_for_a(cast):
    response = cast.client_for("organiser_b").post(
        tokens_url(cast), {"name": "x", "scopes": ["needs:read"], "expires_in_days": "30"}
    )
    assert response.status_code == 404 and not ApiToken.objects.exists()


def test_revoking_stops_the_token_and_only_admins_may(cast, caller_a):
    url = f"{tokens_url(cast)}{caller_a.token.public_id}/revoke/"
    assert cast.client_for("organiser_a").post(url).status_code == 404
    assert cast.client_for("admin_a").get(url).status_code == 405
    assert caller_a.get("/groups/me").status_code == 200
    assert cast.client_for("admin_a").post(url).status_code == 302
    response = caller_a.get("/groups/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "This token has been revoked."}
    # A token of group A can't be revoked through group B's page.
    other = make_caller(cast, group="group_a", creator="admin_a", scopes=["groups:read"])  # noqa: F405
    b_url = f"{tokens_url(cast, 'group_b')}{other.token.public_id}/revoke/"
    assert cast.client_for("platform_admin").post(b_url).status_code == 404
    assert other.get("/groups/me").status_code == 200


def test_the_organise_page_links_to_tokens_for_admins_only(cast):
    url = f"/groups/manage/{cast.groups['group_a'].public_id}/"
    assert tokens_url(cast) in cast.client_for("admin_a").get(url).content.decode()
    assert tokens_url(cast) not in cast.client_for("organiser_a").get(url).content.decode()


# --- The API's side ---------------------------------------------------------------------


def test_missing_or_unknown_tokens_are_401_with_a_clear_body(client):
    for headers in ({}, {"Authorization": "Bearer hu_nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/groups/me", headers=headers)
        assert response.status_code == 401
        assert "Bearer" in response.json()["detail"]
        assert response["WWW-Authenticate"] == "Bearer"
    assert not ApiCall.objects.exists()


def test_an_expired_token_is_401_and_the_call_is_recorded(caller_expired):
    response = caller_expired.get("/groups/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "This token has expired."}
    call = ApiCall.objects.get()
    assert (call.token, call.method, call.path, call.status) == (
        caller_expired.token,
        "GET",
        "/api/v1/groups/me",
        401,
    )


def test_a_token_stops_when_its_creator_is_no_longer_an_admin(cast, caller_a):
    cast.users["admin_a"].memberships.filter(group=cast.groups["group_a"]).update(role="member")
    assert caller_a.get("/groups/me").status_code == 401


def test_every_call_is_recorded_and_last_used_moves_at_most_once_a_minute(caller_a):
    assert caller_a.get("/groups/me").status_code == 200
    first = ApiToken.objects.get(pk=caller_a.token.pk).last_used_at
    assert first is not None
    assert caller_a.get("/groups/nope").status_code == 404
    assert ApiToken.objects.get(pk=caller_a.token.pk).last_used_at == first
    ApiToken.objects.filter(pk=caller_a.token.pk).update(
        last_used_at=first - LAST_USED_EVERY - timedelta(seconds=1)
    )
    caller_a.get("/groups/me")
    later = ApiToken.objects.get(pk=caller_a.token.pk).last_used_at
    assert later is not None and later > first
    assert list(ApiCall.objects.order_by("pk").values_list("path", "status")) == [
        ("/api/v1/groups/me", 200),
        ("/api/v1/groups/nope", 404),
        ("/api/v1/groups/me", 200),
    ]


def test_over_the_rate_limit_is_429_with_retry_after(caller_a, settings):
    settings.HANDSUP_API_RATE_PER_MINUTE = 3
    statuses = [caller_a.get("/groups/me").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    if statuses[3] == 200:  # the minute turned over between calls: one more try
        statuses.append(caller_a.get("/groups/me").status_code)
    response = caller_a.get("/groups/me")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many requests" in response.json()["detail"]
    assert ApiCall.objects.filter(status=429).exists()


def test_the_token_list_runs_a_fixed_number_of_queries(cast, django_assert_num_queries):
    client = cast.client_for("admin_a")
    client.get(tokens_url(cast))  # warm the session and the user's first-visit rows

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(tokens_url(cast)).status_code == 200
        return len(queries)

    make_caller(cast, group="group_a", creator="admin_a", scopes=["groups:read"])  # noqa: F405
    one = count()
    for _ in range(3):
        make_caller(cast, group="group_a", creator="admin_a", scopes=["groups:read"])  # noqa: F405
    with django_assert_num_queries(one):
        assert client.get(tokens_url(cast)).status_code == 200
