"""The groups journeys in a real browser: find a group near a postcode and join it; an
admin approves a request and makes someone an organiser, who must then enrol MFA; an
organiser cannot reach another group's member list, even by editing the address; a
volunteer blocks a group."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from handsup.core.ids import new_public_id
from handsup.core.personas import persona
from handsup.groups.models import Group, GroupBlock, JoinRequest, Membership
from handsup.places.models import PostcodeDistrict
from tests.browser.journey import Journey, totp_code
from tests.browser.test_accounts_journeys import (
    PASSWORD,
    confirm_it_is_me,
    expect_heading,
    log_in,
    log_out,
)
from tests.fixtures import Cast

pytestmark = pytest.mark.browser

# Case-insensitive: the role is interpolated from its display label ("Member").
MEMBER_SENTENCE = re.compile(r"You are a member of this group\.", re.IGNORECASE)
MFA_REQUIRED = "Organisers, admins and movement-wide roles must set up two-factor authentication"


def log_in_as(journey: Journey, cast: Cast, key: str) -> None:
    """Log in from the login page; personas with MFA enter their app's code too."""
    journey.visit("/accounts/login/")
    log_in(journey, cast.users[key].email, PASSWORD)
    if persona(key).has_mfa:
        expect_heading(journey, "Enter your authentication code")
        journey.fill("Code", totp_code(persona(key).totp_secret))
        journey.submit("Continue")
    expect(journey.page.get_by_role("button", name="Log out")).to_be_visible()


def open_groups_from_navigation(journey: Journey) -> None:
    navigation = journey.page.get_by_role("navigation", name="Main")
    journey.click(navigation.get_by_role("link", name="Groups", exact=True))
    expect_heading(journey, "Find a group")


def notification(journey: Journey) -> str:
    return journey.page.locator(".notifications").inner_text().strip()


def run_group(journey: Journey, group: Group) -> None:
    """From anywhere: Your Hands Up, then the group's organise page."""
    journey.click("Your Hands Up")
    journey.click(f"Run {group.name}")
    assert journey.page.url == journey.url(reverse("groups:organise", args=[group.public_id]))


def test_volunteer_finds_a_group_near_their_postcode_and_joins_on_a_phone(
    cast: Cast, places: None, new_journey: Callable[..., Journey]
) -> None:
    group = cast.groups["group_a"]
    m1 = PostcodeDistrict.objects.get(code="M1")
    group.area_districts = "M1, M2"
    group.centre_eastings, group.centre_northings = m1.eastings, m1.northings
    group.save()
    volunteer = cast.users["volunteer_other"]
    assert not Membership.objects.filter(user=volunteer, group=group).exists()

    journey = new_journey(width=375, height=740)
    log_in_as(journey, cast, "volunteer_other")
    open_groups_from_navigation(journey)
    journey.fill("Near a postcode", "M1 1AE")
    journey.submit("Search")
    expect(journey.page.get_by_text(re.compile(r"Groups within 50 km of .*M1"))).to_be_visible()
    results = journey.page.locator(".result")
    expect(results).to_have_count(1)
    found = results.filter(has_text=group.name)
    expect(found.locator(".result__meta")).to_contain_text("under 2 km")
    expect(found.locator(".result__meta")).to_contain_text("Anyone can join")

    journey.click(found.get_by_role("link", name=group.name, exact=True))
    expect_heading(journey, group.name)
    policies = journey.page.get_by_role("region", name="How this group treats your data")
    expect(policies).to_be_visible()
    expect(policies).to_contain_text("Its organisers see your name.")
    expect(policies).to_contain_text(
        f"If you leave, it deletes your details within {group.retention_months} months."
    )
    expect(journey.page.get_by_text("M1, M2")).to_be_visible()

    journey.click("Join this group")
    expect_heading(journey, f"Join {group.name}")
    expect(
        journey.page.get_by_text("Before you join, here is what this group promises.")
    ).to_be_visible()
    journey.submit("Join this group")
    expect_heading(journey, group.name)
    assert notification(journey) == f"You joined {group.name}."
    expect(journey.page.get_by_text(MEMBER_SENTENCE)).to_be_visible()
    membership = Membership.objects.get(user=volunteer, group=group)
    assert membership.role == Membership.Role.MEMBER

    # A Northern Irish postcode: a clear message next to the field, the value kept.
    open_groups_from_navigation(journey)
    journey.fill("Near a postcode", "BT1 1AA")
    journey.submit("Search")
    field = journey.page.get_by_label("Near a postcode", exact=True)
    expect(field).to_have_value("BT1 1AA")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile(r"\bid_near_error\b"))
    error = journey.page.locator("#id_near_error")
    expect(error).to_contain_text("We can't place postcodes in Northern Ireland")
    expect(error).to_contain_text("BT1 1AA")
    expect(journey.page.locator(".result")).to_have_count(0)

    scroll_width = journey.page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= 375, f"the directory scrolls sideways: {scroll_width}px at 375px"


