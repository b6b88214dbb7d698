"""The read-only operations: the token's group, published stories, published tools;
scopes, group isolation, and query counts pinned on the lists."""

from __future__ import annotations

import pytest

from handsup.platform.models import Tool
from handsup.stories.models import Story
from handsup.stories.tests.conftest import make_story

from .api_fixtures import *  # noqa: F403 (the token fixtures)
from .api_fixtures import make_caller

pytestmark = pytest.mark.django_db


def test_groups_me_and_by_id_show_only_the_tokens_group(cast, caller_a, caller_b):
    me = caller_a.get("/groups/me")
    assert me.status_code == 200
    group_a = cast.groups["group_a"]
    assert me.json()["id"] == group_a.public_id and me.json()["name"] == group_a.name
    assert caller_a.get(f"/groups/{group_a.public_id}").json() == me.json()
    response = caller_b.get(f"/groups/{group_a.public_id}")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    parent = cast.groups["group_a"].parent
    assert parent is not None
    assert caller_a.get(f"/groups/{parent.public_id}").status_code == 404


def test_a_missing_scope_is_403_naming_it(cast):
    caller = make_caller(cast, group="group_a", creator="admin_a", scopes=["needs:read"])
    response = caller.get("/groups/me")
    assert response.status_code == 403
    assert "groups:read" in response.json()["detail"]
    assert caller.get("/stories").status_code == 403
    assert caller.get("/tools").status_code == 403


def test_stories_are_published_only(cast, caller_a, django_assert_num_queries):
    author = cast.users["volunteer"]
    shown = [make_story(author, Story.Status.PUBLISHED, title=f"Win {n}") for n in range(3)]
    make_story(author, Story.Status.NEW, title="Not yet")
    make_story(author, Story.Status.REJECTED, title="Never")
    caller_a.get("/groups/me")  # warm the token's last-used stamp
    # The token (with group and creator), its creator's roles and admin membership, the
    # rate counter (6 with the database cache, 1 with Redis), the stories, the call row.
    with django_assert_num_queries(11):
        response = caller_a.get("/stories", limit=2)
    body = response.json()
    assert [item["title"] for item in body["items"]] == ["Win 2", "Win 1"]
    rest = caller_a.get("/stories", cursor=body["next_cursor"]).json()
    assert [item["title"] for item in rest["items"]] == ["Win 0"]
    assert rest["next_cursor"] is None
    assert {item["id"] for item in body["items"] + rest["items"]} == {s.public_id for s in shown}
    assert author.email not in response.content.decode()


def test_tools_are_published_only(cast, caller_a):
    def tool(name: str, review: str) -> Tool:
        made = Tool.objects.create(
            name=name,
            summary="s",
            description="d",
            licence="AGPL-3.0",
            source_url="https://example.org/src",
            review=review,
            tags=["rota"],
        )
        made.used_by.add(cast.groups["group_a"])
        return made

    tool("Rota", Tool.Review.PUBLISHED)
    tool("Draft", Tool.Review.PENDING)
    tool("Spam", Tool.Review.REJECTED)
    items = caller_a.get("/tools").json()["items"]
    assert [item["name"] for item in items] == ["Rota"]
    assert items[0]["used_by"] == [cast.groups["group_a"].public_id]
    assert items[0]["tags"] == ["rota"]


def test_openapi_documents_every_error_on_every_operation(client):
    schema = client.get("/api/v1/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if path != "/api/v1/health"
    ]
    assert len(operations) >= 13
    for path, method, operation in operations:
        documented = set(operation["responses"])
        assert {"400", "401", "403", "404", "409", "422", "429"} <= documented, (path, method)
        assert operation.get("security"), (path, method)
