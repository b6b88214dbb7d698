"""The organiser's pages for a group's needs, and the volunteer's page for one need."""

from __future__ import annotations

import pytest

from handsup.needs.models import Need
from handsup.privacy.models import AuditEntry

from .conftest import at, form_data, in_days

pytestmark = pytest.mark.django_db


def manage(cast, suffix: str = "", group: str = "group_a") -> str:
    return f"/groups/manage/{cast.groups[group].public_id}/needs/{suffix}"


def test_an_organiser_posts_a_need_and_sees_it_in_the_list(cast, places, skills):
    client = cast.client_for("organiser_a")
    assert client.get(manage(cast, "new/")).status_code == 200
    response = client.post(manage(cast, "new/"), form_data(skills, publish="1"))
    assert response.status_code == 302
    need = Need.objects.get()
    assert (need.status, need.group, need.created_by) == (
        Need.Status.OPEN,
        cast.groups["group_a"],
        cast.users["organiser_a"],
    )
    assert (need.location_kind, need.postcode, need.district, need.radius_km) == (
        "on_site",
        "M1 1AE",
        "M1",
        10,
    )
    assert list(need.skills.values_list("skill_id", "min_level", "required")) == [
        (skills[0].pk, 2, True),
        (skills[1].pk, 1, False),
    ]
    assert [(w.starts_at, w.ends_at) for w in need.windows.all()] == [(at(10, 10), at(10, 16))]
    page = client.get(manage(cast)).content.decode()
    assert "Stewards for the summer fair" in page
    assert "0 of 4" in page
    assert "Open" in page


def test_saving_as_a_draft_then_publishing_and_closing(cast, places, skills):
    client = cast.client_for("admin_a")
    client.post(manage(cast, "new/"), form_data(skills))
    need = Need.objects.get()
    assert need.status == Need.Status.DRAFT
    assert client.get(manage(cast, f"{need.public_id}/publish/")).status_code == 405
    client.post(manage(cast, f"{need.public_id}/publish/"))
    need.refresh_from_db()
    assert need.status == Need.Status.OPEN
    client.post(manage(cast, f"{need.public_id}/close/"))
    need.refresh_from_db()
    assert need.status == Need.Status.CLOSED
    # Closing twice is refused with a message, not a second audit row.
    response = client.post(manage(cast, f"{need.public_id}/close/"), follow=True)
    assert "already closed" in response.content.decode()
    assert AuditEntry.objects.filter(action="needs.closed").count() == 1


