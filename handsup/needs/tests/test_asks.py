"""Asking people from the shortlist: `asks.do_invite` (one ask email through pacing, an
invitation for everyone sent or held, relay invitations for people who are not online,
nobody asked twice), and the pages: picking cards, the confirmation with its counts,
sending, and the refusals (another group's organiser, a GET, no cards, forged cards)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from handsup.accounts.models import User
from handsup.messaging.actions import do_unsubscribe
from handsup.messaging.models import Decision, Kind, LedgerEntry, Message, OutboxItem
from handsup.needs.actions import do_close_need, do_create_need
from handsup.needs.answers import invitation_expiry
from handsup.needs.asks import (
    ALREADY_ASKED,
    NO_LONGER_ELIGIBLE,
    NO_WAY_TO_REACH,
    AskProblem,
    do_invite,
    plan_asks,
)
from handsup.needs.matching import eligible_people, pseudonym_digest, shortlist
from handsup.needs.models import Invitation, Need
from handsup.people.models import Person, Profile
from handsup.people.offline import OfflineDetails, do_register_offline_person
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import AccessLogEntry, AuditEntry
from handsup.privacy.register import PurposeCode

from .conftest import at, make_volunteer, on_site_details

pytestmark = pytest.mark.django_db


@pytest.fixture
def need(open_on_site_need: Need) -> Need:
    return open_on_site_need


def noon() -> datetime:
    """Midday today: outside everyone's default quiet hours (21:00–08:00)."""
    return at(0, 12)


def emailable(cast, skills, **kwargs) -> User:
    """A volunteer who fits the need and lets group A email them."""
    user = make_volunteer(skills={skills[0]: (2, False)}, **kwargs)
    do_record_consent(
        user=user,
        purpose=PurposeCode.GROUP_EMAIL,
        given=True,
        source="web",
        recorded_by=user,
        group=cast.groups["group_a"],
    )
    return user


def offline_person(cast, skills, *, channels=("phone",), group="group_a") -> User:
    """Someone organiser A (or B) registered on paper: no email, a phone number."""
    organiser = cast.users["organiser_a" if group == "group_a" else "organiser_b"]
    person, _code = do_register_offline_person(
        organiser=organiser,
        group=cast.groups[group],
        details=OfflineDetails(
            name="Paper Person",
            agreed_by="paper",
            email="",
            phone="0161 496 0000",
            postal_address="1 Example Street\nManchester",
            channels=channels,
            share_contact=True,
            place=None,
        ),
        claim_link="http://testserver/claim/",
    )
    person.district, person.eastings, person.northings = "M1", 384_500, 398_000
    person.save()
    person.skills.create(skill=skills[0], level=2, remote=False)
    assert person.user is not None
    do_record_consent(
        user=person.user,
        purpose=PurposeCode.FOUND_MOVEMENT,
        given=True,
        source="paper",
        recorded_by=organiser,
    )
    return person.user


def quiet_now(user: User) -> None:
    """Quiet hours around midday, so an ask at noon is held until 13:00."""
    Profile.objects.filter(person__user=user).update(quiet_from=time(11), quiet_until=time(13))


# --- do_invite ----------------------------------------------------------------------------


def test_asking_sends_one_ask_message_and_makes_an_invitation_each(cast, skills, need):
    people = [emailable(cast, skills) for _ in range(3)]
    result = do_invite(
        actor=cast.users["organiser_a"], need=need, user_ids=[u.pk for u in people], now=noon()
    )
    assert (result.asked, result.sent, result.held, result.relay) == (3, 3, 0, 0)
    assert result.refused == {}
    message = Message.objects.get(kind=Kind.ASK, group=cast.groups["group_a"])
    assert message == result.message and message.sent_count == 3
    assert f"/needs/{need.public_id}/answer/?answer=yes" in message.body_markdown
    assert f"/needs/{need.public_id}/answer/?answer=no" in message.body_markdown
    assert "Manchester" in message.body_markdown
    assert OutboxItem.objects.filter(message=message).count() == 3
    ledger = LedgerEntry.objects.filter(message=message)
    assert {(e.user_id, e.decision) for e in ledger} == {(u.pk, Decision.SENT) for u in people}
    invitations = Invitation.objects.filter(need=need).order_by("user_id")
    assert [i.user_id for i in invitations] == sorted(u.pk for u in people)
    for invitation in invitations:
        assert invitation.source == Invitation.Source.ASK
        assert invitation.channel == Invitation.Channel.EMAIL
        assert invitation.status == Invitation.Status.PENDING
        assert invitation.message == message
        assert invitation.invited_by == cast.users["organiser_a"]
        assert invitation.created_at == noon()
        # The need closes in 9 days, before the 14 days an invitation lasts.
        assert invitation.expires_at == invitation_expiry(need, noon())
        assert invitation.expires_at < noon() + timedelta(days=10)
    audit = AuditEntry.objects.get(action="needs.asks_sent")
    assert audit.object_public_id == need.public_id
    assert audit.details["asked"] == 3


