"""The answer page and "Your introductions": only your own invitation and grants, GET
never changes anything, and bad input gets a message with nothing changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from handsup.needs.answers import do_accept, do_revoke_grant
from handsup.needs.models import ContactGrant, Invitation, Need
from handsup.people.models import Profile

from .test_answers import invite, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def need(make_need: Any) -> Need:
    return make_need(publish=True)


@pytest.fixture
def ask(cast: Any, need: Need) -> Invitation:
    return invite(need, cast.users["volunteer"], invited_by=cast.users["organiser_a"])


def answer_url(need: Need) -> str:
    return reverse("needs:answer", args=[need.public_id])


# --- The answer page ---------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?answer=yes", "?answer=no", "?answer=maybe"], ids=str)
def test_looking_at_the_answer_page_changes_nothing(cast, need, ask, query):
    before = snapshot()
    response = cast.client_for("volunteer").get(answer_url(need) + query)
    assert response.status_code == 200
    assert snapshot() == before
    page = response.content.decode()
    assert need.title in page and cast.users["volunteer"].email in page
    assert 'name="reason"' in page
    assert ('id="id_answer_0" required checked' in page) == (query == "?answer=yes")


def test_the_page_offers_the_phone_only_when_there_is_one(cast, need, ask):
    client = cast.client_for("volunteer")
    assert 'name="share_phone"' not in client.get(answer_url(need)).content.decode()
    Profile.objects.filter(person__user=cast.users["volunteer"]).update(phone="07700 900555")
    page = client.get(answer_url(need)).content.decode()
    assert 'name="share_phone"' in page and "07700 900555" in page


@pytest.mark.parametrize(
    "key", ["volunteer_other", "organiser_a", "organiser_b", "platform_admin"], ids=str
)
def test_a_link_to_someone_elses_invitation_says_there_is_none_for_you(cast, need, ask, key):
    before = snapshot()
    for method in ("get", "post"):
        response = getattr(cast.client_for(key), method)(
            answer_url(need), {"action": "answer", "answer": "yes"}
        )
        assert response.status_code == 404
        assert "no invitation for you on this need" in response.content.decode()
    assert snapshot() == before


def test_a_made_up_need_gets_the_same_page(cast, ask):
    response = cast.client_for("volunteer").get(reverse("needs:answer", args=["nosuchneed"]))
    assert response.status_code == 404
    assert "no invitation for you on this need" in response.content.decode()


def test_anonymous_people_are_asked_to_sign_in(cast, need, ask):
    response = cast.client_for("anonymous").get(answer_url(need))
    assert response.status_code == 302 and "login" in response["Location"]


def test_saying_yes_on_the_page(cast, need, ask):
    Profile.objects.filter(person__user=cast.users["volunteer"]).update(phone="07700 900555")
    client = cast.client_for("volunteer")
    response = client.post(
        answer_url(need), {"action": "answer", "answer": "yes", "share_phone": "on"}
    )
    assert response.status_code == 302 and response["Location"] == answer_url(need)
    grant = ContactGrant.objects.get(invitation=ask)
    assert grant.share_phone is True
    page = client.get(answer_url(need)).content.decode()
    assert "You said yes" in page and "phone number" in page


def test_saying_yes_without_ticking_shares_no_phone(cast, need, ask):
    Profile.objects.filter(person__user=cast.users["volunteer"]).update(phone="07700 900555")
    cast.client_for("volunteer").post(answer_url(need), {"action": "answer", "answer": "yes"})
    assert ContactGrant.objects.get(invitation=ask).share_phone is False


def test_saying_no_with_too_many_asks_offers_to_lower_the_limit(cast, need, ask):
    client = cast.client_for("volunteer")
    client.post(answer_url(need), {"action": "answer", "answer": "no", "reason": "too_many_asks"})
    ask.refresh_from_db()
    assert (ask.status, ask.decline_reason) == ("declined", "too_many_asks")
    page = client.get(answer_url(need)).content.decode()
    assert reverse("people:profile_contact") in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"answer": "no", "reason": "because"}, "Choose one of the reasons, or none."),
        ({"answer": "perhaps"}, "Choose yes or no."),
        ({}, "Choose yes or no."),
    ],
    ids=["bad-reason", "bad-answer", "no-answer"],
)
def test_bad_input_gets_a_message_and_changes_nothing(cast, need, ask, data, message):
    before = snapshot()
    response = cast.client_for("volunteer").post(answer_url(need), {"action": "answer", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot() == before


def test_an_unknown_button_changes_nothing(cast, need, ask):
    before = snapshot()
    response = cast.client_for("volunteer").post(answer_url(need), {"action": "delete"})
    assert response.status_code == 400
    assert snapshot() == before


def test_an_expired_invitation_gets_a_clear_page(cast, need):
    invite(need, cast.users["volunteer"], created_at=timezone.now() - timedelta(days=15))
    client = cast.client_for("volunteer")
    assert "This invitation has expired." in client.get(answer_url(need)).content.decode()
    before = snapshot()
    response = client.post(answer_url(need), {"action": "answer", "answer": "yes"})
    assert response.status_code == 409
    assert "This invitation has expired." in response.content.decode()
    assert snapshot() == before


def test_a_filled_need_gets_a_clear_page(cast, make_need):
    need = make_need(publish=True, people_needed=1)
    first = invite(need, cast.users["volunteer_other"])
    invite(need, cast.users["volunteer"])
    do_accept(invitation=first, actor=cast.users["volunteer_other"], share_phone=False)
    response = cast.client_for("volunteer").get(answer_url(need))
    assert "already filled — thank you for offering" in response.content.decode()


def test_confirming_again_and_withdrawing_on_the_page(cast, need, ask):
    client = cast.client_for("volunteer")
    do_accept(invitation=ask, actor=cast.users["volunteer"], share_phone=False)
    Invitation.objects.filter(pk=ask.pk).update(reconfirm_requested_at=timezone.now())
    assert "Yes, I can still help" in client.get(answer_url(need)).content.decode()
    client.post(answer_url(need), {"action": "reconfirm"})
    ask.refresh_from_db()
    assert ask.reconfirm_requested_at is None

    client.post(answer_url(need), {"action": "withdraw_yes"})
    ask.refresh_from_db()
    need.refresh_from_db()
    assert (ask.status, need.filled_count) == ("withdrawn", 0)
    assert "help after all" in client.get(answer_url(need)).content.decode()
    # A second click finds nothing to withdraw, and says so.
    response = client.post(answer_url(need), {"action": "withdraw_yes"})
    assert response.status_code == 409


def test_an_offer_can_be_withdrawn_but_not_accepted_by_its_maker(cast, need):
    offer = invite(need, cast.users["volunteer"], source=Invitation.Source.OFFER)
    client = cast.client_for("volunteer")
    page = client.get(answer_url(need)).content.decode()
    assert "Withdraw my offer" in page and 'value="answer"' not in page
    before = snapshot()
    response = client.post(answer_url(need), {"action": "answer", "answer": "yes"})
    assert response.status_code == 400
    assert snapshot() == before
    client.post(answer_url(need), {"action": "withdraw_offer"})
    offer.refresh_from_db()
    assert offer.status == "declined"


# --- Your introductions ------------------------------------------------------------------


@pytest.fixture
def grants(cast: Any, make_need: Any) -> list[ContactGrant]:
    """Two of the volunteer's grants (one revoked), and one of someone else's."""
    made = []
    for key, title in [("volunteer", "First"), ("volunteer", "Second"), ("volunteer_other", "X")]:
        need = make_need(publish=True, title=title)
        made.append(
            do_accept(
                invitation=invite(need, cast.users[key]), actor=cast.users[key], share_phone=False
            )
        )
    do_revoke_grant(grant=made[0], actor=cast.users["volunteer"])
    return made


def test_introductions_lists_only_your_own(cast, grants, django_assert_num_queries):
    client = cast.client_for("volunteer")
    client.get(reverse("needs:my_grants"))  # warm the session
    # Session, user (with the roles every signed-in page's MFA check reads), then the
    # grants (with their groups and needs), then the needs' windows.
    with django_assert_num_queries(4):
        response = client.get(reverse("needs:my_grants"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "First" in page and "Second" in page and ">X<" not in page
    assert "You stopped sharing" in page and "Shared" in page
    assert page.count("Stop sharing") == 1


def test_the_ledger_links_to_introductions(cast):
    page = cast.client_for("volunteer").get(reverse("messaging:mine")).content.decode()
    assert reverse("needs:my_grants") in page


def test_stop_sharing_from_the_page(cast, grants):
    client = cast.client_for("volunteer")
    url = reverse("needs:revoke_grant", args=[grants[1].invitation.public_id])
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    grants[1].refresh_from_db()
    assert grants[1].revoked_at is not None
    # Again: a message, nothing changed.
    response = client.post(url, follow=True)
    assert "already stopped sharing" in response.content.decode()


@pytest.mark.parametrize("action", ["revoke_grant", "renew_grant"], ids=str)
def test_someone_elses_grant_is_not_found(cast, grants, action):
    before = snapshot()
    url = reverse(f"needs:{action}", args=[grants[2].invitation.public_id])
    for key in ("volunteer", "organiser_a", "platform_admin"):
        assert cast.client_for(key).post(url).status_code == 404
    assert snapshot() == before


def test_renew_from_the_page(cast, make_need):
    need = make_need(publish=True, closes_on=timezone.localdate() + timedelta(days=300))
    volunteer = cast.users["volunteer"]
    grant = do_accept(invitation=invite(need, volunteer), actor=volunteer, share_phone=False)
    client = cast.client_for("volunteer")
    # Just made: it already lasts as long as it can, so there's no button and a click
    # gets a message.
    assert "Renew" not in client.get(reverse("needs:my_grants")).content.decode()
    url = reverse("needs:renew_grant", args=[grant.invitation.public_id])
    response = client.post(url, follow=True)
    assert "already shared" in response.content.decode()
    # Three months on it can be renewed.
    ContactGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() + timedelta(days=90), created_at=timezone.now()
    )
    assert "Renew" in client.get(reverse("needs:my_grants")).content.decode()
    client.post(url)
    grant.refresh_from_db()
    assert grant.renewed_at is not None
    assert grant.expires_at > timezone.now() + timedelta(days=180)