def test_admin_approves_a_request_and_makes_an_organiser_who_must_enrol_mfa(
    cast: Cast, new_journey: Callable[..., Journey]
) -> None:
    group = cast.groups["group_a"]
    group.join_policy = Group.JoinPolicy.APPROVAL
    group.save()
    asker = cast.users["volunteer_other"]
    name = "Owen Othergroup"

    volunteer = new_journey()
    log_in_as(volunteer, cast, "volunteer_other")
    volunteer.visit(reverse("groups:page", args=[group.slug]))
    volunteer.click("Ask to join")
    expect_heading(volunteer, f"Join {group.name}")
    volunteer.submit("Ask to join")
    assert notification(volunteer) == (
        f"You asked to join {group.name}. An admin will decide, and we'll tell you."
    )
    expect(volunteer.page.get_by_text("You have asked to join.")).to_be_visible()
    assert JoinRequest.objects.filter(
        user=asker, group=group, status=JoinRequest.Status.PENDING
    ).exists()
    assert not Membership.objects.filter(user=asker, group=group).exists()

    admin = new_journey()
    log_in_as(admin, cast, "admin_a")
    run_group(admin, group)
    admin.click("1 request to join")
    expect_heading(admin, f"Requests to join {group.name}")
    expect(admin.page.get_by_role("cell", name=re.compile(rf"^{name}"))).to_be_visible()
    admin.submit(re.compile(rf"^Approve {name}"))
    assert notification(admin) == "Request approved."
    expect(admin.page.get_by_text("Nobody is waiting.")).to_be_visible()
    assert Membership.objects.get(user=asker, group=group).role == Membership.Role.MEMBER

    run_group(admin, group)
    admin.click("Members")
    expect_heading(admin, f"Members of {group.name}")
    admin.click(admin.page.get_by_role("link", name=re.compile(rf"^Change role of {name}")))
    expect_heading(admin, "Change role")
    expect(admin.page.get_by_text(re.compile(rf"{name} .* in {group.name}\."))).to_be_visible()
    admin.page.get_by_label("Role", exact=True).select_option(label="Organiser")
    admin.submit("Save role")
    expect_heading(admin, f"Members of {group.name}")
    assert notification(admin) == "Role changed."
    row = admin.page.get_by_role("row").filter(has_text=name)
    expect(row.get_by_role("cell", name="Organiser", exact=True)).to_be_visible()
    assert Membership.objects.get(user=asker, group=group).role == Membership.Role.ORGANISER

    # Next time they log in, the new organiser is sent to enrol an authenticator app.
    log_out(volunteer)
    volunteer.click("Log in")
    log_in(volunteer, asker.email, PASSWORD)
    expect(volunteer.page.get_by_role("status").filter(has_text=MFA_REQUIRED)).to_be_visible()
    confirm_it_is_me(volunteer, PASSWORD)
    expect_heading(volunteer, "Set up an authenticator app")
    assert volunteer.page.url.endswith(reverse("mfa_activate_totp") + "?required=1")
    expect(volunteer.page.get_by_role("status").filter(has_text=MFA_REQUIRED)).to_have_text(
        f"{MFA_REQUIRED} before continuing."
    )
    # Organising waits until they have enrolled.
    volunteer.visit(reverse("groups:organise", args=[group.public_id]))
    expect_heading(volunteer, "Set up an authenticator app")