def test_asks_in_quiet_hours_are_held_and_still_make_invitations(cast, skills, need):
    now_person, sleeping = emailable(cast, skills), emailable(cast, skills)
    quiet_now(sleeping)
    result = do_invite(
        actor=cast.users["organiser_a"],
        need=need,
        user_ids=[now_person.pk, sleeping.pk],
        now=noon(),
    )
    assert (result.sent, result.held, result.asked) == (1, 1, 2)
    assert result.held_until == at(0, 13)
    assert set(Invitation.objects.filter(need=need).values_list("user_id", flat=True)) == {
        now_person.pk,
        sleeping.pk,
    }
    assert "quiet hours" in result.summary()


def test_people_pacing_refuses_are_counted_with_reasons_and_get_no_invitation(cast, skills, need):
    fine = emailable(cast, skills)
    # Findable by the movement but never agreed to group A's news: letting groups find
    # you is consent to be asked by them, so the ask goes.
    findable_only = make_volunteer(skills={skills[0]: (2, False)})
    gone, muted = emailable(cast, skills), emailable(cast, skills)
    do_unsubscribe(user=gone, scope="everything")
    muted.person.profile.contact_by_email = False
    muted.person.profile.save(update_fields=["contact_by_email"])
    result = do_invite(
        actor=cast.users["organiser_a"],
        need=need,
        user_ids=[fine.pk, findable_only.pk, gone.pk, muted.pk],
        now=noon(),
    )
    assert result.asked == 2
    assert result.refused == {"unsubscribed": 1, "email_off": 1}
    invited = set(Invitation.objects.filter(need=need).values_list("user_id", flat=True))
    assert invited == {fine.pk, findable_only.pk}
    assert "2 people could not be asked" in result.summary()


