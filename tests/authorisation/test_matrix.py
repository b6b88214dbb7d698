"""QUALITY.md's authorisation matrix, both directions, over every URL that exists.

For each route: every persona the table allows gets a 2xx; every other persona is
refused (403, 404, 405 or a redirect). Any 2xx that shows one persona's marker to
another must be matched by an access-log row.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from PIL import Image

from handsup.core.models import PrivateFile
from handsup.core.schedule import claim_due_jobs
from handsup.groups.models import Group, JoinRequest, Membership
from tests.authorisation.access_log import access_log_rows
from tests.authorisation.matrix import (
    ADMIN_FIXED,
    ADMIN_MODEL_ROUTES,
    ADMIN_STAFF,
    ADMIN_SWITCHED_OFF,
    PERSONAS,
    Expect,
)
from tests.authorisation.matrix import MATRIX as SITE_MATRIX
from tests.authorisation.matrix_api import API_MATRIX
from tests.authorisation.matrix_platform import PLATFORM_MATRIX
from tests.authorisation.matrix_stories import STORIES_MATRIX
from tests.authorisation.matrix_tools import TOOLS_MATRIX
from tests.authorisation.urls import Route, all_routes
from tests.fixtures import Cast

MATRIX = {**SITE_MATRIX, **STORIES_MATRIX, **TOOLS_MATRIX, **PLATFORM_MATRIX, **API_MATRIX}
REFUSED = {301, 302, 303, 401, 403, 404, 405}
# Where a refusal redirects: to log in, or to finish an MFA or reauthentication step.
REFUSAL_REDIRECTS = ("/accounts/login/", "/accounts/2fa/", "/accounts/reauthenticate/")
ADMIN_MODEL_ROUTE = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/(?P<rest>.*)$")
ADMIN_APP_LIST = re.compile(r"^admin/\^\(\?P<app_label>(?P<apps>[\w|]+)\)/\$$")


@dataclass
class World(Cast):
    private_file: PrivateFile
    pending_group: Group
    join_request: JoinRequest
    volunteer_membership: Membership

    @staticmethod
    def small_png() -> SimpleUploadedFile:
        out = io.BytesIO()
        Image.new("RGB", (8, 8), (10, 20, 30)).save(out, format="PNG")
        return SimpleUploadedFile("logo.png", out.getvalue(), content_type="image/png")


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
    pending_group = Group.objects.create(
        name="Ancoats Branch",
        slug="ancoats",
        kind=Group.Kind.BRANCH,
        parent=cast.groups["group_a"],
        status=Group.Status.PENDING,
        requested_by=cast.users["admin_a"],
    )
    join_request = JoinRequest.objects.create(
        user=cast.users["volunteer_other"], group=cast.groups["group_a"]
    )
    return World(
        groups=cast.groups,
        users=cast.users,
        marker_token=cast.marker_token,
        private_file=private_file,
        pending_group=pending_group,
        join_request=join_request,
        volunteer_membership=Membership.objects.get(
            user=cast.users["volunteer"], group=cast.groups["group_a"]
        ),
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
        # Each persona meets the same world: whatever one request changes is undone,
        # after the access log it wrote has been checked.
        with transaction.atomic():
            data = expect.data(world) if expect.data else {}
            response = getattr(client, expect.method)(path, data)
            seen_unlogged = _unlogged_markers(response, persona, world)
            transaction.set_rollback(True)
        status = response.status_code
        if persona in expect.allowed:
            if not (200 <= status < 300 or _granted_redirect(response, expect)):
                wrong.append(
                    f"{persona}: expected 2xx, got {status} {response.get('Location', '')}"
                )
                continue
            leaks += seen_unlogged
            is_html = response.get("Content-Type", "").startswith("text/html")
            if is_html and "Content-Security-Policy" not in response:
                wrong.append(f"{persona}: HTML without a Content-Security-Policy header")
        elif status not in REFUSED or _granted_redirect(response, expect):
            wrong.append(
                f"{persona}: expected a refusal, got {status} {response.get('Location', '')}"
            )
        else:
            leaks += seen_unlogged  # a refusal must not show anyone either
    assert wrong == [], f"{expect.method.upper()} {path}: " + "; ".join(wrong)
    assert leaks == [], f"{path} shows personal data without an access-log row: {leaks}"


def _granted_redirect(response, expect: Expect) -> bool:
    """A POST that did its work and redirects on (not to a login or MFA step)."""
    if expect.method != "post" or response.status_code not in {302, 303}:
        return False
    return not response["Location"].startswith(REFUSAL_REDIRECTS)


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
