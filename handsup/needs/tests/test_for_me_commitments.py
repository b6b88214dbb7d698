""" "My commitments": what the person said yes to (soonest first), what waits for them,
their offers, and logging hours, bad input included."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from handsup.needs.actions import TimeWindow, do_create_need
from handsup.needs.answers import do_accept
from handsup.needs.models import HoursLog, Invitation, Need
from handsup.needs.offers import do_offer

from .conftest import at, in_days, on_site_details

pytestmark = pytest.mark.django_db

PAGE = "/me/needs/"


def say_yes(cast, need: Need, persona: str = "volunteer") -> Invitation:
    offer = do_offer(actor=cast.users[persona], need=need, share_phone=False)
    do_accept(invitation=offer, actor=cast.users["organiser_a"], share_phone=False)
    offer.refresh_from_db()
    return offer


def commitment_prefix(page: str) -> str:
    """The first hours form's prefix (the invitation's public id) on the page."""
    return page.split('action="/me/needs/')[1].split("/")[0]


def hours_url(invitation: Invitation) -> str:
    return f"/me/needs/{invitation.public_id}/hours/"


def hours_data(invitation: Invitation, **values: str) -> dict[str, str]:
    data = {"hours": "2.5", "on_date": timezone.localdate().isoformat(), "note": ""}
    data.update(values)
    return {f"{invitation.public_id}-{key}": value for key, value in data.items()}


@pytest.fixture
def commitment(cast, make_need) -> Invitation:
    return say_yes(cast, make_need(publish=True, title="Phone bank callers"))


def test_the_page_shows_commitments_soonest_first_then_what_waits(cast, skills, make_need):
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    later = do_create_need(
        actor=organiser,
        group=group,
        details=on_site_details(
            skills, title="Later stewards", windows=(TimeWindow(at(20, 10), at(20, 12)),)
        ),
        publish=True,
    )
    sooner = do_create_need(
        actor=organiser,
        group=group,
        details=on_site_details(
            skills, title="Sooner stewards", windows=(TimeWindow(at(3, 10), at(3, 12)),)
        ),
        publish=True,
    )
    say_yes(cast, later)
    say_yes(cast, sooner)
    offered = make_need(publish=True, title="An offer of mine")
    do_offer(actor=cast.users["volunteer"], need=offered, share_phone=False)
    asked = make_need(publish=True, title="They asked me")
    now = timezone.now()
    Invitation.objects.create(
        need=asked,
        user=cast.users["volunteer"],
        source=Invitation.Source.ASK,
        invited_by=organiser,
        created_at=now,
        expires_at=now + timedelta(days=14),
    )

    response = cast.client_for("volunteer").get(PAGE)

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Sooner stewards") < page.index("Later stewards")
    assert "Manchester Central Constituency Party" in page
    assert 'href="/me/needs/calendar.ics"' in page
    today = timezone.localdate().isoformat()
    assert f'type="date" name="{commitment_prefix(page)}-on_date" value="{today}"' in page
    waiting = page.split("Waiting for your answer")[1]
    assert "They asked me" in waiting.split("Your offers")[0]
    assert f'href="/needs/{asked.public_id}/answer/"' in waiting
    assert "An offer of mine" in waiting.split("Your offers")[1]
    assert "waiting for the group" in waiting.split("Your offers")[1]


def test_the_page_costs_the_same_queries_however_many_commitments(
    cast, make_need, django_assert_num_queries
):
    client = cast.client_for("volunteer")
    say_yes(cast, make_need(publish=True, title="One"))
    with django_assert_num_queries(5):
        client.get(PAGE)
    for title in ("Two", "Three"):
        say_yes(cast, make_need(publish=True, title=title))
    with django_assert_num_queries(5):
        assert client.get(PAGE).status_code == 200


def test_logging_hours_from_the_page(cast, commitment):
    client = cast.client_for("volunteer")

    response = client.post(hours_url(commitment), hours_data(commitment, note="Called 20"))

    assert response.status_code == 302 and response["Location"] == PAGE
    entry = HoursLog.objects.get(invitation=commitment)
    assert (entry.hours, entry.on_date, entry.note, entry.logged_by) == (
        Decimal("2.5"),
        timezone.localdate(),
        "Called 20",
        cast.users["volunteer"],
    )
    page = client.get(PAGE).content.decode()
    assert "2.5 hours in all." in page and "Called 20" in page


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        pytest.param({"hours": "0"}, "hours", "more than 0", id="zero-hours"),
        pytest.param({"hours": "-1"}, "hours", "more than 0", id="negative-hours"),
        pytest.param({"hours": "25"}, "hours", "At most 24 hours", id="over-a-day"),
        pytest.param({"hours": "1.25"}, "hours", "one decimal place", id="two-decimals"),
        pytest.param({"hours": "lots"}, "hours", "as a number", id="not-a-number"),
        pytest.param({"hours": ""}, "hours", "required", id="no-hours"),
        pytest.param({"on_date": "tomorrow"}, "on_date", "as a date", id="not-a-date"),
        pytest.param({"on_date": "future"}, "on_date", "hasn", id="future-day"),
        pytest.param({"on_date": "before"}, "on_date", "before this invitation", id="too-early"),
        pytest.param({"note": "x" * 201}, "note", "200", id="long-note"),
    ],
)
def test_bad_hours_get_a_message_beside_the_field_and_nothing_is_logged(
    cast, commitment, values, field, message
):
    if values.get("on_date") == "future":
        values = {"on_date": in_days(1).isoformat()}
    elif values.get("on_date") == "before":
        values = {"on_date": in_days(-1).isoformat()}

    response = cast.client_for("volunteer").post(
        hours_url(commitment), hours_data(commitment, **values)
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    error_id = f"id_{commitment.public_id}-{field}_error"
    assert f'id="{error_id}"' in page
    beside = page.split(f'id="{error_id}"')[1].split("</p>")[0]
    assert message in beside.replace("&#x27;", "'")
    assert not HoursLog.objects.exists()


def test_someone_elses_commitment_is_404(cast, commitment):
    response = cast.client_for("volunteer_other").post(
        hours_url(commitment), hours_data(commitment)
    )
    assert response.status_code == 404
    # Not even the group's organiser logs hours through the volunteer's own page.
    response = cast.client_for("organiser_a").post(hours_url(commitment), hours_data(commitment))
    assert response.status_code == 404
    assert not HoursLog.objects.exists()


def test_a_pending_offer_has_no_hours_to_log(cast, make_need):
    offer = do_offer(actor=cast.users["volunteer"], need=make_need(publish=True), share_phone=False)
    response = cast.client_for("volunteer").post(hours_url(offer), hours_data(offer))
    assert response.status_code == 404
    assert not HoursLog.objects.exists()


def test_only_post_logs_hours(cast, commitment):
    assert cast.client_for("volunteer").get(hours_url(commitment)).status_code == 405


def test_signing_in_is_needed(cast):
    response = cast.client_for("anonymous").get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_need_over_moves_below_the_upcoming_ones(cast, commitment, make_need):
    Need.objects.filter(pk=commitment.need_id).update(closes_on=in_days(-1))
    say_yes(cast, make_need(publish=True, title="Still going"))
    page = cast.client_for("volunteer").get(PAGE).content.decode()
    assert page.index("Still going") < page.index("Phone bank callers")
    assert ">over<" in page
