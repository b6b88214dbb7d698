"""The organisers' page of everyone invited to a need: pseudonyms until a current grant,
then contact details (access-logged); offers, outcomes and hours from the page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from handsup.accounts.models import User
from handsup.needs.actions import TimeWindow, do_close_need
from handsup.needs.answers import do_accept, do_revoke_grant
from handsup.needs.matching import pseudonym, pseudonym_digest
from handsup.needs.models import ContactGrant, HoursLog, Invitation, Need
from handsup.needs.offers import do_offer
from handsup.people.models import Person, Profile
from handsup.privacy.models import AccessLogEntry, AuditEntry

from .conftest import at, make_volunteer
from .test_afterwards import invite, notes_to

pytestmark = pytest.mark.django_db

PHONE = "07700 900321"


def people_url(need: Need, suffix: str = "") -> str:
    return f"/groups/manage/{need.group.public_id}/needs/{need.public_id}/people/{suffix}"


def pseudonym_of(need: Need, user: User) -> str:
    return pseudonym(pseudonym_digest(need, Person.objects.get(user=user).pk))


def introduction_reads(viewer: User) -> dict[int, list[str]]:
    """Whose details the access log says `viewer` saw on the page, with the fields."""
    return {
        entry.subject_id: entry.fields
        for entry in AccessLogEntry.objects.filter(actor=viewer, purpose="introduction_details")
    }


@pytest.fixture
def need(make_need: Any) -> Need:
    result: Need = make_need(publish=True)
    return result


@pytest.fixture
def volunteer(cast: Any) -> User:
    """The volunteer persona (their name carries a marker), with a phone number."""
    user: User = cast.users["volunteer"]
    Profile.objects.filter(person__user=user).update(phone=PHONE)
    return user


@pytest.fixture
def everyone(cast: Any, need: Need, volunteer: User) -> dict[str, Invitation]:
    """Someone in every state. Only `yes` (the persona, sharing a phone) and `yes_email`
    have current grants."""
    organiser = cast.users["organiser_a"]
    return {
        "waiting": invite(need, cast.users["volunteer_no_consent"], status="pending"),
        "offer": invite(need, make_volunteer(marker="OFFERMARK"), status="pending", source="offer"),
        "yes": invite(need, volunteer, share_phone=True, invited_by=organiser),
        "yes_email": invite(need, make_volunteer(marker="EMAILONLY"), invited_by=organiser),
        "no": invite(
            need,
            make_volunteer(marker="SAIDNO"),
            status="declined",
            invited_by=organiser,
        ),
        "withdrawn": invite(need, make_volunteer(marker="WITHDRAWN"), status="withdrawn"),
    }


def _set_reason(invitation: Invitation, reason: str) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(decline_reason=reason)


# --- Who sees what ----------------------------------------------------------------------


def test_people_show_as_pseudonyms_until_they_said_yes(cast, need, everyone, volunteer):
    _set_reason(everyone["no"], Invitation.DeclineReason.TOO_MANY_ASKS)
    organiser = cast.users["organiser_a"]
    response = cast.client_for("organiser_a").get(people_url(need))
    assert response.status_code == 200
    page = response.content.decode()
    for key in ("waiting", "offer", "no", "withdrawn"):
        user = everyone[key].user
        assert pseudonym_of(need, user) in page, key
        assert user.full_name not in page, key
        assert user.email not in page, key
    assert cast.marker("volunteer_no_consent") not in page
    for marker in ("OFFERMARK", "SAIDNO", "WITHDRAWN"):
        assert marker not in page
    assert "Too many asks" in page
    # Said yes, with a current grant: name, email, and the phone only where shared.
    assert volunteer.full_name in page
    assert volunteer.email in page
    assert PHONE in page
    email_only = everyone["yes_email"].user
    assert email_only.full_name in page
    assert email_only.email in page
    assert Profile.objects.get(person__user=email_only).phone not in page
    assert "2 of 3 places filled" in page
    # Exactly the people named, with exactly the fields shown.
    assert introduction_reads(organiser) == {
        volunteer.pk: ["full_name", "email", "phone"],
        email_only.pk: ["full_name", "email"],
    }
    (offer_read,) = AccessLogEntry.objects.filter(actor=organiser, purpose="offer_card")
    assert offer_read.subject_id == everyone["offer"].user_id
    assert offer_read.group == cast.groups["group_a"]


def test_sections_are_grouped_by_where_people_are(cast, need, everyone):
    page = cast.client_for("admin_a").get(people_url(need)).content.decode()
    headings = [
        "Offers waiting for you (1)",
        "Said yes (2)",
        "Waiting for an answer (1)",
        "Said no (1)",
        "Withdrawn or expired (1)",
    ]
    positions = [page.index(heading) for heading in headings]
    assert positions == sorted(positions)


def test_a_lapsed_pending_ask_shows_as_expired_without_changing_it(cast, need):
    invitation = invite(need, make_volunteer(), status="pending", days_ago=20)
    page = cast.client_for("organiser_a").get(people_url(need)).content.decode()
    assert "Withdrawn or expired (1)" in page
    assert "Lapsed without an answer" in page
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING  # a GET changes nothing


@pytest.mark.parametrize("how", ["revoked", "expired"], ids=["revoked", "expired"])
def test_a_withdrawn_or_lapsed_grant_hides_the_details_at_once(cast, need, volunteer, how):
    invitation = invite(need, volunteer, share_phone=True)
    client = cast.client_for("organiser_a")
    assert volunteer.full_name in client.get(people_url(need)).content.decode()
    grant = ContactGrant.objects.get(invitation=invitation)
    if how == "revoked":
        do_revoke_grant(grant=grant, actor=volunteer)
    else:
        ContactGrant.objects.filter(pk=grant.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    AccessLogEntry.objects.all().delete()
    page = client.get(people_url(need)).content.decode()
    assert volunteer.full_name not in page
    assert volunteer.email not in page
    assert PHONE not in page
    assert "This volunteer withdrew their contact details." in page
    assert pseudonym_of(need, volunteer) in page
    assert introduction_reads(cast.users["organiser_a"]) == {}


def test_an_empty_page_points_to_the_shortlist(cast, need):
    page = cast.client_for("organiser_a").get(people_url(need)).content.decode()
    assert "Nobody has been asked yet" in page
    assert f"/needs/{need.public_id}/shortlist/" in page


def test_the_page_costs_the_same_queries_for_one_person_or_many(cast, need, volunteer):
    client = cast.client_for("organiser_a")
    invite(need, volunteer, share_phone=True)
    invite(need, make_volunteer())  # sharing no phone: logged with fewer fields
    invite(need, make_volunteer(), status="pending", source="offer")
    client.get(people_url(need))  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(people_url(need)).status_code == 200
    invite(need, make_volunteer())
    for _n in range(3):
        invite(need, make_volunteer(), status="pending", source="offer")
        invite(need, make_volunteer(), status="declined")
    with CaptureQueriesContext(connection) as many:
        assert client.get(people_url(need)).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(few.captured_queries) <= 20


# --- Nobody else gets in ------------------------------------------------------------------


PERSONAS_REFUSED = ["organiser_b", "volunteer", "volunteer_other", "curator", "platform_admin"]


@pytest.mark.parametrize("who", PERSONAS_REFUSED)
@pytest.mark.parametrize(
    ("suffix", "method", "data"),
    [
        ("", "get", {}),
        ("{offer}/offer/", "post", {"answer": "yes"}),
        ("{yes}/outcome/", "post", {"helped": "yes"}),
        ("{yes}/hours/", "post", {"hours": "2", "on_date": "today"}),
    ],
    ids=["page", "offer", "outcome", "hours"],
)
def test_anyone_but_the_groups_organisers_gets_404(cast, need, everyone, who, suffix, method, data):
    url = people_url(
        need,
        suffix.format(offer=everyone["offer"].public_id, yes=everyone["yes_email"].public_id),
    )
    if data.get("on_date") == "today":
        data = {**data, "on_date": timezone.localdate().isoformat()}
    response = getattr(cast.client_for(who), method)(url, data)
    assert response.status_code == 404
    assert not HoursLog.objects.exists()
    assert not AccessLogEntry.objects.filter(actor=cast.users[who]).exists()
    for invitation in everyone.values():
        before = invitation.status
        invitation.refresh_from_db()
        assert (invitation.status, invitation.helped) == (before, None)


def test_group_bs_organiser_gets_404_for_their_own_group_address_too(cast, need, everyone):
    """The invitation belongs to A's need: B's group in the address doesn't reach it."""
    client = cast.client_for("organiser_b")
    group_b = cast.groups["group_b"]
    url = f"/groups/manage/{group_b.public_id}/needs/{need.public_id}/people/"
    assert client.get(url).status_code == 404