def test_organiser_gets_404_on_another_groups_member_list_by_editing_the_address(
    cast: Cast, journey: Journey
) -> None:
    group_a, group_b = cast.groups["group_a"], cast.groups["group_b"]
    log_in_as(journey, cast, "organiser_a")
    run_group(journey, group_a)
    journey.click("Members")
    expect_heading(journey, f"Members of {group_a.name}")
    own_list = journey.page.url
    assert own_list == journey.url(reverse("groups:members", args=[group_a.public_id]))
    expect(journey.page.get_by_role("cell", name=re.compile("^Vera Volunteer"))).to_be_visible()

    def expect_not_found(address: str) -> None:
        with journey.page.expect_response(address) as response:
            journey.visit(address)
        assert response.value.status == 404
        expect_heading(journey, "Page not found")
        expect(journey.page.get_by_text(group_b.name)).to_have_count(0)
        expect(journey.page.get_by_text("Bryn Organiser")).to_have_count(0)
        expect(journey.page.get_by_text("Owen Othergroup")).to_have_count(0)

    # The address bar, edited: group A's id swapped for group B's.
    expect_not_found(own_list.replace(group_a.public_id, group_b.public_id))
    # And an id that belongs to no group: the same page, so nothing tells them apart.
    expect_not_found(journey.url(reverse("groups:members", args=[new_public_id()])))
    # B's other pages for organisers are refused the same way.
    expect_not_found(journey.url(reverse("groups:organise", args=[group_b.public_id])))

    journey.visit(own_list)
    expect_heading(journey, f"Members of {group_a.name}")
    expect(journey.page.get_by_role("cell", name=re.compile("^Vera Volunteer"))).to_be_visible()


def test_volunteer_blocks_a_group_and_leaves_it(cast: Cast, journey: Journey) -> None:
    group = cast.groups["group_a"]
    volunteer = cast.users["volunteer"]
    assert Membership.objects.filter(user=volunteer, group=group).exists()

    log_in_as(journey, cast, "volunteer")
    open_groups_from_navigation(journey)
    journey.click(group.name)
    expect_heading(journey, group.name)
    expect(journey.page.get_by_text(MEMBER_SENTENCE)).to_be_visible()
    journey.click("Block this group")
    expect_heading(journey, f"Block {group.name}")
    expect(
        journey.page.get_by_text(
            "If you block this group, it can never find you for its needs, invite you, "
            "or message you."
        )
    ).to_be_visible()
    expect(
        journey.page.get_by_text(
            "You are a member, so blocking it also takes you out of the group."
        )
    ).to_be_visible()
    expect(journey.page.get_by_text(re.compile(r"keeps your details until"))).to_be_visible()
    journey.submit("Block the group")

    expect_heading(journey, group.name)
    assert notification(journey) == (
        f"You blocked {group.name}. It can never find, invite or message you."
    )
    expect(journey.page.get_by_role("button", name="Unblock this group")).to_be_visible()
    expect(journey.page.get_by_role("link", name="Block this group")).to_have_count(0)
    expect(journey.page.get_by_role("link", name="Join this group")).to_have_count(0)
    expect(journey.page.get_by_text(MEMBER_SENTENCE)).to_have_count(0)
    assert GroupBlock.objects.filter(user=volunteer, group=group).exists()
    assert not Membership.objects.filter(user=volunteer, group=group).exists()
