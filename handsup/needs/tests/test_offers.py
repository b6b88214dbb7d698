"""Offering to help: who may, what it makes, what the group is told, and every refusal
leaving nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from handsup.groups.models import GroupBlock, Membership
from handsup.messaging.models import Kind, LedgerEntry, Message
from handsup.needs.actions import do_close_need
from handsup.needs.answers import invitation_expiry
from handsup.needs.models import Invitation, Need
from handsup.needs.offers import OfferRefused, do_offer
from handsup.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db


def offer_url(need: Need) -> str:
    return f"/needs/{need.public_id}/offer/"


@pytest.fixture
def need(make_need) -> Need:
    return make_need(publish=True)


def test_a_volunteer_offers_and_the_groups_organisers_are_told_without_their_name(cast, need):
    volunteer = cast.users["volunteer"]
    client = cast.client_for("volunteer")

    response = client.post(offer_url(need), {"share_phone": "1"})

    assert response.status_code == 302 and response["Location"] == f"/needs/{need.public_id}/"
    offer = Invitation.objects.get(need=need, user=volunteer)
    assert (offer.source, offer.channel, offer.status, offer.share_phone) == (
        "offer",
        "email",
        "pending",
        True,
    )
    assert offer.expires_at == invitation_expiry(need, offer.created_at)
    assert offer.invited_by is None and offer.answered_at is None
    audit = AuditEntry.objects.get(action="needs.offered")
    assert (audit.actor, audit.group, audit.object_public_id) == (
        volunteer,
        need.group,
        offer.public_id,
    )
    notice = Message.objects.get(kind=Kind.SERVICE, group=need.group)
    told = set(LedgerEntry.objects.filter(message=notice).values_list("user_id", flat=True))
    organisers = Membership.objects.filter(group=need.group, role__in=["organiser", "admin"])
    assert told == set(organisers.values_list("user_id", flat=True))
    assert cast.users["organiser_a"].pk in told and volunteer.pk not in told
    assert need.title in notice.subject
    assert f"/needs/{need.public_id}/people/" in notice.body_markdown
    for secret in (volunteer.full_name, volunteer.email, cast.marker("volunteer")):
        assert secret not in notice.subject + notice.body_markdown

    page = client.get(response["Location"]).content.decode()
    assert "You offered on" in page and "waiting for the group" in page
    assert 'action="/needs/' not in page  # no second offer form


def test_the_need_page_offers_a_form_with_the_phone_choice(cast, need):
    page = cast.client_for("volunteer").get(f"/needs/{need.public_id}/").content.decode()
    assert f'action="{offer_url(need)}"' in page
    assert 'name="share_phone"' in page and "Share my phone number too" in page


def test_offering_twice_is_refused_with_a_message_and_nothing_changes(cast, need):
    client = cast.client_for("volunteer")
    client.post(offer_url(need))
    audits = AuditEntry.objects.count()

    response = client.post(offer_url(need), {"share_phone": "1"})

    assert response.status_code == 400
    assert "You have already offered to help with this." in response.content.decode()
    offer = Invitation.objects.get(need=need, user=cast.users["volunteer"])
    assert offer.share_phone is False
    assert AuditEntry.objects.count() == audits


@pytest.mark.parametrize(
    ("status", "answered", "message"),
    [
        pytest.param("pending", False, "already asked you about this need", id="asked"),
        pytest.param("accepted", True, "already said yes", id="said-yes"),
        pytest.param("declined", True, "You said no to this need earlier", id="said-no"),
        pytest.param("expired", True, "You were asked about this need before", id="lapsed"),
    ],
)
def test_someone_already_asked_cannot_offer(cast, need, status, answered, message):
    now = timezone.now()
    Invitation.objects.create(
        need=need,
        user=cast.users["volunteer"],
        source=Invitation.Source.ASK,
        status=status,
        invited_by=cast.users["organiser_a"],
        created_at=now - timedelta(days=1),
        expires_at=now + timedelta(days=5),
        answered_at=now if answered else None,
    )
    response = cast.client_for("volunteer").post(offer_url(need))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Invitation.objects.filter(need=need).count() == 1


def test_without_consent_to_be_found_the_offer_is_refused_and_explained(cast, need):
    client = cast.client_for("volunteer_no_consent")
    page = client.get(f"/needs/{need.public_id}/").content.decode()
    assert "first let groups find you" in page and 'name="share_phone"' not in page

    response = client.post(offer_url(need))

    assert response.status_code == 403
    assert "first let groups find you" in response.content.decode()
    assert not Invitation.objects.filter(need=need).exists()
    assert not Message.objects.filter(kind=Kind.SERVICE).exists()


def test_someone_who_blocked_the_group_cannot_offer(cast, need):
    GroupBlock.objects.create(user=cast.users["volunteer"], group=need.group)
    response = cast.client_for("volunteer").post(offer_url(need))
    assert response.status_code == 403
    assert "You have blocked" in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    "which", [pytest.param("closed", id="closed"), pytest.param("members", id="members-only")]
)
def test_a_need_of_another_group_they_may_not_see_is_404(cast, make_need, which):
    if which == "closed":
        need = make_need("group_b", publish=True)
        do_close_need(actor=cast.users["organiser_b"], need=need)
    else:
        need = make_need("group_b", publish=True, visibility=Need.Visibility.MEMBERS)
    response = cast.client_for("volunteer").post(offer_url(need))
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_an_organiser_can_see_their_closed_need_but_not_offer_for_it(cast, need):
    do_close_need(actor=cast.users["organiser_a"], need=need)
    response = cast.client_for("organiser_a").post(offer_url(need))
    assert response.status_code == 400
    assert "taking offers any more: it is closed" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_missing_need_is_404(cast):
    assert cast.client_for("volunteer").post("/needs/nosuchneed/offer/").status_code == 404


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_offers(cast, need, method):
    response = getattr(cast.client_for("volunteer"), method)(offer_url(need))
    assert response.status_code == 405
    assert not Invitation.objects.exists()


def test_signing_in_is_needed_to_offer(cast, need):
    response = cast.client_for("anonymous").post(offer_url(need))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("persona", "code"),
    [
        pytest.param("volunteer", "not_found", id="volunteer-no-longer-sees-it"),
        pytest.param("organiser_a", "not_open", id="organiser-sees-it-filled"),
    ],
)
def test_the_action_checks_again_under_the_lock(cast, need, persona, code):
    """A need filled after the page was shown: the action itself refuses."""
    Need.objects.filter(pk=need.pk).update(status=Need.Status.FILLED, closed_at=timezone.now())
    with pytest.raises(OfferRefused) as refused:
        do_offer(actor=cast.users[persona], need=need, share_phone=False)
    assert refused.value.code == code
    assert not Invitation.objects.exists()


def test_an_offer_lapses_with_the_need_when_it_closes_sooner(cast, make_need):
    from .conftest import in_days

    need = make_need(publish=True, closes_on=in_days(3))
    offer = do_offer(actor=cast.users["volunteer"], need=need, share_phone=False)
    assert timezone.localdate(offer.expires_at - timedelta(seconds=1)) == in_days(3)


@pytest.mark.parametrize(
    ("source", "status", "expected"),
    [
        pytest.param("ask", "pending", "The group asked you on", id="asked"),
        pytest.param("ask", "accepted", "You said yes on", id="said-yes"),
        pytest.param("offer", "pending", "You offered on", id="offered"),
        pytest.param("ask", "declined", "You said no on", id="said-no"),
    ],
)
def test_the_need_page_says_where_they_stand(cast, need, source, status, expected):
    now = timezone.now()
    Invitation.objects.create(
        need=need,
        user=cast.users["volunteer"],
        source=source,
        status=status,
        created_at=now,
        expires_at=now + timedelta(days=14),
        answered_at=None if status == "pending" else now,
    )
    page = cast.client_for("volunteer").get(f"/needs/{need.public_id}/").content.decode()
    assert expected in page
    assert 'name="share_phone"' not in page
    answer_link = f'href="/needs/{need.public_id}/answer/"'
    assert (answer_link in page) == (source == "ask" and status == "pending")