def test_an_invitation_of_another_need_is_404(cast, need, make_need, everyone):
    other = make_need(publish=True, title="Another need")
    url = people_url(other, f"{everyone['offer'].public_id}/offer/")
    response = cast.client_for("organiser_a").post(url, {"answer": "yes"})
    assert response.status_code == 404
    everyone["offer"].refresh_from_db()
    assert everyone["offer"].status == Invitation.Status.PENDING


def test_an_ask_is_not_an_offer_to_accept(cast, need, everyone):
    url = people_url(need, f"{everyone['waiting'].public_id}/offer/")
    assert cast.client_for("organiser_a").post(url, {"answer": "yes"}).status_code == 404
    everyone["waiting"].refresh_from_db()
    assert everyone["waiting"].status == Invitation.Status.PENDING


def test_the_pages_are_post_only_where_they_change_things(cast, need, everyone):
    client = cast.client_for("organiser_a")
    for suffix in ("offer", "outcome", "hours"):
        url = people_url(need, f"{everyone['yes'].public_id}/{suffix}/")
        assert client.get(url).status_code == 405


# --- Offers -------------------------------------------------------------------------------


def test_accepting_an_offer_introduces_the_volunteer(cast, need, volunteer):
    offer = do_offer(actor=volunteer, need=need, share_phone=True)
    client = cast.client_for("organiser_a")
    page = client.get(people_url(need)).content.decode()
    assert volunteer.full_name not in page
    assert pseudonym_of(need, volunteer) in page
    response = client.post(people_url(need, f"{offer.public_id}/offer/"), {"answer": "yes"})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == Invitation.Status.ACCEPTED
    grant = ContactGrant.objects.get(invitation=offer)
    assert grant.share_phone is True
    need.refresh_from_db()
    assert need.filled_count == 1
    page = client.get(response["Location"]).content.decode()
    assert "Offer accepted" in page
    assert volunteer.full_name in page
    assert PHONE in page
    assert introduction_reads(cast.users["organiser_a"]) == {
        volunteer.pk: ["full_name", "email", "phone"]
    }


