"""QUALITY.md's authorisation matrix, both directions, over every URL that exists.

For each route: every persona the table allows gets a 2xx; every other persona is
refused (403, 404, 405 or a redirect). Any 2xx that shows one persona's marker to
another must be matched by an access-log row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.urls import reverse

from handsup.core.models import PrivateFile
from handsup.core.schedule import claim_due_jobs
from tests.authorisation.access_log import access_log_rows
from tests.authorisation.matrix import (
    ADMIN_FIXED,
    ADMIN_MODEL_ROUTES,
    ADMIN_STAFF,
    ADMIN_SWITCHED_OFF,
    MATRIX,
    PERSONAS,
    Expect,
)
from tests.authorisation.urls import Route, all_routes
from tests.fixtures import Cast

REFUSED = {301, 302, 303, 401, 403, 404, 405}
ADMIN_MODEL_ROUTE = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/(?P<rest>.*)$")
ADMIN_APP_LIST = re.compile(r"^admin/\^\(\?P<app_label>(?P<apps>[\w|]+)\)/\$$")


@dataclass
class World(Cast):
    private_file: PrivateFile


def expectation_for(route: Route) -> Expect | None:
    if route.pattern in MATRIX:
        return MATRIX[route.pattern]
    if route.pattern in ADMIN_FIXED:
        return ADMIN_FIXED[route.pattern]
    if match := ADMIN_APP_LIST.match(route.pattern):
        app_label = match["apps"].split("|")[0]
        return Expect(ADMIN_STAFF, path=lambda world: f"/admin/{app_label}/")
    if match := ADMIN_MODEL_ROUTE.match(route.pattern):
        app_label, model_name, rest = match["app"], match["model"], match["rest"]
        if rest not in ADMIN_MODEL_ROUTES:
            return None
        allowed = ADMIN_MODEL_ROUTES[rest]
        if rest in ADMIN_SWITCHED_OFF.get(f"{app_label}/{model_name}/", ()):
            allowed = frozenset()

        def admin_path(world: World) -> str:
            model = apps.get_model(app_label, model_name)
            first = model._default_manager.order_by("pk").first()
            assert first is not None, f"seed a {model_name} row for the admin matrix"
            return f"/admin/{app_label}/{model_name}/" + rest.replace(
                "<path:object_id>", str(first.pk)
            )

        return Expect(allowed, path=admin_path)
    return None


ROUTES = all_routes()


def test_every_url_is_in_the_matrix():
    unmapped = [route.pattern for route in ROUTES if expectation_for(route) is None]
    assert unmapped == [], f"URLs missing from the authorisation matrix: {unmapped}"


def test_the_matrix_names_no_url_that_does_not_exist():
    patterns = {route.pattern for route in ROUTES}
    stale = sorted(set(MATRIX) - patterns) + sorted(set(ADMIN_FIXED) - patterns)
    assert stale == []


@pytest.fixture
def world(cast: Cast) -> World:
    owner = cast.users["organiser_a"]
    private_file = PrivateFile.objects.create(
        name="group-a-export.csv",
        content_type="text/csv",
        owner=owner,
        group=cast.groups["group_a"],
        file=ContentFile(b"id\n1\n", name="group-a-export.csv"),
    )
    # Rows for every admin page that needs one.
    claim_due_jobs(worker_id="matrix")
    return World(
        groups=cast.groups,
        users=cast.users,
        marker_token=cast.marker_token,
        private_file=private_file,
    )


def _path(route: Route, expect: Expect, world: World) -> str:
    if expect.path is not None:
        return expect.path(world)
    assert route.name, f"{route.pattern} needs a path builder in the matrix"
    return reverse(route.name)


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.pattern or "/")
def test_route_answers_each_persona_as_the_matrix_says(route: Route, world: World):
    expect = expectation_for(route)
    assert expect is not None, f"{route.pattern} is not in the matrix"
    path = _path(route, expect, world)
    wrong: list[str] = []
    leaks: list[str] = []
    for persona in PERSONAS:
        client = world.client_for(persona)
        response = getattr(client, expect.method)(path, expect.data)
        status = response.status_code
        if persona in expect.allowed:
            if not 200 <= status < 300:
                wrong.append(
                    f"{persona}: expected 2xx, got {status} {response.get('Location', '')}"
                )
                continue
            leaks += _unlogged_markers(response, persona, world)
            if response.get("Content-Type", "").startswith("text/html"):
                if "Content-Security-Policy" not in response:
                    wrong.append(f"{persona}: HTML without a Content-Security-Policy header")
        elif status not in REFUSED:
            wrong.append(f"{persona}: expected a refusal, got {status}")
    assert wrong == [], f"{expect.method.upper()} {path}: " + "; ".join(wrong)
    assert leaks == [], f"{path} shows personal data without an access-log row: {leaks}"


def _unlogged_markers(response, viewer: str, world: World) -> list[str]:
    body = b"".join(response) if response.streaming else response.content
    text = body.decode("utf-8", errors="replace")
    found = []
    for subject, marker in world.markers().items():
        if subject == viewer or marker not in text:
            continue
        viewer_user = None if viewer == "anonymous" else world.users[viewer]
        if access_log_rows(viewer=viewer_user, subject=world.users[subject]) == 0:
            found.append(f"{viewer} saw {subject}")
    return found


@pytest.mark.django_db
def test_the_marker_check_catches_a_page_showing_someone_else(world: World):
    class Page:
        streaming = False
        content = f"<p>{world.marker('volunteer')}</p>".encode()

    assert _unlogged_markers(Page(), "organiser_b", world) == ["organiser_b saw volunteer"]
    assert _unlogged_markers(Page(), "volunteer", world) == []