def test_asking_the_same_people_twice_is_refused_and_changes_nothing(cast, skills, need):
    people = [emailable(cast, skills) for _ in range(2)]
    ids = [u.pk for u in people]
    do_invite(actor=cast.users["organiser_a"], need=need, user_ids=ids, now=noon())
    before = (Invitation.objects.count(), Message.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(AskProblem) as refused:
        do_invite(actor=cast.users["organiser_a"], need=need, user_ids=ids, now=noon())
    assert refused.value.code == "already_asked"
    assert "already been asked" in refused.value.messages[0]
    after = (Invitation.objects.count(), Message.objects.count(), LedgerEntry.objects.count())
    assert after == before


def test_invited_people_leave_the_shortlist_and_mixed_picks_ask_only_the_new(cast, skills, need):
    first, second = emailable(cast, skills), emailable(cast, skills)
    do_invite(actor=cast.users["organiser_a"], need=need, user_ids=[first.pk], now=noon())
    assert [card.user_id for card in shortlist(need, now=noon())] == [second.pk]
    result = do_invite(
        actor=cast.users["organiser_a"], need=need, user_ids=[first.pk, second.pk], now=noon()
    )
    assert result.asked == 1
    assert result.refused == {ALREADY_ASKED: 1}


def test_someone_no_longer_eligible_is_refused_and_counted(cast, skills, need):
    fits, unskilled = emailable(cast, skills), make_volunteer(skills={})
    result = do_invite(
        actor=cast.users["organiser_a"], need=need, user_ids=[fits.pk, unskilled.pk], now=noon()
    )
    assert result.asked == 1
    assert result.refused == {NO_LONGER_ELIGIBLE: 1}
    with pytest.raises(AskProblem) as refused:
        do_invite(actor=cast.users["organiser_a"], need=need, user_ids=[unskilled.pk], now=noon())
    assert refused.value.code == "none_eligible"


def test_a_closed_need_asks_nobody(cast, skills, need):
    person = emailable(cast, skills)
    do_close_need(actor=cast.users["organiser_a"], need=need)
    with pytest.raises(AskProblem) as refused:
        do_invite(actor=cast.users["organiser_a"], need=need, user_ids=[person.pk], now=noon())
    assert refused.value.code == "not_open"
    assert not Invitation.objects.exists() and not Message.objects.filter(kind=Kind.ASK).exists()


def test_only_the_needs_organisers_may_ask(cast, skills, need):
    person = emailable(cast, skills)
    with pytest.raises(AskProblem) as refused:
        do_invite(actor=cast.users["organiser_b"], need=need, user_ids=[person.pk], now=noon())
    assert refused.value.code == "not_allowed"
    assert not Invitation.objects.exists()


def test_picking_nobody_is_refused(cast, need):
    with pytest.raises(AskProblem) as refused:
        do_invite(actor=cast.users["organiser_a"], need=need, user_ids=[], now=noon())
    assert refused.value.messages == ["Pick at least one person to ask."]


def test_someone_offline_goes_on_the_relay_list_and_the_ask_counts_against_their_budget(
    cast, skills, need
):
    online, offline = emailable(cast, skills), offline_person(cast, skills)
    result = do_invite(
        actor=cast.users["organiser_a"], need=need, user_ids=[online.pk, offline.pk], now=noon()
    )
    assert (result.asked, result.sent, result.relay) == (2, 1, 1)
    assert "1 goes on the relay list" in result.summary()
    relayed = Invitation.objects.get(user=offline)
    assert relayed.channel == Invitation.Channel.RELAY and relayed.message is None
    # Nothing is emailed to the placeholder address.
    assert not OutboxItem.objects.filter(user_id=offline.pk).exists()
    entry = LedgerEntry.objects.get(user_id=offline.pk)
    assert (entry.kind, entry.decision, entry.group_id, entry.at) == (
        Kind.ASK,
        Decision.SENT,
        need.group_id,
        noon(),
    )
    assert result.message is not None
    assert entry.message_id != result.message.pk  # its own message, never in the outbox
    # A budget of one ask a week: they are now at it, so no other need may ask them.
    Profile.objects.filter(person__user=offline).update(asks_per_week_normal=1)
    other = do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(skills, title="Another need"),
        publish=True,
    )
    assert offline.pk not in set(
        eligible_people(other, now=noon() + timedelta(minutes=1)).values_list("user_id", flat=True)
    )


def test_someone_offline_whom_no_group_may_phone_or_write_to_cant_be_asked(cast, skills, need):
    offline = offline_person(cast, skills)
    Profile.objects.filter(person__user=offline).update(contact_by_phone=False)
    plan = plan_asks(need, [offline.pk], now=noon())
    assert (plan.asked, plan.refused) == (0, {NO_WAY_TO_REACH: 1})
    with pytest.raises(AskProblem) as refused:
        do_invite(actor=cast.users["organiser_a"], need=need, user_ids=[offline.pk], now=noon())
    assert refused.value.code == "unreachable"
    assert not Invitation.objects.exists() and not LedgerEntry.objects.exists()
    assert not Invitation.objects.exists()


def test_the_plan_counts_what_asking_would_do_and_writes_nothing(cast, skills, need):
    fine, sleeping = emailable(cast, skills), emailable(cast, skills)
    quiet_now(sleeping)
    gone = emailable(cast, skills)
    do_unsubscribe(user=gone, scope="everything")
    offline = offline_person(cast, skills)
    plan = plan_asks(need, [fine.pk, sleeping.pk, gone.pk, offline.pk], not_eligible=2, now=noon())
    assert (plan.sent, plan.held, plan.relay, plan.asked) == (1, 1, 1, 3)
    assert plan.held_until == at(0, 13)
    assert plan.refused == {"unsubscribed": 1}
    assert plan.not_eligible == 2
    assert not Invitation.objects.exists() and not LedgerEntry.objects.exists()


# --- The pages ----------------------------------------------------------------------------


def urls(cast, need: Need, group: str = "group_a") -> tuple[str, str, str]:
    base = f"/groups/manage/{cast.groups[group].public_id}/needs/{need.public_id}/"
    return base + "shortlist/", base + "invite/", base + "invite/send/"


def digest_of(need: Need, user: User) -> str:
    return pseudonym_digest(need, Person.objects.get(user=user).pk)


def test_the_shortlist_posts_pseudonym_hashes_never_ids(cast, skills, need):
    person = emailable(cast, skills)
    shortlist_url, invite_url, _send = urls(cast, need)
    page = cast.client_for("organiser_a").get(shortlist_url).content.decode()
    assert f'action="{invite_url}"' in page
    assert f'name="person" value="{digest_of(need, person)}"' in page
    assert f'value="{person.pk}"' not in page