def test_turning_an_offer_down_thanks_them_and_names_nobody(cast, need, volunteer):
    offer = do_offer(actor=volunteer, need=need, share_phone=False)
    client = cast.client_for("admin_a")
    response = client.post(people_url(need, f"{offer.public_id}/offer/"), {"answer": "no"})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == Invitation.Status.DECLINED
    assert not ContactGrant.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "Offer turned down" in page
    assert volunteer.full_name not in page


@pytest.mark.parametrize("answer", ["", "maybe"], ids=["none", "maybe"])
def test_an_unclear_answer_to_an_offer_changes_nothing(cast, need, everyone, answer):
    url = people_url(need, f"{everyone['offer'].public_id}/offer/")
    response = cast.client_for("organiser_a").post(url, {"answer": answer})
    assert response.status_code == 400
    assert "Choose whether to accept the offer or turn it down." in response.content.decode()
    everyone["offer"].refresh_from_db()
    assert everyone["offer"].status == Invitation.Status.PENDING


def test_an_offer_for_a_closed_need_is_refused_with_the_reason(cast, need, volunteer):
    offer = do_offer(actor=volunteer, need=need, share_phone=False)
    # Closing withdraws open invitations once the answers work hooks it; put the offer
    # back to waiting so accepting it meets the closed need itself.
    do_close_need(actor=cast.users["organiser_a"], need=need)
    Invitation.objects.filter(pk=offer.pk).update(status="pending", answered_at=None)
    url = people_url(need, f"{offer.public_id}/offer/")
    response = cast.client_for("organiser_a").post(url, {"answer": "yes"})
    assert response.status_code == 400
    assert "This need is closed." in response.content.decode()
    assert not ContactGrant.objects.exists()


# --- Outcomes -----------------------------------------------------------------------------


