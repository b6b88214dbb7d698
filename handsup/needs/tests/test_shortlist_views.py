"""The shortlist page: pseudonymous cards for group A's organisers, filters, bad filters,
and an access-log row for everyone shown."""

from __future__ import annotations

import pytest

from handsup.needs.models import Need
from handsup.privacy.models import AccessLogEntry

from .conftest import make_volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture
def need(open_on_site_need: Need) -> Need:
    return open_on_site_need


def shortlist_url(cast, need: Need, group: str = "group_a") -> str:
    return f"/groups/manage/{cast.groups[group].public_id}/needs/{need.public_id}/shortlist/"


@pytest.fixture
def pool(cast, skills, need):
    """Three volunteers who fit, carrying markers in their names, one a member of A."""
    return {
        "near_member": make_volunteer(
            skills={skills[0]: (4, False)},
            offset_m=(0, 1_000),
            member_of=cast.groups["group_a"],
            marker="NearMarker",
        ),
        "mid": make_volunteer(skills={skills[0]: (2, False)}, offset_m=(0, 4_000), marker="Mid"),
        "far": make_volunteer(skills={skills[0]: (3, False)}, offset_m=(0, 8_000), marker="Far"),
    }


def test_an_organiser_sees_cards_that_name_nobody(cast, need, pool):
    client = cast.client_for("organiser_a")
    response = client.get(shortlist_url(cast, need))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="card"') == 3
    assert "Volunteer " in page and "Mostly because" in page
    assert "under 2 km" in page and "2–5 km" in page and "5–10 km" in page
    assert "not asked yet" in page
    for user in pool.values():
        person = user.person
        for secret in (
            user.full_name,
            user.email,
            person.postcode,
            person.profile.phone,
            str(person.eastings),
        ):
            assert secret not in page
    assert "Name" not in page.replace("name=", "")  # "Volunteer NameN …" never appears


def _queries_for(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


def test_query_count_is_pinned_and_does_not_grow_with_the_people_shown(
    cast, need, skills, pool, django_assert_num_queries
):
    client = cast.client_for("organiser_a")
    client.get(shortlist_url(cast, need))  # the first visit also writes the session
    # Session, user (with roles), MFA, the group, the need and its skills and times, the
    # campaign periods covering it (with its ancestors) and the contact limits, the
    # eligible people, their skills, and one insert into the access log.
    assert _queries_for(client, shortlist_url(cast, need)) == 14
    for offset in range(5):
        make_volunteer(skills={skills[0]: (2, False)}, offset_m=(offset * 500, 2_000))
    with django_assert_num_queries(14):
        response = client.get(shortlist_url(cast, need))
    assert response.content.decode().count('class="card"') == 8


def test_viewing_the_shortlist_logs_everyone_shown(cast, need, pool):
    organiser = cast.users["organiser_a"]
    cast.client_for("organiser_a").get(shortlist_url(cast, need))
    rows = AccessLogEntry.objects.filter(actor=organiser, purpose="shortlist")
    assert {row.subject_id for row in rows} == {user.pk for user in pool.values()}
    assert all(row.group == cast.groups["group_a"] for row in rows)
    assert rows[0].fields == ["skills", "distance_band", "availability", "asks_history"]


def test_group_bs_organiser_gets_404_and_nothing_is_logged(cast, need, pool):
    for url in (shortlist_url(cast, need), shortlist_url(cast, need, group="group_b")):
        assert cast.client_for("organiser_b").get(url).status_code == 404
    assert cast.client_for("volunteer").get(shortlist_url(cast, need)).status_code == 404
    assert not AccessLogEntry.objects.filter(purpose="shortlist").exists()


def test_filters_narrow_the_cards(cast, need, pool):
    client = cast.client_for("organiser_a")

    def shown(query: str) -> int:
        response = client.get(shortlist_url(cast, need) + query)
        assert response.status_code == 200
        return response.content.decode().count('class="card"')

    assert shown("?min_level=3") == 2
    assert shown("?max_km=5") == 2
    assert shown("?members_only=on") == 1
    assert shown("?min_level=3&max_km=5&members_only=on") == 1
    assert shown("?min_level=&max_km=") == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?min_level=9", "Select a valid choice"),
        ("?min_level=expert", "Select a valid choice"),
        ("?max_km=0", "greater than or equal to 1"),
        ("?max_km=10000", "less than or equal to 200"),
        ("?max_km=ten", "Enter a whole number"),
    ],
)
def test_bad_filters_get_a_message_not_a_500(cast, need, pool, query, message):
    response = cast.client_for("organiser_a").get(shortlist_url(cast, need) + query)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    # The rest of the page still works: the bad filter is left out.
    assert page.count('class="card"') == 3


def test_open_needs_link_to_their_shortlist_and_closed_ones_have_none(cast, need, pool):
    client = cast.client_for("organiser_a")
    listing = client.get(f"/groups/manage/{cast.groups['group_a'].public_id}/needs/")
    assert shortlist_url(cast, need) in listing.content.decode()
    client.post(f"/groups/manage/{cast.groups['group_a'].public_id}/needs/{need.public_id}/close/")
    response = client.get(shortlist_url(cast, need))
    assert response.status_code == 200
    assert 'class="card"' not in response.content.decode()
    assert "no shortlist" in response.content.decode()
    assert not AccessLogEntry.objects.filter(purpose="shortlist").exists()
