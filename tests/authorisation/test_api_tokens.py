"""The API's half of the authorisation matrix: every operation, for each token persona.

Sessions never reach the API (the main matrix checks that they get 401); tokens do. For
each operation in the OpenAPI document, against group A's objects:

- group A's token with every scope is let through (a 2xx, or the 409/422 a rule gives);
- group B's token with every scope gets 404 for anything of group A's, and a list of
  its own that never shows group A's need or people;
- group A's read-only token gets 403 on every write and is let through on reads;
- expired and revoked tokens of group A's get 401.

An operation missing from the table below fails the test, so a new one must come here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from handsup.core.api import api
from handsup.groups.models import Membership
from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
from handsup.needs.models import Need
from handsup.people.models import Skill
from handsup.platform.models import ApiToken
from handsup.platform.tests.api_fixtures import ALL_SCOPES, READ_SCOPES, make_caller
from tests.fixtures import Cast

LET_THROUGH = range(200, 300)
RULE_REFUSALS = {409, 422}  # past authorisation: the request broke a rule of the need


@dataclass(frozen=True)
class Operation:
    write: bool
    # Of one of group A's objects (a need): another group's token must get 404.
    of_group_a: bool = False
    body: Callable[[Any], dict[str, Any]] | None = None


def _need_body(world: Any) -> dict[str, Any]:
    return {
        "title": "Phone bank callers",
        "description": "Call members about the summer fair.",
        "skills": [{"skill": world["skill"].pk, "min_level": 2, "required": True}],
        "location_kind": "remote",
        "schedule_kind": "ongoing",
        "weekly_slots": 5,
        "hours": 2.5,
        "people_needed": 3,
        "closes_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }


UPDATE = {"subject": "Summer fair", "body": "We need **stewards** on Saturday."}
STORY = {
    "title": "Tenants win repairs",
    "body": "The landlord agreed to fix the damp.",
    "region": "north_west",
    "happened_on": "2026-03-01",
}

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/v1/health"): Operation(write=False),
    ("GET", "/api/v1/groups/me"): Operation(write=False),
    ("GET", "/api/v1/groups/{public_id}"): Operation(write=False, of_group_a=True),
    ("GET", "/api/v1/skills"): Operation(write=False),
    ("GET", "/api/v1/needs"): Operation(write=False),
    ("POST", "/api/v1/needs"): Operation(write=True, body=_need_body),
    ("GET", "/api/v1/needs/{need_id}"): Operation(write=False, of_group_a=True),
    ("PATCH", "/api/v1/needs/{need_id}"): Operation(
        write=True, of_group_a=True, body=lambda world: {"title": "Callers wanted"}
    ),
    ("POST", "/api/v1/needs/{need_id}/publish"): Operation(write=True, of_group_a=True),
    ("POST", "/api/v1/needs/{need_id}/close"): Operation(write=True, of_group_a=True),
    ("GET", "/api/v1/needs/{need_id}/shortlist"): Operation(write=False, of_group_a=True),
    ("GET", "/api/v1/needs/{need_id}/invitations"): Operation(write=False, of_group_a=True),
    ("POST", "/api/v1/needs/{need_id}/invitations"): Operation(
        write=True, of_group_a=True, body=lambda world: {"card_ids": ["no-such-card"]}
    ),
    ("GET", "/api/v1/members"): Operation(write=False),
    ("POST", "/api/v1/updates/preview"): Operation(write=True, body=lambda world: UPDATE),
    ("POST", "/api/v1/updates"): Operation(write=True, body=lambda world: UPDATE),
    ("GET", "/api/v1/stories"): Operation(write=False),
    ("POST", "/api/v1/stories"): Operation(write=True, body=lambda world: STORY),
    ("GET", "/api/v1/tools"): Operation(write=False),
}
PUBLIC = {("GET", "/api/v1/health")}


def _documented() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "patch", "put", "delete"}
    }


def test_every_api_operation_is_in_the_token_matrix() -> None:
    assert sorted(_documented() - set(OPERATIONS)) == []
    assert sorted(set(OPERATIONS) - _documented()) == []


def _request(client: Client, method: str, path: str, token: str, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if method == "GET":
        return client.get(path, headers=headers)
    return getattr(client, method.lower())(
        path, json.dumps(body or {}), content_type="application/json", headers=headers
    )


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(OPERATIONS), ids=lambda key: f"{key[0]} {key[1]}")
def test_each_token_gets_what_the_matrix_says(cast: Cast, key: tuple[str, str]) -> None:
    method, template = key
    operation = OPERATIONS[key]
    skill = Skill.objects.order_by("pk").first()
    assert skill is not None
    need_a = do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=NeedDetails(
            title="Phone bank callers",
            description="Call members about the summer fair.",
            skills=(SkillWanted(skill=skill, min_level=2, required=True),),
            location_kind=Need.LocationKind.REMOTE,
            place=None,
            radius_km=None,
            schedule_kind=Need.ScheduleKind.ONGOING,
            weekly_slots=0b101,
            hours=Decimal("2.5"),
            people_needed=3,
            closes_on=timezone.localdate() + timedelta(days=30),
            visibility=Need.Visibility.MOVEMENT,
        ),
        publish=True,
    )
    world = {"skill": skill}
    path = template.format(public_id=cast.groups["group_a"].public_id, need_id=need_a.public_id)
    callers = {
        "token_a": make_caller(cast, group="group_a", creator="admin_a", scopes=ALL_SCOPES),
        "token_b": make_caller(cast, group="group_b", creator="platform_admin", scopes=ALL_SCOPES),
        "token_a_read_only": make_caller(
            cast, group="group_a", creator="admin_a", scopes=READ_SCOPES
        ),
        "token_a_expired": make_caller(cast, group="group_a", creator="admin_a", scopes=ALL_SCOPES),
        "token_a_revoked": make_caller(cast, group="group_a", creator="admin_a", scopes=ALL_SCOPES),
    }
    ApiToken.objects.filter(pk=callers["token_a_expired"].token.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    ApiToken.objects.filter(pk=callers["token_a_revoked"].token.pk).update(
        revoked_at=timezone.now()
    )
    only_in_a = Membership.objects.filter(group=cast.groups["group_a"]).exclude(
        user__memberships__group=cast.groups["group_b"]
    )
    people_of_a = {m.user_id for m in only_in_a}
    group_a_traces = [
        need_a.public_id,
        *(cast.marker(key) for key, user in cast.users.items() if user.pk in people_of_a),
    ]
    assert len(group_a_traces) > 2
    wrong: list[str] = []
    for persona, caller in callers.items():
        with transaction.atomic():
            body = operation.body(world) if operation.body else None
            response = _request(Client(), method, path, caller.secret, body)
            transaction.set_rollback(True)
        status, text = response.status_code, response.content.decode()
        if key in PUBLIC:
            expected_ok = True
        elif persona in {"token_a_expired", "token_a_revoked"}:
            if status != 401:
                wrong.append(f"{persona}: expected 401, got {status}")
            continue
        elif persona == "token_b":
            if operation.of_group_a:
                if status != 404:
                    wrong.append(f"{persona}: expected 404 on group A's object, got {status}")
                continue
            expected_ok = True
            leaked = [trace for trace in group_a_traces if trace in text]
            if leaked and method == "GET":
                wrong.append(f"{persona}: its list shows group A's {leaked}")
        elif persona == "token_a_read_only" and operation.write:
            if status != 403:
                wrong.append(f"{persona}: expected 403 on a write, got {status}")
            continue
        else:
            expected_ok = True
        if expected_ok and status not in LET_THROUGH and status not in RULE_REFUSALS:
            wrong.append(f"{persona}: expected to be let through, got {status}: {text[:200]}")
    assert wrong == [], f"{method} {path}: " + "; ".join(wrong)
