"""The open platform in a real browser (issue 14).

1. Group A's admin (with their authenticator app) makes an API token from the group's
   page: a name, two scopes, 30 days. The secret is shown once; a program using it reads
   the group through the API; the token list then shows when it was last used and never
   the secret again. Revoking it in the page makes the next call a 401.
2. A volunteer adds a tool to the registry; it waits for a curator, who publishes it;
   an anonymous reader then finds it by searching. The volunteer, as its maintainer,
   changes its link: it stays in the registry and goes back to the curators marked
   "changed since".
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from handsup.platform.models import ApiToken, Tool
from tests.browser.journey import Journey
from tests.browser.test_accounts_journeys import expect_heading
from tests.browser.test_groups_journeys import log_in_as, run_group
from tests.fixtures import Cast

pytestmark = pytest.mark.browser


def call_api(live_server: LiveServer, path: str, secret: str) -> tuple[int, Any]:
    """A program's request, from outside the browser: no cookies, only the token."""
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {secret}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_an_admin_makes_a_token_a_program_uses_it_and_revoking_stops_it(
    cast: Cast, journey: Journey, live_server: LiveServer
) -> None:
    group = cast.groups["group_a"]
    log_in_as(journey, cast, "admin_a")
    run_group(journey, group)
    journey.click("API tokens: let your group's programs use the Hands Up API")
    expect_heading(journey, f"API tokens of {group.name}")
    expect(journey.page.get_by_text("No tokens yet.")).to_be_visible()

    journey.fill("Name", "Our CRM")
    journey.page.get_by_label("Read the group", exact=True).check()
    journey.page.get_by_label("Read needs, shortlists and invitations").check()
    journey.fill("Expires after (days)", "30")
    journey.submit("Create token")
    expect(journey.page.get_by_role("heading", name="Your new token")).to_be_visible()
    secret = journey.page.locator(".token-secret-value").inner_text().strip()
    token = ApiToken.objects.get(group=group, name="Our CRM")
    assert secret.startswith(token.prefix) and token.prefix not in ("", secret)
    assert sorted(token.scopes) == ["groups:read", "needs:read"]

    status, body = call_api(live_server, "/api/v1/groups/me", secret)
    assert status == 200, body
    assert body["name"] == group.name
    # The scopes chosen, and no more: members need a scope this token lacks.
    status, body = call_api(live_server, "/api/v1/members", secret)
    assert status == 403, body

    journey.visit(reverse("platform:tokens", args=[group.public_id]))
    row = journey.page.get_by_role("row").filter(has_text="Our CRM")
    expect(row).not_to_contain_text("Never")  # last used: just now
    expect(journey.page.locator(".token-secret-value")).to_have_count(0)
    assert secret not in journey.page.content()

    journey.click(row.get_by_role("button", name="Revoke"))
    status, body = call_api(live_server, "/api/v1/groups/me", secret)
    assert status == 401, body


def test_a_tool_is_added_published_found_and_a_changed_one_is_checked_again(
    cast: Cast, new_journey: Any
) -> None:
    volunteer = new_journey()
    log_in_as(volunteer, cast, "volunteer")
    navigation = volunteer.page.get_by_role("navigation", name="Main")
    volunteer.click(navigation.get_by_role("link", name="Tools", exact=True))
    volunteer.click("Add a tool")
    expect_heading(volunteer, "Add a tool")
    volunteer.fill("Name", "Knock List")
    volunteer.fill("What it does, in a line", "Share out streets for canvassing.")
    volunteer.fill("What it does", "Knock List splits a ward into **patches** for teams.")
    volunteer.fill("Licence", "AGPL-3.0")
    volunteer.fill("Where its source code is", "https://code.example.org/knock-list")
    volunteer.page.get_by_label("Being built").check()
    volunteer.fill("Tags", "canvassing, maps")
    volunteer.page.get_by_label("I maintain it: show my name on its page").check()
    volunteer.submit("Send the tool")
    expect_heading(volunteer, "Knock List")  # maintainers see their page while it waits
    tool = Tool.objects.get(name="Knock List")
    assert tool.review == Tool.Review.PENDING

    reader = new_journey()
    reader.visit(reverse("platform:tools") + "?q=knock")
    expect(reader.page.get_by_role("link", name="Knock List")).to_have_count(0)

    curator = new_journey()
    log_in_as(curator, cast, "curator")
    curator.visit(reverse("platform:tool_queue"))
    expect_heading(curator, "Tools to curate")
    curator.click(curator.page.get_by_role("link", name="Knock List"))
    curator.page.get_by_label("Publish").check()
    curator.submit("Save the decision")
    expect_heading(curator, "Tools to curate")

    reader.visit(reverse("platform:tools") + "?q=knock")
    reader.click(reader.page.get_by_role("link", name="Knock List"))
    expect_heading(reader, "Knock List")
    expect(reader.page.get_by_text("https://code.example.org/knock-list")).to_be_visible()

    volunteer.visit(reverse("platform:tool", args=[tool.public_id]))
    volunteer.click("Change this tool")
    expect(
        volunteer.page.get_by_text("It stays in the registry while you change it.")
    ).to_be_visible()
    volunteer.fill("Where its source code is", "https://code.example.org/knock-list-2")
    volunteer.submit("Save the changes")
    tool.refresh_from_db()
    assert tool.review == Tool.Review.PUBLISHED and tool.changed_since_review

    curator.visit(reverse("platform:tool_queue"))
    row = curator.page.get_by_role("row").filter(has_text="Knock List")
    expect(row).to_contain_text("Changed since: check it again")
