"""The commitments calendar: a valid iCalendar file with one event per time of each need
the person said yes to (weekly repeats for ongoing needs), and nobody else's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Any

import icalendar
import pytest
from django.utils import timezone

from handsup.needs.actions import TimeWindow, do_create_need, do_update_need, need_details_of
from handsup.needs.answers import do_accept
from handsup.needs.models import Invitation, Need
from handsup.needs.offers import do_offer

from .conftest import at, in_days, on_site_details

pytestmark = pytest.mark.django_db

CALENDAR_URL = "/me/needs/calendar.ics"


def say_yes(cast, need: Need, persona: str = "volunteer") -> Invitation:
    """An offer from `persona`, accepted by the group: the way an offer becomes a yes."""
    offer = do_offer(actor=cast.users[persona], need=need, share_phone=False)
    do_accept(invitation=offer, actor=cast.users["organiser_a"], share_phone=False)
    offer.refresh_from_db()
    assert offer.status == Invitation.Status.ACCEPTED
    return offer


@pytest.fixture
def on_site(cast, skills) -> Need:
    return do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(
            skills,
            windows=(TimeWindow(at(10, 10), at(10, 16)), TimeWindow(at(12, 18), at(12, 20))),
            closes_on=in_days(11),
        ),
        publish=True,
    )


@pytest.fixture
def ongoing(make_need) -> Need:
    # Monday morning and Wednesday evening (bits 0 and 2 * 3 + 2).
    return make_need(publish=True, weekly_slots=(1 << 0) | (1 << 8), title="Phone bank")


def events(cast, persona: str = "volunteer") -> list[Any]:
    response = cast.client_for(persona).get(CALENDAR_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0"
    return sorted(calendar.walk("VEVENT"), key=lambda e: str(e["UID"]))


def test_each_set_time_of_a_need_they_said_yes_to_is_an_event(cast, on_site):
    invitation = say_yes(cast, on_site)

    found = events(cast)

    assert len(found) == 2
    starts = sorted((e.decoded("DTSTART"), e.decoded("DTEND")) for e in found)
    assert starts == [(at(10, 10), at(10, 16)), (at(12, 18), at(12, 20))]
    for event in found:
        assert str(event["SUMMARY"]) == on_site.title
        assert str(event["LOCATION"]) == on_site.area_name
        assert "Manchester Central Constituency Party" in str(event["DESCRIPTION"])
        assert f"/needs/{on_site.public_id}/" in str(event["DESCRIPTION"])
        assert str(event["UID"]).startswith(invitation.public_id)
        assert "RRULE" not in event


def test_uids_stay_the_same_across_downloads_and_edits_of_the_need(cast, on_site):
    say_yes(cast, on_site)
    before = [str(e["UID"]) for e in events(cast)]
    # Editing the title replaces the need's time rows; the events must not change name.
    do_update_need(
        actor=cast.users["organiser_a"],
        need=on_site,
        details=replace(need_details_of(on_site), title="Stewards (updated)"),
    )
    after = events(cast)
    assert [str(e["UID"]) for e in after] == before
    assert len(set(before)) == 2
    assert {str(e["SUMMARY"]) for e in after} == {"Stewards (updated)"}


def test_an_ongoing_need_repeats_weekly_on_its_slots_until_it_closes(cast, ongoing):
    say_yes(cast, ongoing)

    found = events(cast)

    assert len(found) == 2
    by_hour = {}
    for event in found:
        start = timezone.localtime(event.decoded("DTSTART"))
        end = timezone.localtime(event.decoded("DTEND"))
        by_hour[(start.weekday(), start.time(), end.time())] = event
        assert start.date() >= timezone.localdate()
        assert (start.date() - timezone.localdate()).days < 7
        rule = event["RRULE"]
        assert rule["FREQ"] == ["WEEKLY"]
        [until] = rule["UNTIL"]
        assert until.astimezone(UTC) == datetime.combine(
            ongoing.closes_on, time(23, 59, 59), tzinfo=timezone.get_default_timezone()
        ).astimezone(UTC)
        assert str(event["LOCATION"]) == "Remote"
        assert "confirm the exact times" in str(event["DESCRIPTION"])
    assert set(by_hour) == {(0, time(9), time(12)), (2, time(18), time(21))}
    monday = str(by_hour[(0, time(9), time(12))]["DESCRIPTION"])
    assert "Every Monday morning, 09:00–12:00" in monday


def test_only_their_own_accepted_commitments_are_in_it(cast, on_site, ongoing, make_need):
    say_yes(cast, on_site, persona="admin_a")  # someone else's yes
    do_offer(actor=cast.users["volunteer"], need=ongoing, share_phone=False)  # still pending
    assert events(cast) == []

    say_yes(cast, make_need(publish=True, title="Their own"))
    assert [str(e["SUMMARY"]) for e in events(cast)] == ["Their own", "Their own"]
    assert {str(e["SUMMARY"]) for e in events(cast, "admin_a")} == {on_site.title}


def test_someone_with_no_commitments_gets_an_empty_calendar(cast):
    assert events(cast, "volunteer_other") == []


def test_signing_in_is_needed(cast):
    response = cast.client_for("anonymous").get(CALENDAR_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
