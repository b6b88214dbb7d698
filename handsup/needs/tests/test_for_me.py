""" "Needs for me": the shortlist's rules in reverse (parity with the shortlist), the
order, the filters, needs already heard about, and the page."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from handsup.groups.models import GroupBlock
from handsup.needs import needs_index
from handsup.needs.actions import SkillWanted, do_create_need
from handsup.needs.for_me import (
    NEAR_ME,
    PAGE_SIZE,
    REMOTE_ONLY,
    ForMeFilters,
    needs_for_person,
    needs_page,
)
from handsup.needs.matching import shortlist
from handsup.needs.models import Need
from handsup.needs.needs_index import forget_needs_indexes
from handsup.needs.offers import do_offer
from handsup.people.models import DateAway

from .conftest import in_days, make_volunteer, on_site_details, record_ask

pytestmark = pytest.mark.django_db


def fitting_ids(user, **kwargs) -> list[int]:
    """The database path's list; the index's page must say the same, line for line."""
    listed = needs_for_person(user, **kwargs)
    database = [item for item in listed if item.invitation is None]
    forget_needs_indexes()
    page = needs_page(user, use_index=True, **kwargs)
    assert [(item.need.pk, item.why) for item in page.fitting] == [
        (item.need.pk, item.why) for item in database[: len(page.fitting)]
    ]
    assert len(page.fitting) == min(len(database), PAGE_SIZE)
    assert [item.need.pk for item in page.heard] == [
        item.need.pk for item in listed if item.invitation is not None
    ]
    return [item.need.pk for item in database]


@pytest.fixture
def needs(cast, skills, remote_details):
    """Movement-wide open needs of both groups: on site (set times), remote (ongoing),
    and one asking for a must-have and a nice-to-have skill."""

    def post(group: str, details) -> Need:
        organiser = "organiser_a" if group == "group_a" else "organiser_b"
        return do_create_need(
            actor=cast.users[organiser], group=cast.groups[group], details=details, publish=True
        )

    return {
        "on_site": post("group_a", on_site_details(skills)),
        "remote": post("group_a", remote_details),
        "two_skills": post(
            "group_b",
            on_site_details(
                skills,
                title="Drivers and navigators",
                radius_km=5,
                skills=(
                    SkillWanted(skill=skills[1], min_level=3, required=True),
                    SkillWanted(skill=skills[2], min_level=1, required=False),
                ),
            ),
        ),
    }


@pytest.fixture
def people(cast, skills):
    """Volunteers who each fit some of the needs and miss others for one reason."""
    people = {
        "near_all_rounder": make_volunteer(
            skills={skills[0]: (3, True), skills[1]: (4, False), skills[2]: (1, False)},
            offset_m=(0, 1_000),
        ),
        "remote_only_skill": make_volunteer(skills={skills[0]: (2, True)}, offset_m=None),
        "too_far": make_volunteer(
            skills={skills[0]: (3, False), skills[1]: (3, False)}, offset_m=(0, 20_000)
        ),
        "short_radius": make_volunteer(
            skills={skills[1]: (3, False)}, offset_m=(0, 4_000), travel_radius_km=3
        ),
        "low_level": make_volunteer(skills={skills[0]: (1, True), skills[1]: (2, False)}),
        "no_consent": make_volunteer(skills={skills[0]: (4, True)}, found=None),
        "my_groups_only": make_volunteer(
            skills={skills[0]: (2, True)}, found="groups", member_of=cast.groups["group_a"]
        ),
        "blocks_b": make_volunteer(skills={skills[0]: (2, False), skills[1]: (3, False)}),
        "away": make_volunteer(skills={skills[0]: (2, True)}),
        "no_skills": make_volunteer(skills={}),
    }
    GroupBlock.objects.create(user=people["blocks_b"], group=cast.groups["group_b"])
    DateAway.objects.create(person=people["away"].person, starts_on=in_days(0), ends_on=in_days(60))
    return people


def test_a_need_is_listed_for_someone_exactly_when_its_shortlist_finds_them(needs, people):
    pairs = {}
    for need_key, need in needs.items():
        shortlisted = {card.user_id for card in shortlist(need)}
        for person_key, user in people.items():
            listed = need.pk in fitting_ids(user)
            assert listed == (user.pk in shortlisted), (need_key, person_key)
            pairs[(need_key, person_key)] = listed
    # The cast is built so both answers occur, for every need.
    for need_key in needs:
        answers = {listed for (n, _p), listed in pairs.items() if n == need_key}
        assert answers == {True, False}, need_key
    assert [key for key, listed in pairs.items() if listed] == [
        ("on_site", "near_all_rounder"),
        ("on_site", "my_groups_only"),
        ("on_site", "blocks_b"),
        ("remote", "near_all_rounder"),
        ("remote", "remote_only_skill"),
        ("remote", "my_groups_only"),
        ("two_skills", "near_all_rounder"),
    ]


def test_someone_at_their_ask_budget_still_sees_what_fits_but_is_not_shortlisted(
    cast, needs, people
):
    """Budgets limit how often groups ask someone, not what they may look at."""
    user = people["near_all_rounder"]
    record_ask(user, cast.groups["group_b"], timezone.now() - timedelta(hours=3))
    need = needs["on_site"]
    assert user.pk not in {card.user_id for card in shortlist(need)}
    assert need.pk in fitting_ids(user)


def test_the_best_fit_comes_first(cast, skills):
    person = make_volunteer(skills={skills[0]: (4, False), skills[1]: (2, False)})
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    weaker = do_create_need(
        actor=organiser,
        group=group,
        details=on_site_details(
            skills, title="Leaflets", skills=(SkillWanted(skills[1], 2, required=True),)
        ),
        publish=True,
    )
    stronger = do_create_need(
        actor=organiser,
        group=group,
        details=on_site_details(
            skills, title="Stalls", skills=(SkillWanted(skills[0], 2, required=True),)
        ),
        publish=True,
    )
    listed = needs_for_person(person)
    assert [item.need.pk for item in listed] == [stronger.pk, weaker.pk]
    assert listed[0].score > listed[1].score
    assert listed[0].why == (
        f"You have {skills[0].name} (can teach others), and it is under 2 km from you."
    )


def test_a_members_only_need_of_another_group_is_not_listed_though_they_would_fit(cast, skills):
    person = make_volunteer(skills={skills[0]: (2, False)}, member_of=cast.groups["group_a"])
    theirs = do_create_need(
        actor=cast.users["organiser_b"],
        group=cast.groups["group_b"],
        details=on_site_details(skills, visibility=Need.Visibility.MEMBERS),
        publish=True,
    )
    ours = do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(skills, visibility=Need.Visibility.MEMBERS),
        publish=True,
    )
    assert person.pk in {card.user_id for card in shortlist(theirs)}
    assert fitting_ids(person) == [ours.pk]


def test_drafts_and_closed_needs_are_not_listed(cast, skills, make_need):
    person = make_volunteer(skills={skills[0]: (2, True)})
    make_need()  # a draft
    from handsup.needs.actions import do_close_need

    closed = make_need(publish=True)
    do_close_need(actor=cast.users["organiser_a"], need=closed)
    assert fitting_ids(person) == []


def test_a_need_they_offered_for_moves_to_the_heard_about_list(cast, skills, needs, people):
    person = people["near_all_rounder"]
    do_offer(actor=person, need=needs["remote"], share_phone=False)
    listed = needs_for_person(person)
    fitting = [item.need.pk for item in listed if item.invitation is None]
    heard = [item for item in listed if item.invitation is not None]
    assert needs["remote"].pk not in fitting
    assert [(item.need.pk, getattr(item.invitation, "source", None)) for item in heard] == [
        (needs["remote"].pk, "offer")
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param(ForMeFilters(), ["on_site", "two_skills", "remote"], id="none"),
        pytest.param(ForMeFilters(where=REMOTE_ONLY), ["remote"], id="remote-only"),
        pytest.param(ForMeFilters(where=NEAR_ME), ["on_site", "two_skills"], id="near-me"),
        pytest.param("skill-1", ["two_skills"], id="by-skill"),
    ],
)
def test_filters_narrow_the_list(needs, people, skills, filters, expected):
    if filters == "skill-1":
        filters = ForMeFilters(skill_id=skills[1].pk)
    names = {need.pk: key for key, need in needs.items()}
    got = [names[pk] for pk in fitting_ids(people["near_all_rounder"], filters=filters)]
    assert sorted(got) == sorted(expected)


# --- The page ------------------------------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["database", "index"])
def matching_index(request, settings):
    """The page both ways: the database path, and the in-process index."""
    settings.MATCHING_INDEX = request.param
    forget_needs_indexes()
    yield request.param
    forget_needs_indexes()


both_paths = pytest.mark.usefixtures("matching_index")


@both_paths
def test_the_page_lists_what_fits_and_what_they_already_heard_about(cast, skills, needs):
    user = cast.users["volunteer"]
    person = user.person
    person.district, person.postcode = "M1", "M1 1AE"
    person.eastings, person.northings = 384_500, 398_500
    person.save()
    person.skills.create(skill=skills[0], level=2, remote=True)
    do_offer(actor=user, need=needs["remote"], share_phone=True)

    response = cast.client_for("volunteer").get("/needs/")

    assert response.status_code == 200
    page = response.content.decode()
    fits, heard = page.split("Already answered or waiting")
    assert needs["on_site"].title in fits and "Manchester" in fits
    assert f"You have {skills[0].name} (capable)" in fits
    assert "6 hours each" in fits
    assert needs["remote"].title in heard and "You offered on" in heard
    assert needs["two_skills"].title not in page  # needs skills they don't have


@both_paths
def test_a_bad_filter_gets_a_message_and_the_list_without_it(cast, skills, needs):
    user = cast.users["volunteer"]
    user.person.skills.create(skill=skills[0], level=2, remote=True)
    response = cast.client_for("volunteer").get("/needs/", {"where": "moon", "skill": "x"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert needs["remote"].title in page


@both_paths
def test_someone_who_fits_nothing_is_told_what_they_can_do(cast, needs):
    response = cast.client_for("volunteer_other").get("/needs/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "No open need fits you just now." in page
    for link in ("/me/profile/skills/", "/me/profile/travel/", "/me/profile/contact/"):
        assert f'href="{link}"' in page


def test_signing_in_is_needed(cast):
    response = cast.client_for("anonymous").get("/needs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_list_costs_a_fixed_number_of_queries_per_need_that_could_fit(
    cast, skills, remote_details, django_assert_num_queries
):
    user = cast.users["volunteer"]
    user.person.skills.create(skill=skills[0], level=2, remote=True)
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    for n in range(3):
        do_create_need(
            actor=organiser,
            group=group,
            details=replace(remote_details, title=f"Need {n}"),
            publish=True,
        )
    # Needs asking for none of their skills cost nothing.
    for n in range(5):
        do_create_need(
            actor=organiser,
            group=group,
            details=replace(
                remote_details,
                title=f"Other {n}",
                skills=(SkillWanted(skills[2], 1, required=True),),
            ),
            publish=True,
        )
    client = cast.client_for("volunteer")
    client.get("/needs/")  # the movement's contact limits row is made on first use
    # 8 for the session, the person and the needs; per need that could fit, its one
    # eligibility query (no budget rules: browsing isn't limited by the ask budget).
    with django_assert_num_queries(8 + 3 * 1):
        assert client.get("/needs/").status_code == 200


@pytest.mark.usefixtures("matching_index")
def test_the_page_has_pages_of_the_best_fits_first(cast, skills, remote_details):
    user = cast.users["volunteer"]
    user.person.skills.create(skill=skills[0], level=2, remote=True)
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    for n in range(PAGE_SIZE + 2):
        do_create_need(
            actor=organiser,
            group=group,
            details=replace(remote_details, title=f"Need number {n:02}"),
            publish=True,
        )
    client = cast.client_for("volunteer")
    first = client.get("/needs/", {"where": REMOTE_ONLY}).content.decode()
    assert first.count('class="result"') == PAGE_SIZE
    assert f"?where={REMOTE_ONLY}&amp;page=2" in first and "More needs you fit" in first
    second = client.get("/needs/", {"where": REMOTE_ONLY, "page": "2"}).content.decode()
    assert second.count('class="result"') == 2 and "More needs you fit" not in second
    assert "Better fits" in second and f'start="{PAGE_SIZE + 1}"' in second
    titles = {f"Need number {n:02}" for n in range(PAGE_SIZE + 2)}
    shown = {title for title in titles if title in first} | {t for t in titles if t in second}
    assert shown == titles
    # A page number that is not one is the first page.
    assert client.get("/needs/", {"page": "-3"}).content.decode().count('class="result"') == (
        PAGE_SIZE
    )


def test_with_the_index_the_page_costs_five_queries_however_many_needs(
    cast, skills, remote_details, settings, django_assert_num_queries, monkeypatch
):
    settings.MATCHING_INDEX = True
    forget_needs_indexes()
    user = cast.users["volunteer"]
    user.person.skills.create(skill=skills[0], level=2, remote=True)
    organiser, group = cast.users["organiser_a"], cast.groups["group_a"]
    client = cast.client_for("volunteer")
    for count in (2, 12):
        while Need.objects.filter(status=Need.Status.OPEN).count() < count:
            do_create_need(actor=organiser, group=group, details=remote_details, publish=True)
        newest = Need.objects.filter(status="open").latest("pk")
        do_offer(actor=user, need=newest, share_phone=False)
        monkeypatch.setattr(needs_index, "REFRESH_EVERY_SECONDS", 0.0)
        client.get("/needs/")  # builds the index; the movement's limits row on first use
        # The session, the user, the person's facts, their invitations, the page's needs;
        # not the once-a-second catch-up, which a slow machine could reach in between.
        monkeypatch.setattr(needs_index, "REFRESH_EVERY_SECONDS", 3600.0)
        with django_assert_num_queries(5):
            assert client.get("/needs/").status_code == 200
    forget_needs_indexes()
