"""Paced communications in a real browser: an organiser writes an update to a group with
one volunteer at their budget and one in quiet hours, checks the preview's counts and
sends; the first volunteer finds the folded update in their ledger; the update is
delivered to a real SMTP server and its one-click unsubscribe link works."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from handsup.accounts.models import User
from handsup.groups.models import Membership
from handsup.messaging.actions import do_create_message, do_send_message
from handsup.messaging.delivery import deliver_due
from handsup.messaging.models import Kind, LedgerEntry, Unsubscribe
from handsup.messaging.pacing import audience_of_users
from handsup.messaging.smtp_sink import CollectingHandler, start_sink
from tests.browser.journey import Journey
from tests.browser.test_offline_journey import PASSWORD, log_in_as_organiser_a
from tests.fixtures import Cast

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp(settings, live_server):
    controller, handler = start_sink(CollectingHandler())
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 5},
        }
    }
    settings.SITE_URL = live_server.url
    yield handler
    controller.stop()


def _quiet_hours(user: User, *, starts_in: timedelta) -> None:
    """Two hours of quiet, starting `starts_in` from now on the person's own clock."""
    profile = user.person.profile
    wall = datetime.now(UTC).astimezone(ZoneInfo(profile.time_zone)) + starts_in
    profile.quiet_from = wall.time().replace(second=0, microsecond=0)
    profile.quiet_until = (wall + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    profile.save()


def _quiet_now(user: User) -> None:
    _quiet_hours(user, starts_in=timedelta(hours=-1))


def _awake_now(user: User) -> None:
    """Away from the default quiet hours (21:00 to 08:00), whatever time the test runs."""
    _quiet_hours(user, starts_in=timedelta(hours=2))


def _log_in(journey: Journey, user: User) -> None:
    journey.visit("/accounts/login/")
    journey.fill("Email", user.email)
    journey.fill("Password", PASSWORD)
    journey.submit("Log in")


def test_compose_preview_send_fold_deliver_unsubscribe(
    cast: Cast, journey: Journey, new_journey, smtp: CollectingHandler
) -> None:
    group = cast.groups["group_a"]
    vera = cast.users["volunteer"]  # will be at her budget
    admin = cast.users["admin_a"]  # will be in quiet hours
    # Vera already had today's group update from group A.
    earlier = do_create_message(
        author=cast.users["organiser_a"], kind=Kind.GROUP_UPDATE, group=group, subject="Earlier"
    )
    do_send_message(actor=None, message=earlier, audience=audience_of_users([vera]))
    # Everyone else is awake whatever the hour the test runs; the admin is not.
    for member in User.objects.filter(memberships__group=group, person__isnull=False):
        _awake_now(member)
    _quiet_now(admin)
    members = Membership.objects.filter(group=group).count()

    log_in_as_organiser_a(cast, journey)
    journey.visit(f"/groups/manage/{group.public_id}/")
    journey.click("Write an update to members")
    journey.fill("Subject", "Street stall on Saturday")
    journey.fill("Message", "Come and help at the **stall**, 10am to noon.")
    journey.submit("Check what will happen")
    table = journey.page.get_by_role("table")
    expect(table).to_contain_text(f"{members} people")
    rows = {
        row.locator("td").nth(0).inner_text(): row.locator("td").nth(1).inner_text()
        for row in table.locator("tbody tr").all()
    }
    assert rows["Held until their quiet hours end"] == "1"
    assert rows["Folded into their next digest (over their budget)"] == "1"
    journey.submit("Send the update")
    expect(journey.page.locator(".notifications")).to_contain_text("held for quiet hours")

    # The worker delivers what was sent now, to a real SMTP server.
    deliver_due(worker_id="journey", time_budget=10)
    stall = [m for m in smtp.received if "Street stall" in str(m.parsed()["Subject"])]
    to_organiser = [m for m in stall if cast.users["organiser_a"].email in m.rcpt_tos]
    assert len(to_organiser) == 1
    email = to_organiser[0].parsed()
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(https?://[^>]+/unsubscribe/[^>]+)>", email["List-Unsubscribe"])
    assert link is not None
    assert not any(vera.email in m.rcpt_tos for m in stall)  # folded, not sent
    assert not any(admin.email in m.rcpt_tos for m in stall)  # held until morning

    # Vera finds the folded update in her ledger.
    vera_tab = new_journey()
    _log_in(vera_tab, vera)
    vera_tab.visit("/me/messages/")
    ledger = vera_tab.page.get_by_role("table", name="Your contact ledger, newest first")
    expect(ledger).to_contain_text("Street stall on Saturday")
    entry = LedgerEntry.objects.get(user=vera, message__subject="Street stall on Saturday")
    expect(ledger).to_contain_text(entry.get_reason_display())
    vera_tab.assert_all_checked()

    # The organiser follows the link in the email, without being logged in.
    anonymous = new_journey()
    anonymous.visit(link.group(1))
    assert not Unsubscribe.objects.filter(user=cast.users["organiser_a"]).exists()  # GET only
    anonymous.submit(re.compile("unsubscribe|stop", re.IGNORECASE))
    assert Unsubscribe.objects.filter(user=cast.users["organiser_a"], group=group).exists()
    anonymous.assert_all_checked()
    journey.assert_all_checked()
