"""The volunteer's own profile: every section shown, each edited on its own page."""

from __future__ import annotations

import html
from datetime import date

import pytest
from django.test import Client

from handsup.people.models import DateAway, Person, Profile
from handsup.privacy.models import AuditEntry
from tests.fixtures import Cast


@pytest.fixture
def vera(cast: Cast) -> tuple[Client, Person]:
    return cast.client_for("volunteer"), Person.objects.get(user=cast.users["volunteer"])


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_every_persona_has_a_profile_page(cast: Cast):
    for key in ("volunteer", "organiser_a", "dpo"):
        response = cast.client_for(key).get("/me/profile/")
        assert response.status_code == 200
        assert cast.marker(key) in response.content.decode()


def test_profile_shows_each_section_with_an_edit_link_and_what_is_missing(vera):
    client, _ = vera
    page = text(client.get("/me/profile/"))
    for link in (
        "/me/profile/skills/",
        "/me/profile/availability/",
        "/me/profile/about/",
        "/me/profile/dates-away/",
        "/me/profile/travel/",
        "/me/profile/contact/",
    ):
        assert f'href="{link}"' in page
    assert "Add your availability so groups know when to ask" in page
    assert "Add your skills" in page


def test_editing_availability_from_the_profile(vera):
    client, person = vera
    response = client.post(
        "/me/profile/availability/", {"slots": ["18"], "hours_normal": "1", "hours_campaign": "1"}
    )
    assert response["Location"] == "/me/profile/"
    assert Profile.objects.get(person=person).availability == 1 << 18
    page = text(client.get("/me/profile/"))
    assert "Add your availability" not in page
    assert "Your availability is saved." in page


def test_languages_include_welsh_and_bsl_and_are_saved(vera):
    client, person = vera
    page = text(client.get("/me/profile/about/"))
    assert "Welsh" in page and "British Sign Language" in page
    response = client.post(
        "/me/profile/about/",
        {
            "talents": "baking, banners",
            "languages": ["cy", "bfi"],
            "accessibility_needs": "Step-free",
        },
    )
    assert response["Location"] == "/me/profile/"
    profile = Profile.objects.get(person=person)
    assert profile.languages == ["cy", "bfi"]
    assert profile.talents == "baking, banners"
    page = text(client.get("/me/profile/"))
    assert "Welsh, British Sign Language" in page
    assert AuditEntry.objects.filter(action="people.about_set").exists()


@pytest.mark.parametrize("km", ["0", "1000", "-3"])
def test_travel_radius_out_of_range_is_refused(vera, km):
    client, person = vera
    response = client.post("/me/profile/travel/", {"travel_radius_km": km})
    assert response.status_code == 400
    page = text(response)
    assert "Enter a distance from 1 to 500 km" in page
    assert f'value="{km}"' in page
    assert Profile.objects.get(person=person).travel_radius_km == 10


@pytest.mark.parametrize("km", ["1", "500"])
def test_travel_radius_in_range_is_saved(vera, km):
    client, person = vera
    assert (
        client.post("/me/profile/travel/", {"travel_radius_km": km})["Location"] == "/me/profile/"
    )
    assert Profile.objects.get(person=person).travel_radius_km == int(km)


def test_dates_away_are_added_and_removed(vera):
    client, person = vera
    response = client.post(
        "/me/profile/dates-away/", {"starts_on": "2026-12-24", "ends_on": "2027-01-02"}
    )
    assert response["Location"] == "/me/profile/dates-away/"
    away = DateAway.objects.get(person=person)
    assert (away.starts_on, away.ends_on) == (date(2026, 12, 24), date(2027, 1, 2))
    assert "24 December 2026" in text(client.get("/me/profile/"))
    response = client.post("/me/profile/dates-away/", {"remove": str(away.pk)})
    assert not DateAway.objects.filter(person=person).exists()
    assert AuditEntry.objects.filter(action="people.date_away_removed").exists()


def test_end_before_start_is_refused_with_dates_kept(vera):
    client, _person = vera
    response = client.post(
        "/me/profile/dates-away/", {"starts_on": "2026-12-24", "ends_on": "2026-12-20"}
    )
    assert response.status_code == 400
    page = text(response)
    assert "on or after the day you go" in page
    assert 'value="2026-12-24"' in page and 'value="2026-12-20"' in page
    assert not DateAway.objects.exists()


def test_nobody_removes_another_persons_dates_away(cast: Cast, vera):
    _, person = vera
    away = DateAway.objects.create(
        person=person, starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 2)
    )
    other = cast.client_for("volunteer_other")
    assert other.post("/me/profile/dates-away/", {"remove": str(away.pk)}).status_code == 404
    assert DateAway.objects.filter(pk=away.pk).exists()


def test_profile_pages_send_anonymous_people_to_log_in():
    client = Client()
    for path in ("/me/profile/", "/me/profile/travel/", "/hand-up/skills/"):
        assert client.get(path)["Location"].startswith("/accounts/login/")