def test_marking_who_helped_sends_the_thanks_once(cast, need, everyone, volunteer):
    client = cast.client_for("organiser_a")
    url = people_url(need, f"{everyone['yes'].public_id}/outcome/")
    response = client.post(url, {"helped": "yes"}, follow=True)
    assert "We&#x27;ve sent them your group&#x27;s thanks." in response.content.decode()
    client.post(url, {"helped": "yes"})
    everyone["yes"].refresh_from_db()
    assert everyone["yes"].helped is True
    assert len(notes_to(volunteer, "Thank you")) == 1
    page = client.get(people_url(need)).content.decode()
    assert "Helped</dt><dd>Yes" in page


def test_didnt_help_is_recorded_without_thanks(cast, need, everyone):
    url = people_url(need, f"{everyone['yes_email'].public_id}/outcome/")
    assert cast.client_for("organiser_a").post(url, {"helped": "no"}).status_code == 302
    everyone["yes_email"].refresh_from_db()
    assert everyone["yes_email"].helped is False
    assert notes_to(everyone["yes_email"].user) == []


@pytest.mark.parametrize(
    ("key", "helped", "message"),
    [
        ("yes", "perhaps", "Choose whether they helped."),
        ("waiting", "yes", "once they have said yes"),
    ],
    ids=["unclear", "not-a-yes"],
)
def test_a_refused_outcome_changes_nothing(cast, need, everyone, key, helped, message):
    url = people_url(need, f"{everyone[key].public_id}/outcome/")
    response = cast.client_for("organiser_a").post(url, {"helped": helped})
    assert response.status_code == 400
    assert message in response.content.decode()
    everyone[key].refresh_from_db()
    assert everyone[key].helped is None
    assert not AuditEntry.objects.filter(action="needs.outcome_recorded").exists()


def test_outcomes_wait_for_the_need_to_begin(cast, make_need, volunteer):
    need = make_need(
        publish=True,
        schedule_kind=Need.ScheduleKind.WINDOWS,
        weekly_slots=0,
        windows=(TimeWindow(at(3, 10), at(3, 12)),),
    )
    invitation = invite(need, volunteer)
    client = cast.client_for("organiser_a")
    page = client.get(people_url(need)).content.decode()
    assert "You can say who helped once the need" in page
    response = client.post(people_url(need, f"{invitation.public_id}/outcome/"), {"helped": "yes"})
    assert response.status_code == 400
    assert "hasn&#x27;t begun" in response.content.decode()


# --- Hours --------------------------------------------------------------------------------


def test_an_organiser_logs_hours_for_someone(cast, need, everyone):
    url = people_url(need, f"{everyone['yes'].public_id}/hours/")
    today = timezone.localdate()
    client = cast.client_for("organiser_a")
    response = client.post(url, {"hours": "2.5", "on_date": today.isoformat(), "note": "Gate"})
    assert response.status_code == 302
    entry = HoursLog.objects.get()
    assert (entry.invitation, entry.hours, entry.on_date, entry.logged_by) == (
        everyone["yes"],
        Decimal("2.5"),
        today,
        cast.users["organiser_a"],
    )
    page = client.get(response["Location"]).content.decode()
    assert "Logged 2.5 hours" in page
    assert "Hours logged</dt><dd>2.5" in page


def _days(n: int) -> str:
    return (timezone.localdate() + timedelta(days=n)).isoformat()


@pytest.mark.parametrize(
    ("hours", "day", "message"),
    [
        ("0", 0, "Hours must be more than 0."),
        ("25", 0, "At most 24 hours for one day."),
        ("1.25", 0, "to one decimal place at most"),
        ("two", 0, "Give the hours as a number"),
        ("", 0, "Give the hours, such as 2 or 1.5."),
        ("2", 1, "That day hasn&#x27;t happened yet."),
        ("2", -30, "before this invitation was made"),
        ("2", None, "Give the day as a date"),
    ],
    ids=["zero", "twenty-five", "two-places", "text", "empty", "future", "too-early", "bad-day"],
)
def test_bad_hours_show_beside_the_field_and_write_nothing(
    cast, need, everyone, hours, day, message
):
    url = people_url(need, f"{everyone['yes'].public_id}/hours/")
    on_date = _days(day) if day is not None else "someday"
    response = cast.client_for("organiser_a").post(url, {"hours": hours, "on_date": on_date})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "There is a problem" in page
    assert f'id="id_{everyone["yes"].public_id}_' in page
    assert 'class="error-message"' in page
    assert not HoursLog.objects.exists()


