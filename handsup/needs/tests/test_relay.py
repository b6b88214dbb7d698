"""The relay list: asks for people who are not online go to the group that registered
them, whose organisers phone or write and record the answer through the same actions
as an online answer."""

from __future__ import annotations

import pytest

from handsup.accounts.models import User
from handsup.needs.asks import do_invite
from handsup.needs.models import ContactGrant, Invitation, Need
from handsup.needs.relay import may_relay_for, relay_group_ids
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import AccessLogEntry
from handsup.privacy.register import PurposeCode

from .test_asks import emailable, noon, offline_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def need(open_on_site_need: Need) -> Need:
    return open_on_site_need


@pytest.fixture
def asked(cast, skills, need) -> dict[str, User]:
    """Group A's need asked someone A registered, someone B registered, and someone
    online."""
    people = {
        "a_paper": offline_person(cast, skills, group="group_a"),
        "b_paper": offline_person(cast, skills, group="group_b", channels=("post",)),
        "online": emailable(cast, skills),
    }
    do_invite(
        actor=cast.users["organiser_a"],
        need=need,
        user_ids=[u.pk for u in people.values()],
    )
    return people


def relay_url(cast, group: str = "group_a", invitation: Invitation | None = None) -> str:
    url = f"/groups/manage/{cast.groups[group].public_id}/relay/"
    return url + f"{invitation.public_id}/" if invitation is not None else url


def test_the_relay_group_is_the_one_that_registered_them(cast, asked):
    assert relay_group_ids(asked["a_paper"].pk) == {cast.groups["group_a"].pk}
    assert relay_group_ids(asked["b_paper"].pk) == {cast.groups["group_b"].pk}
    assert relay_group_ids(asked["online"].pk) == set()
    a_paper = Invitation.objects.get(user=asked["a_paper"])
    assert may_relay_for(cast.users["organiser_a"], a_paper)
    assert not may_relay_for(cast.users["organiser_b"], a_paper)
    assert may_relay_for(cast.users["organiser_b"], Invitation.objects.get(user=asked["b_paper"]))
    assert not may_relay_for(
        cast.users["organiser_a"], Invitation.objects.get(user=asked["online"])
    )


def test_each_group_sees_only_the_people_it_registered_and_it_is_access_logged(cast, asked):
    response = cast.client_for("organiser_a").get(relay_url(cast))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="card"') == 1
    assert "0161 496 0000" in page  # A may phone them
    assert "1 Example Street" not in page  # they only agreed to phone
    assert "Stewards for the summer fair" in page
    logged = AccessLogEntry.objects.get(actor=cast.users["organiser_a"], purpose="relay")
    assert logged.subject_id == asked["a_paper"].pk
    assert logged.fields == ["full_name", "phone"]
    assert logged.group == cast.groups["group_a"]

    page = cast.client_for("organiser_b").get(relay_url(cast, "group_b")).content.decode()
    assert page.count('class="card"') == 1
    assert "1 Example Street" in page and "0161 496 0000" not in page
    logged = AccessLogEntry.objects.get(actor=cast.users["organiser_b"], purpose="relay")
    assert (logged.subject_id, logged.fields) == (
        asked["b_paper"].pk,
        ["full_name", "postal_address"],
    )


def test_withdrawn_consent_takes_them_off_the_list(cast, asked):
    do_record_consent(
        user=asked["a_paper"],
        purpose=PurposeCode.GROUP_PHONE,
        given=False,
        source="phone",
        recorded_by=cast.users["organiser_a"],
        group=cast.groups["group_a"],
    )
    page = cast.client_for("organiser_a").get(relay_url(cast)).content.decode()
    assert "No asks to pass on just now." in page
    assert not AccessLogEntry.objects.filter(purpose="relay").exists()


def test_recording_a_yes_accepts_through_the_answer_actions(cast, asked, need):
    invitation = Invitation.objects.get(user=asked["a_paper"])
    client = cast.client_for("organiser_a")
    response = client.post(
        relay_url(cast, invitation=invitation), {"answer": "yes", "share_phone": "on"}
    )
    assert response.status_code == 302 and response["Location"] == relay_url(cast)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.relayed_by == cast.users["organiser_a"]
    grant = ContactGrant.objects.get(invitation=invitation)
    assert grant.share_phone and grant.group == need.group
    need.refresh_from_db()
    assert need.filled_count == 1
    assert "No asks to pass on just now." in client.get(relay_url(cast)).content.decode()


def test_recording_a_no_declines_with_the_reason(cast, asked):
    invitation = Invitation.objects.get(user=asked["b_paper"])
    response = cast.client_for("organiser_b").post(
        relay_url(cast, "group_b", invitation), {"answer": "no", "reason": "not_now"}
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert (invitation.status, invitation.decline_reason) == (
        Invitation.Status.DECLINED,
        Invitation.DeclineReason.NOT_NOW,
    )
    assert invitation.relayed_by == cast.users["organiser_b"]
    assert not ContactGrant.objects.exists()


def test_a_missing_answer_is_refused_beside_the_field_and_changes_nothing(cast, asked):
    invitation = Invitation.objects.get(user=asked["a_paper"])
    response = cast.client_for("organiser_a").post(relay_url(cast, invitation=invitation), {})
    assert response.status_code == 400
    assert "Say whether they can help." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_answering_twice_is_refused_with_a_message(cast, asked):
    invitation = Invitation.objects.get(user=asked["a_paper"])
    client = cast.client_for("organiser_a")
    client.post(relay_url(cast, invitation=invitation), {"answer": "no"})
    response = client.post(relay_url(cast, invitation=invitation), {"answer": "yes"})
    assert response.status_code == 400
    assert "already answered" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED


@pytest.mark.parametrize(
    "who,group",
    [("organiser_b", "group_a"), ("organiser_b", "group_b"), ("volunteer", "group_a")],
    ids=["b-on-a", "b-on-own-group", "volunteer"],
)
def test_anyone_but_the_registering_groups_organisers_gets_404(cast, asked, who, group):
    invitation = Invitation.objects.get(user=asked["a_paper"])
    client = cast.client_for(who)
    assert client.post(relay_url(cast, group, invitation), {"answer": "yes"}).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    if group == "group_a":
        assert client.get(relay_url(cast, group)).status_code == 404


def test_an_email_invitation_is_not_on_any_relay_list(cast, asked):
    invitation = Invitation.objects.get(user=asked["online"])
    response = cast.client_for("organiser_a").post(
        relay_url(cast, invitation=invitation), {"answer": "yes"}
    )
    assert response.status_code == 404


def test_the_relay_list_query_count_is_pinned_and_does_not_grow_with_the_people(
    cast, skills, need, django_assert_num_queries
):
    client = cast.client_for("organiser_a")
    first = offline_person(cast, skills)
    do_invite(actor=cast.users["organiser_a"], need=need, user_ids=[first.pk], now=noon())
    # Session, user (with roles and organiser check) and MFA (3); the group; the invitations with
    # their people; the needs' times; one access-log insert.
    with django_assert_num_queries(7):
        response = client.get(relay_url(cast))
    assert response.content.decode().count('class="card"') == 1
    more = [offline_person(cast, skills) for _ in range(3)]
    do_invite(actor=cast.users["organiser_a"], need=need, user_ids=[u.pk for u in more])
    with django_assert_num_queries(7):
        response = client.get(relay_url(cast))
    assert response.content.decode().count('class="card"') == 4