def test_confirming_shows_the_counts_and_sending_asks_them(cast, skills, need):
    people = [emailable(cast, skills) for _ in range(2)]
    offline = offline_person(cast, skills)
    gone = emailable(cast, skills)
    do_unsubscribe(user=gone, scope="everything")
    picked = [digest_of(need, u) for u in [*people, offline, gone]]
    _shortlist, invite_url, send_url = urls(cast, need)
    client = cast.client_for("organiser_a")
    response = client.post(invite_url, {"person": picked})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Send the asks" in page and f'action="{send_url}"' in page
    assert "unsubscribed from asks or from your group" in page
    assert "Go on a relay list" in page
    assert not Invitation.objects.exists()  # confirming writes nothing
    assert AccessLogEntry.objects.filter(purpose="ask_preview").count() == 4
    response = client.post(send_url, {"person": picked})
    assert response.status_code == 302
    assert Invitation.objects.filter(need=need).count() == 3
    followed = client.get(response["Location"], follow=True).content.decode()
    assert "Asked 3 people; 1 goes on the relay list." in followed


def test_posting_no_cards_says_so_and_changes_nothing(cast, need):
    _shortlist, invite_url, send_url = urls(cast, need)
    client = cast.client_for("organiser_a")
    response = client.post(invite_url, {})
    assert response.status_code == 400
    assert "Pick at least one person to ask." in response.content.decode()
    response = client.post(send_url, {}, follow=True)
    assert "Pick at least one person to ask." in response.content.decode()
    assert not Invitation.objects.exists() and not Message.objects.exists()


def test_a_forged_card_is_reported_not_asked(cast, skills, need):
    person = emailable(cast, skills)
    _shortlist, invite_url, send_url = urls(cast, need)
    client = cast.client_for("organiser_a")
    forged = ["0" * 64, str(person.pk)]
    response = client.post(invite_url, {"person": forged})
    page = response.content.decode()
    assert response.status_code == 200
    assert "no longer on the shortlist" in page and "Send the asks" not in page
    response = client.post(send_url, {"person": forged}, follow=True)
    assert "None of the people you picked can be asked now" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_card_for_another_need_maps_to_nobody(cast, skills, need):
    person = emailable(cast, skills)
    other = do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(skills, title="Another need"),
        publish=True,
    )
    _shortlist, _invite, send_url = urls(cast, need)
    cast.client_for("organiser_a").post(send_url, {"person": [digest_of(other, person)]})
    assert not Invitation.objects.exists()


def test_sending_twice_says_they_were_already_asked(cast, skills, need):
    person = emailable(cast, skills)
    _shortlist, _invite, send_url = urls(cast, need)
    client = cast.client_for("organiser_a")
    client.post(send_url, {"person": [digest_of(need, person)]})
    response = client.post(send_url, {"person": [digest_of(need, person)]}, follow=True)
    # The card no longer maps to anyone eligible: reported, nobody asked again.
    assert "already been asked for this need" in response.content.decode()
    assert Invitation.objects.count() == 1
    _shortlist, invite_url, _send = urls(cast, need)
    page = client.post(invite_url, {"person": [digest_of(need, person)]}).content.decode()
    assert "already asked for this need, or offered to help" in page
    assert "Send the asks" not in page


@pytest.mark.parametrize("which", ["invite", "send"], ids=["invite", "send"])
def test_another_groups_organiser_gets_404(cast, skills, need, which):
    person = emailable(cast, skills)
    _shortlist, invite_url, send_url = urls(cast, need)
    client = cast.client_for("organiser_b")
    url = invite_url if which == "invite" else send_url
    assert client.post(url, {"person": [digest_of(need, person)]}).status_code == 404
    # Their own group's address with A's need is no better.
    own = urls(cast, need, group="group_b")[1 if which == "invite" else 2]
    assert client.post(own, {"person": [digest_of(need, person)]}).status_code == 404
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("which", ["invite", "send"], ids=["invite", "send"])
def test_a_get_changes_nothing(cast, skills, need, which):
    person = emailable(cast, skills)
    _shortlist, invite_url, send_url = urls(cast, need)
    url = invite_url if which == "invite" else send_url
    response = cast.client_for("organiser_a").get(url, {"person": [digest_of(need, person)]})
    assert response.status_code == 405
    assert not Invitation.objects.exists()
