"""Submitting a story through the API: the site's rules, the curators' queue, no pictures."""

from __future__ import annotations

from typing import Any

import pytest

from handsup.privacy.models import AuditEntry
from handsup.stories.models import Story, StoryPerson

from .api_fixtures import *  # noqa: F403 (the token fixtures)
from .api_fixtures import make_caller

pytestmark = pytest.mark.django_db


def story(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Tenants win repairs",
        "body": "After a year of letters the landlord agreed to **fix the damp**.",
        "district": "M1",
        "happened_on": "2026-03-01",
        "issues": ["housing"],
        "action": "campaign-win",
        "people": [{"name": "Amira Khan", "role": "tenant", "consented": True}],
        "links": ["https://example.org/news"],
    }
    data.update(overrides)
    return data


def test_a_story_sent_through_the_api_waits_for_a_curator(cast, caller_a, places):
    response = caller_a.post("/stories", story())
    assert response.status_code == 201, response.content
    sent = Story.objects.get(public_id=response.json()["id"])
    assert response.json()["status"] == "new" == sent.status
    assert sent.published_at is None  # never published without a curator
    assert sent.author == cast.users["admin_a"]
    assert sent.group == cast.groups["group_a"]
    assert (sent.district, sent.region) == ("M1", "north_west")
    assert [t.slug for t in sent.issues.all()] == ["housing"]
    assert sent.action_type is not None and sent.action_type.slug == "campaign-win"
    assert sent.links == ["https://example.org/news"]
    assert list(sent.people.values_list("name", "consented")) == [("Amira Khan", True)]
    assert AuditEntry.objects.filter(
        action="api.story_submitted", object_public_id=sent.public_id
    ).exists()
    # Not readable through the API (published stories only) until a curator publishes it.
    assert caller_a.get("/stories").json()["items"] == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"body": "<script>alert(1)</script>"}, "body"),
        ({"district": "ZZ99"}, "district"),
        ({"district": "", "region": ""}, "district"),
        ({"happened_on": "2999-01-01"}, "happened_on"),
        ({"issues": ["no-such-issue"]}, "issues"),
        ({"action": "no-such-action"}, "action"),
        ({"links": ["javascript:alert(1)"]}, "links"),
        (
            {
                "body": "Bob Quiet helped.",
                "people": [{"name": "Bob Quiet", "role": "", "consented": False}],
            },
            "people[0].consented",
        ),
    ],
)
def test_a_story_breaking_a_rule_is_422_by_field_and_stores_nothing(
    caller_a,
    places,
    overrides,
    field,
):
    response = caller_a.post("/stories", story(**overrides))
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"], response.json()
    assert Story.objects.count() == 0 and StoryPerson.objects.count() == 0


def test_wrong_types_and_unknown_fields_are_refused(caller_a, places):
    assert caller_a.post("/stories", story(title=5)).status_code == 422
    assert caller_a.post("/stories", story(status="published")).status_code == 422
    assert caller_a.post("/stories", raw="{not json").status_code == 400
    assert Story.objects.count() == 0


def test_the_write_scope_is_needed_and_the_rate_limit_holds(
    cast,
    caller_a,
    places,
    settings,
):
    reader = make_caller(cast, group="group_a", creator="admin_a", scopes=["stories:read"])
    response = reader.post("/stories", story())
    assert response.status_code == 403 and "stories:write" in response.json()["detail"]
    settings.HANDSUP_STORIES_PER_HOUR = 1
    assert caller_a.post("/stories", story()).status_code == 201
    response = caller_a.post("/stories", story(title="Another"))
    assert response.status_code == 429
    assert Story.objects.count() == 1
