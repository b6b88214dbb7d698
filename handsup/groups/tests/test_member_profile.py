"""An organiser reads one member's volunteer profile: only what the member's consents
allow, never another group's member, and every read is in the access log."""

from __future__ import annotations

import pytest

from handsup.groups.models import Membership
from handsup.people.models import DateAway, PersonSkill, Profile, Skill
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import AccessLogEntry
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db


def _profile_url(cast: Cast, member_key: str, group_key: str = "group_a") -> str:
    group = cast.groups[group_key]
    membership = Membership.objects.get(group=group, user=cast.users[member_key])
    return f"/groups/manage/{group.public_id}/members/{membership.public_id}/"


@pytest.fixture
def vera(cast: Cast) -> Profile:
    person = cast.users["volunteer"].person
    profile = person.profile
    profile.availability = 0b111  # Monday morning, afternoon and evening
    profile.phone = "07700 900123"
    profile.accessibility_needs = "Step-free access, please"
    profile.languages = ["en", "cy"]
    profile.save()
    skill = Skill.objects.get(slug="video-editing")
    PersonSkill.objects.create(person=person, skill=skill, level=3, remote=True)
    DateAway.objects.create(person=person, starts_on="2099-08-01", ends_on="2099-08-14")
    return profile


def test_organiser_sees_skills_availability_and_shared_contact(cast: Cast, vera: Profile) -> None:
    response = cast.client_for("organiser_a").get(_profile_url(cast, "volunteer"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Video editing: experienced, remotely too" in page
    assert "Welsh" in page
    assert "07700 900123" in page  # Vera shares contact details with group A
    assert cast.users["volunteer"].email in page
    assert "1 Aug 2099" in page
    # Access needs are for groups the person accepts an invitation from.
    assert "Step-free access" not in page
    entry = AccessLogEntry.objects.get(
        actor=cast.users["organiser_a"], subject=cast.users["volunteer"], purpose="member_profile"
    )
    assert "phone" in entry.fields and "skills" in entry.fields
    assert "accessibility_needs" not in entry.fields


def test_contact_details_wait_for_consent(cast: Cast, vera: Profile) -> None:
    do_record_consent(
        user=cast.users["volunteer"],
        purpose="share_contact_with_group",
        given=False,
        source="web",
        recorded_by=cast.users["volunteer"],
        group=cast.groups["group_a"],
    )
    page = cast.client_for("organiser_a").get(_profile_url(cast, "volunteer")).content.decode()
    assert "07700 900123" not in page
    assert cast.users["volunteer"].email not in page
    assert "Video editing" in page
    entry = AccessLogEntry.objects.get(subject=cast.users["volunteer"], purpose="member_profile")
    assert "phone" not in entry.fields and "email" not in entry.fields


def test_another_groups_organiser_cannot_read_the_profile(cast: Cast, vera: Profile) -> None:
    url = _profile_url(cast, "volunteer")
    assert cast.client_for("organiser_b").get(url).status_code == 404
    assert cast.client_for("volunteer_other").get(url).status_code in (403, 404)
    # Nor through their own group's address with group A's membership id.
    membership = Membership.objects.get(group=cast.groups["group_a"], user=cast.users["volunteer"])
    own = f"/groups/manage/{cast.groups['group_b'].public_id}/members/{membership.public_id}/"
    assert cast.client_for("organiser_b").get(own).status_code == 404
    assert not AccessLogEntry.objects.filter(purpose="member_profile").exists()


def test_member_list_links_to_each_profile(cast: Cast) -> None:
    group = cast.groups["group_a"]
    page = cast.client_for("organiser_a").get(f"/groups/manage/{group.public_id}/members/")
    assert _profile_url(cast, "volunteer") in page.content.decode()
