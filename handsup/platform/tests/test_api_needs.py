"""The needs operations: create, read, change, publish, close, shortlist, invitations;
scopes, group isolation, strict input and audit rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from handsup.needs.models import Invitation, Need
from handsup.needs.tests.conftest import make_volunteer
from handsup.people.models import Skill
from handsup.privacy.models import AccessLogEntry, AuditEntry

from .api_fixtures import *  # noqa: F403 (the token fixtures)
from .api_fixtures import Caller

pytestmark = pytest.mark.django_db


def need_body(skill: Skill, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Phone bank callers",
        "description": "Call members about the summer fair.",
        "skills": [{"skill": skill.pk, "min_level": 2, "required": True}],
        "location_kind": "remote",
        "schedule_kind": "ongoing",
        "weekly_slots": 5,
        "hours": 2.5,
        "people_needed": 3,
        "closes_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }
    body.update(changes)
    return body


@pytest.fixture
def skill(db: None) -> Skill:
    return Skill.objects.order_by("pk").first()  # type: ignore[return-value]


def create(caller: Caller, skill: Skill, **changes: Any) -> dict[str, Any]:
    response = caller.post("/needs", need_body(skill, **changes))
    assert response.status_code == 201, response.content
    return response.json()


def test_create_read_list_publish_close(cast, caller_a, skill):
    need = create(caller_a, skill)
    assert need["status"] == "draft" and need["hours"] == 2.5
    stored = Need.objects.get(public_id=need["id"])
    assert stored.group == cast.groups["group_a"] and stored.created_by == cast.users["admin_a"]
    assert caller_a.get(f"/needs/{need['id']}").json()["title"] == "Phone bank callers"
    listed = caller_a.get("/needs").json()
    assert [item["id"] for item in listed["items"]] == [need["id"]]
    assert listed["next_cursor"] is None
    assert caller_a.get("/needs", status="open").json()["items"] == []
    published = caller_a.post(f"/needs/{need['id']}/publish")
    assert published.status_code == 200 and published.json()["status"] == "open"
    assert caller_a.post(f"/needs/{need['id']}/publish").status_code == 409
    closed = caller_a.post(f"/needs/{need['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = caller_a.post(f"/needs/{need['id']}/close")
    assert again.status_code == 409 and "already closed" in again.json()["detail"]
    edit = caller_a.patch(f"/needs/{need['id']}", {"title": "Late"})
    assert edit.status_code == 409
    audits = AuditEntry.objects.filter(action__startswith="api.").order_by("pk")
    assert [a.action for a in audits] == [
        "api.need_created",
        "api.need_published",
        "api.need_closed",
    ]
    assert all(
        a.details == {"via": "api", "token": caller_a.token.prefix}
        and a.actor == cast.users["admin_a"]
        for a in audits
    )


def test_patch_changes_only_what_is_sent_and_keeps_the_rules(caller_a, skill):
    need = create(caller_a, skill)
    response = caller_a.patch(f"/needs/{need['id']}", {"title": "Door knockers", "hours": 4})
    assert response.status_code == 200
    assert response.json()["title"] == "Door knockers" and response.json()["hours"] == 4.0
    assert response.json()["description"] == need["description"]
    bad = caller_a.patch(f"/needs/{need['id']}", {"location_kind": "on_site"})
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) >= {"place", "radius_km"}


def test_pagination_walks_every_need_once(caller_a, skill):
    made = {create(caller_a, skill, title=f"Need {n}")["id"] for n in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = caller_a.get("/needs", **params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    assert caller_a.get("/needs", cursor="forged").status_code == 400
    assert caller_a.get("/needs", limit=0).status_code == 422
    assert caller_a.get("/needs", limit=101).status_code == 422


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hours": "2"}, "hours"),  # strict: no string for a number
        ({"people_needed": 2.0}, "people_needed"),
        ({"closes_on": 20300101}, "closes_on"),
        ({"surprise": 1}, "surprise"),
        ({"location_kind": "moon"}, "location_kind"),
        ({"title": "a\x00b"}, "title"),
    ],
)
def test_wrong_types_and_unknown_fields_are_422_with_the_field(caller_a, skill, changes, field):
    response = caller_a.post("/needs", need_body(skill, **changes))
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()
    assert not Need.objects.exists()


def test_rule_problems_come_back_per_field(caller_a, skill):
    response = caller_a.post(
        "/needs",
        need_body(skill, skills=[], closes_on="2001-01-01", schedule_kind="windows"),
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"skills", "closes_on", "windows"}


def test_malformed_json_and_huge_bodies_are_clear_4xx(caller_a, settings):
    response = caller_a.post("/needs", raw="{not json")
    assert response.status_code == 400 and response.json()["detail"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = caller_a.post("/needs", raw='{"title": "' + "x" * 5000 + '"}')
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}


def test_group_b_token_gets_404_on_group_a_needs(caller_a, caller_b, skill):
    need = create(caller_a, skill)
    for response in (
        caller_b.get(f"/needs/{need['id']}"),
        caller_b.patch(f"/needs/{need['id']}", {"title": "Mine now"}),
        caller_b.post(f"/needs/{need['id']}/publish"),
        caller_b.post(f"/needs/{need['id']}/close"),
        caller_b.get(f"/needs/{need['id']}/shortlist"),
        caller_b.get(f"/needs/{need['id']}/invitations"),
        caller_b.post(f"/needs/{need['id']}/invitations", {"card_ids": ["x"]}),
    ):
        assert response.status_code == 404, response.content
        assert response.json() == {"detail": "Not found."}
    assert caller_b.get("/needs").json()["items"] == []
    assert Need.objects.get(public_id=need["id"]).status == "draft"


def test_read_only_token_gets_403_on_writes(caller_a, caller_read_only, skill):
    need = create(caller_a, skill)
    response = caller_read_only.post("/needs", need_body(skill))
    assert response.status_code == 403 and "needs:write" in response.json()["detail"]
    assert caller_read_only.post(f"/needs/{need['id']}/close").status_code == 403
    assert caller_read_only.get(f"/needs/{need['id']}").status_code == 200


def test_shortlist_is_pseudonymous_logged_and_invitations_ask_through_pacing(cast, caller_a, skill):
    need = create(caller_a, skill)
    caller_a.post(f"/needs/{need['id']}/publish")
    people = [
        make_volunteer(skills={skill: (3, True)}, marker=f"Marker{n}", offset_m=None)
        for n in range(2)
    ]
    response = caller_a.get(f"/needs/{need['id']}/shortlist")
    assert response.status_code == 200
    cards = response.json()["cards"]
    assert len(cards) == 2
    text = response.content.decode()
    for person in people:
        assert person.full_name not in text and person.email not in text
    logged = AccessLogEntry.objects.filter(purpose="shortlist")
    assert {entry.subject_id for entry in logged} == {person.pk for person in people}
    asked = caller_a.post(f"/needs/{need['id']}/invitations", {"card_ids": [cards[0]["id"]]})
    assert asked.status_code == 201, asked.content
    assert asked.json()["asked"] == 1 and asked.json()["unknown_cards"] == 0
    assert Invitation.objects.filter(need__public_id=need["id"]).count() == 1
    again = caller_a.post(f"/needs/{need['id']}/invitations", {"card_ids": [cards[0]["id"]]})
    assert again.status_code == 409
    statuses = caller_a.get(f"/needs/{need['id']}/invitations").json()["items"]
    assert [item["status"] for item in statuses] == ["pending"]
    assert "user" not in statuses[0]
    assert AuditEntry.objects.filter(action="api.asks_sent").count() == 1


def test_inviting_for_a_draft_is_409(caller_a, skill):
    need = create(caller_a, skill)
    response = caller_a.post(f"/needs/{need['id']}/invitations", {"card_ids": ["abc"]})
    assert response.status_code == 409