def test_editing_a_need_shows_its_values_and_saves_changes(cast, places, skills):
    client = cast.client_for("organiser_a")
    client.post(manage(cast, "new/"), form_data(skills))
    need = Need.objects.get()
    form = client.get(manage(cast, f"{need.public_id}/edit/")).content.decode()
    assert 'value="Stewards for the summer fair"' in form
    assert 'value="M1 1AE"' in form
    response = client.post(
        manage(cast, f"{need.public_id}/edit/"),
        form_data(
            skills,
            title="Stewards, Saturday",
            location_kind="remote",
            place="",
            radius_km="",
            schedule_kind="ongoing",
            slots=["0", "20"],
            window_0_start="",
            window_0_end="",
        ),
    )
    assert response.status_code == 302
    need.refresh_from_db()
    assert (need.title, need.location_kind, need.postcode, need.radius_km) == (
        "Stewards, Saturday",
        "remote",
        "",
        None,
    )
    assert need.weekly_slots == (1 << 0) | (1 << 20)
    assert not need.windows.exists()
    assert AuditEntry.objects.get(action="needs.updated").details["changed"] == [
        "title",
        "place",
        "time",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"skill_0": "", "skill_1": ""}, "Add at least one skill"),
        ({"radius_km": "0"}, "from 1 to 200 km"),
        ({"radius_km": "10000"}, "from 1 to 200 km"),
        ({"closes_on": in_days(-1).isoformat()}, "The closing date has passed"),
        ({"people_needed": "0"}, "Ask for at least 1 person"),
        ({"place": "ZZ99 9ZZ"}, "look like a UK postcode"),
        ({"place": "BT1 1AA"}, "place postcodes in Northern Ireland"),
        ({"place": ""}, "Say where the help is needed"),
        ({"hours": "0"}, "more than 0"),
        ({"window_0_end": ""}, "both a start and an end"),
        ({"schedule_kind": "ongoing"}, "at least one part of the week"),
        ({"skill_1": None, "level_1": None, "skill_0": "999999"}, "valid choice"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(cast, places, skills, changes, message):
    client = cast.client_for("organiser_a")
    client.post(manage(cast, "new/"), form_data(skills, title="Kept as it was"))
    need = Need.objects.get()
    before = list(Need.objects.values())
    audits = AuditEntry.objects.count()
    response = client.post(manage(cast, "new/"), form_data(skills, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "There is a problem" in response.content.decode()
    edit = client.post(manage(cast, f"{need.public_id}/edit/"), form_data(skills, **changes))
    assert edit.status_code == 400
    assert message in edit.content.decode()
    # What the organiser typed is still there to correct.
    assert "Stewards for the summer fair" in edit.content.decode()
    assert list(Need.objects.values()) == before
    assert AuditEntry.objects.count() == audits


def test_a_closed_need_can_not_be_edited(cast, make_need, skills, places):
    need = make_need()
    cast.client_for("organiser_a").post(manage(cast, f"{need.public_id}/close/"))
    response = cast.client_for("organiser_a").post(
        manage(cast, f"{need.public_id}/edit/"), form_data(skills)
    )
    assert response.status_code == 400
    assert "closed, so it can&#x27;t be changed" in response.content.decode()
    need.refresh_from_db()
    assert need.title == "Phone bank callers"


def test_an_organiser_of_another_group_gets_404_on_every_need_url(cast, make_need, skills):
    need = make_need()
    other = cast.client_for("organiser_b")
    for suffix, method in (
        ("", "get"),
        ("new/", "get"),
        ("new/", "post"),
        (f"{need.public_id}/edit/", "get"),
        (f"{need.public_id}/edit/", "post"),
        (f"{need.public_id}/publish/", "post"),
        (f"{need.public_id}/close/", "post"),
    ):
        response = getattr(other, method)(manage(cast, suffix), form_data(skills))
        assert response.status_code == 404, (suffix, method)
    # Group B's own address with group A's need in it: the same 404.
    own = manage(cast, f"{need.public_id}/edit/", group="group_b")
    assert other.get(own).status_code == 404
    assert other.get(f"/needs/{need.public_id}/").status_code == 404
    need.refresh_from_db()
    assert need.status == Need.Status.DRAFT and Need.objects.count() == 1


def test_a_need_of_group_b_is_not_reachable_through_group_a(cast, make_need):
    need_b = make_need("group_b")
    client = cast.client_for("organiser_a")
    for suffix in ("edit/", "publish/", "close/"):
        assert client.post(manage(cast, f"{need_b.public_id}/{suffix}")).status_code == 404
    need_b.refresh_from_db()
    assert need_b.status == Need.Status.DRAFT


def test_a_draft_is_seen_only_by_its_groups_organisers(cast, make_need):
    need = make_need()
    for persona, status in (
        ("organiser_a", 200),
        ("admin_a", 200),
        ("volunteer", 404),
        ("volunteer_other", 404),
        ("organiser_b", 404),
        ("admin_parent", 404),
        ("platform_admin", 404),
    ):
        assert cast.client_for(persona).get(f"/needs/{need.public_id}/").status_code == status, (
            persona
        )
    assert cast.client_for("anonymous").get(f"/needs/{need.public_id}/").status_code == 302


def test_a_members_only_need_is_seen_by_members_and_a_movement_wide_one_by_all(cast, make_need):
    members_only = make_need(publish=True, visibility="members")
    everyone = make_need(publish=True)
    assert cast.client_for("volunteer").get(f"/needs/{members_only.public_id}/").status_code == 200
    other = cast.client_for("volunteer_other")
    assert other.get(f"/needs/{members_only.public_id}/").status_code == 404
    assert other.get(f"/needs/{everyone.public_id}/").status_code == 200


def test_closed_and_expired_needs_are_hidden_from_volunteers(cast, make_need):
    closed = make_need(publish=True)
    cast.client_for("organiser_a").post(manage(cast, f"{closed.public_id}/close/"))
    expired = make_need(publish=True)
    Need.objects.filter(pk=expired.pk).update(closes_on=in_days(-1))
    volunteer = cast.client_for("volunteer")
    for need in (closed, expired):
        assert volunteer.get(f"/needs/{need.public_id}/").status_code == 404
        assert cast.client_for("organiser_a").get(f"/needs/{need.public_id}/").status_code == 200


def test_the_volunteer_page_says_where_roughly_and_nothing_private(cast, places, skills):
    cast.client_for("organiser_a").post(manage(cast, "new/"), form_data(skills, publish="1"))
    need = Need.objects.get()
    page = cast.client_for("volunteer_other").get(f"/needs/{need.public_id}/").content.decode()
    assert "Stewards for the summer fair" in page
    assert "Manchester Central Constituency Party" in page
    assert "(M1)" in page and "within 10 km" in page
    assert "M1 1AE" not in page
    assert skills[0].name in page and "must have" in page and "nice to have" in page
    assert "6 hours each" in page and "4 of 4 places left" in page
    assert cast.marker("organiser_a") not in page


def test_an_ongoing_remote_need_shows_its_weekly_slots(cast, make_need):
    need = make_need(publish=True, weekly_slots=(1 << 0) | (1 << 20))
    page = cast.client_for("volunteer").get(f"/needs/{need.public_id}/").content.decode()
    assert "Remote: from anywhere" in page
    assert "Monday morning" in page and "Sunday evening" in page
    assert "Tuesday" not in page


def test_the_list_takes_the_same_queries_for_one_need_or_many(
    cast, make_need, django_assert_num_queries
):
    client = cast.client_for("organiser_a")
    make_need()
    client.get(manage(cast))  # warm the session and the MFA check
    # 6: the needs with their invitation counts in one, and one for the relay list link.
    with django_assert_num_queries(6):
        one = client.get(manage(cast))
    for _ in range(4):
        make_need(publish=True)
    with django_assert_num_queries(6):
        many = client.get(manage(cast))
    assert one.status_code == many.status_code == 200
    assert many.content.decode().count("0 of 3") == 5