def test_hours_only_for_someone_who_said_yes(cast, need, everyone):
    url = people_url(need, f"{everyone['waiting'].public_id}/hours/")
    response = cast.client_for("organiser_a").post(
        url, {"hours": "2", "on_date": timezone.localdate().isoformat()}
    )
    assert response.status_code == 400
    assert "Hours can only be logged for someone who said yes." in response.content.decode()
    assert not HoursLog.objects.exists()


# --- The group's list of needs ------------------------------------------------------------


def test_the_needs_list_links_to_each_people_page_with_counts(cast, need, everyone):
    invite(need, make_volunteer(), status="pending", source="offer")
    page = (
        cast.client_for("organiser_a")
        .get(f"/groups/manage/{need.group.public_id}/needs/")
        .content.decode()
    )
    assert people_url(need) in page
    # Asked: waiting, yes, yes_email, no (asks); withdrawn was an ask too.
    assert "5 asked, 2 said yes, 2 offers waiting" in page


def test_accepting_with_do_accept_shows_up_the_same(cast, need, volunteer):
    """The page reads whatever the answers work leaves, not only the test's own rows."""
    offer = do_offer(actor=volunteer, need=need, share_phone=False)
    do_accept(invitation=offer, actor=cast.users["admin_a"], share_phone=False)
    page = cast.client_for("organiser_a").get(people_url(need)).content.decode()
    assert volunteer.full_name in page
    assert PHONE not in page


def test_every_problem_shows_at_once(cast, need, everyone):
    url = people_url(need, f"{everyone['yes'].public_id}/hours/")
    response = cast.client_for("organiser_a").post(url, {"hours": "25", "on_date": "someday"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "At most 24 hours for one day." in page
    assert "Give the day as a date" in page
    # What they typed stays in the form.
    assert 'value="25"' in page


def test_a_yes_taken_back_shows_as_such_without_the_name(cast, need, volunteer):
    from handsup.needs.answers import do_withdraw_acceptance

    offer = do_offer(actor=volunteer, need=need, share_phone=True)
    do_accept(invitation=offer, actor=cast.users["organiser_a"], share_phone=True)
    do_withdraw_acceptance(invitation=offer, actor=volunteer)
    page = cast.client_for("organiser_a").get(people_url(need)).content.decode()
    assert "Said yes, then took it back" in page
    assert volunteer.full_name not in page
    assert PHONE not in page
    assert pseudonym_of(need, volunteer) in page


def test_the_needs_list_links_to_the_relay_list_when_there_are_asks_to_pass_on(cast, skills):
    from handsup.needs.actions import do_create_need
    from handsup.needs.asks import do_invite

    from .conftest import on_site_details
    from .test_asks import offline_person

    organiser = cast.users["organiser_a"]
    need = do_create_need(
        actor=organiser, group=cast.groups["group_a"], details=on_site_details(skills), publish=True
    )
    client = cast.client_for("organiser_a")
    list_url = f"/groups/manage/{need.group.public_id}/needs/"
    relay_url = f"/groups/manage/{need.group.public_id}/relay/"
    assert relay_url not in client.get(list_url).content.decode()
    do_invite(actor=organiser, need=need, user_ids=[offline_person(cast, skills).pk])
    page = client.get(list_url).content.decode()
    assert relay_url in page
    assert "Asks to pass on by phone or post: 1 waiting" in page


def test_the_needs_list_counts_cost_no_query_per_invitation(cast, need):
    client = cast.client_for("organiser_a")
    list_url = f"/groups/manage/{need.group.public_id}/needs/"
    client.get(list_url)
    with CaptureQueriesContext(connection) as none:
        client.get(list_url)
    for _n in range(3):
        invite(need, make_volunteer(), status="pending")
        invite(need, make_volunteer(), status="pending", source="offer")
    with CaptureQueriesContext(connection) as some:
        page = client.get(list_url).content.decode()
    assert len(some.captured_queries) == len(none.captured_queries)
    assert "3 asked, 0 said yes, 3 offers waiting" in page
