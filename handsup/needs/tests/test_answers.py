"""Answering invitations: yes makes a grant, takes a place and introduces both sides; no,
withdrawing, expiry and closing; every refusal leaves everything as it was."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from handsup.accounts.models import User
from handsup.core.schedule import registered_jobs
from handsup.messaging.models import Kind, LedgerEntry, Message, OutboxItem
from handsup.needs.actions import TimeWindow, do_close_need
from handsup.needs.answers import (
    InvitationProblem,
    current_grants,
    do_accept,
    do_decline,
    do_reconfirm,
    do_renew_grant,
    do_revoke_grant,
    do_withdraw_acceptance,
    do_withdraw_open_invitations,
    expire_invitations,
    invitation_expiry,
    may_answer,
)
from handsup.needs.models import GRANT_MAX_DAYS, ContactGrant, Invitation, Need
from handsup.people.models import Profile
from handsup.privacy.models import AccessLogEntry, AuditEntry

from .conftest import at, in_days

pytestmark = pytest.mark.django_db


def invite(
    need: Need,
    user: User,
    *,
    source: str = Invitation.Source.ASK,
    invited_by: User | None = None,
    created_at: datetime | None = None,
    channel: str = Invitation.Channel.EMAIL,
) -> Invitation:
    """An invitation as the asks (or offers) work would make it."""
    created = created_at or timezone.now()
    return Invitation.objects.create(
        need=need,
        user=user,
        source=source,
        channel=channel,
        invited_by=invited_by,
        created_at=created,
        expires_at=invitation_expiry(need, created),
    )


def snapshot() -> tuple[object, ...]:
    """Everything an answer writes, to show a refused one wrote nothing."""
    return (
        list(Need.objects.order_by("pk").values()),
        list(Invitation.objects.order_by("pk").values()),
        list(ContactGrant.objects.order_by("pk").values()),
        Message.objects.count(),
        LedgerEntry.objects.count(),
        AccessLogEntry.objects.count(),
        AuditEntry.objects.filter(action__startswith="needs.").count(),
    )


def notices_to(user: User) -> list[Message]:
    return list(Message.objects.filter(kind=Kind.SERVICE, ledger__user=user).order_by("pk"))


@pytest.fixture
def need(make_need: Any) -> Need:
    """Open, remote, ongoing, 3 people, closing in 30 days, from group A."""
    return make_need(publish=True)


@pytest.fixture
def ask(cast: Any, need: Need) -> Invitation:
    Profile.objects.filter(person__user=cast.users["volunteer"]).update(phone="07700 900123")
    return invite(need, cast.users["volunteer"], invited_by=cast.users["organiser_a"])


# --- Dates -------------------------------------------------------------------------------


def test_an_invitation_lasts_two_weeks(need):
    made = timezone.now()
    assert invitation_expiry(need, made) == made + timedelta(days=14)


def test_an_invitation_ends_with_the_closing_date_if_that_is_sooner(need):
    need.closes_on = in_days(3)
    made = timezone.now()
    end = invitation_expiry(need, made)
    assert end < made + timedelta(days=14)
    assert timezone.localtime(end).date() == in_days(4)
    assert (timezone.localtime(end).hour, timezone.localtime(end).minute) == (0, 0)


# --- Saying yes --------------------------------------------------------------------------


def test_yes_makes_a_grant_takes_a_place_and_introduces_both_sides(cast, need, ask):
    volunteer, organiser = cast.users["volunteer"], cast.users["organiser_a"]
    grant = do_accept(invitation=ask, actor=volunteer, share_phone=True)

    ask.refresh_from_db()
    need.refresh_from_db()
    assert (ask.status, ask.share_phone, ask.answered_at is not None) == ("accepted", True, True)
    assert (grant.user, grant.group, grant.need, grant.share_phone) == (
        volunteer,
        cast.groups["group_a"],
        need,
        True,
    )
    assert grant.fields == ["full_name", "email", "phone"]
    # Ongoing need closing in 30 days: a month after it closes (well within six months).
    assert timezone.localtime(grant.expires_at).date() == in_days(31 + 30)
    assert list(current_grants()) == [grant]
    assert (need.filled_count, need.status) == (1, Need.Status.OPEN)

    # Introductions: one service message each, on the ledger and in the outbox.
    to_volunteer, to_organiser = notices_to(volunteer), notices_to(organiser)
    assert len(to_volunteer) == len(to_organiser) == 1
    assert organiser.email in to_volunteer[0].body_markdown
    assert "07700 900123" in to_organiser[0].body_markdown
    assert volunteer.email in to_organiser[0].body_markdown
    assert f"/groups/manage/{need.group.public_id}/needs/{need.public_id}/people/" in (
        to_organiser[0].body_markdown
    )
    assert OutboxItem.objects.filter(user=volunteer, message=to_volunteer[0]).exists()
    assert OutboxItem.objects.filter(user=organiser, message=to_organiser[0]).exists()
    # Nobody else was introduced.
    assert not notices_to(cast.users["admin_a"])

    # Emailing someone's details is showing them: logged both ways.
    shown = AccessLogEntry.objects.get(actor=organiser, subject=volunteer)
    assert (shown.purpose, shown.fields, shown.group) == (
        "introduction",
        ["full_name", "email", "phone"],
        cast.groups["group_a"],
    )
    assert AccessLogEntry.objects.filter(
        actor=volunteer, subject=organiser, purpose="introduction"
    ).exists()
    audit = AuditEntry.objects.get(action="needs.invitation_accepted")
    assert (audit.actor, audit.object_public_id, audit.details["filled"]) == (
        volunteer,
        ask.public_id,
        False,
    )


def test_without_an_inviter_every_organiser_is_introduced(cast, need):
    volunteer = cast.users["volunteer"]
    invitation = invite(need, volunteer)
    do_accept(invitation=invitation, actor=volunteer, share_phone=False)
    for key in ("organiser_a", "admin_a", "organiser_no_mfa"):
        assert len(notices_to(cast.users[key])) == 1, key
        entry = AccessLogEntry.objects.get(actor=cast.users[key], subject=volunteer)
        assert entry.fields == ["full_name", "email"]
    assert not notices_to(cast.users["organiser_b"])


def test_phone_is_not_shared_when_not_ticked_or_not_given(cast, need):
    volunteer = cast.users["volunteer"]
    invitation = invite(need, volunteer, invited_by=cast.users["organiser_a"])
    # Ticked, but there is no phone number on the profile.
    grant = do_accept(invitation=invitation, actor=volunteer, share_phone=True)
    assert grant.share_phone is False
    assert "- Phone" not in notices_to(cast.users["organiser_a"])[0].body_markdown


@pytest.mark.parametrize(
    "key", ["volunteer_other", "organiser_a", "admin_a", "organiser_b"], ids=lambda k: k
)
def test_nobody_else_can_say_yes_to_an_ask(cast, ask, key):
    before = snapshot()
    with pytest.raises(PermissionDenied):
        do_accept(invitation=ask, actor=cast.users[key], share_phone=False)
    assert snapshot() == before
    assert not may_answer(cast.users[key], ask)


def test_saying_yes_twice_is_refused(cast, need, ask):
    do_accept(invitation=ask, actor=cast.users["volunteer"], share_phone=False)
    before = snapshot()
    with pytest.raises(InvitationProblem, match="already answered"):
        do_accept(invitation=ask, actor=cast.users["volunteer"], share_phone=False)
    assert snapshot() == before
    need.refresh_from_db()
    assert need.filled_count == 1


def test_an_expired_invitation_cannot_be_accepted(cast, need):
    old = invite(need, cast.users["volunteer"], created_at=timezone.now() - timedelta(days=15))
    before = snapshot()
    with pytest.raises(InvitationProblem, match="expired"):
        do_accept(invitation=old, actor=cast.users["volunteer"], share_phone=False)
    assert snapshot() == before


def test_a_closed_need_cannot_be_accepted(cast, need):
    invitation = invite(need, cast.users["volunteer"])
    Need.objects.filter(pk=need.pk).update(status="closed", closed_at=timezone.now())
    with pytest.raises(InvitationProblem, match="closed"):
        do_accept(invitation=invitation, actor=cast.users["volunteer"], share_phone=False)


def test_the_last_place_fills_the_need_and_withdraws_the_other_asks(cast, make_need):
    need = make_need(publish=True, people_needed=2)
    first, second, third = (
        invite(need, cast.users[key])
        for key in ("volunteer", "volunteer_no_consent", "volunteer_other")
    )
    do_accept(invitation=first, actor=cast.users["volunteer"], share_phone=False)
    do_accept(invitation=second, actor=cast.users["volunteer_no_consent"], share_phone=False)

    need.refresh_from_db()
    third.refresh_from_db()
    assert (need.status, need.filled_count, need.closed_at is not None) == ("filled", 2, True)
    assert (third.status, third.answered_at is not None) == ("withdrawn", True)
    told = notices_to(cast.users["volunteer_other"])
    assert len(told) == 1
    assert "all the people it needs" in told[0].body_markdown
    assert AuditEntry.objects.filter(
        action="needs.invitation_withdrawn", object_public_id=third.public_id
    ).exists()

    before = snapshot()
    with pytest.raises(InvitationProblem, match="already filled"):
        do_accept(invitation=third, actor=cast.users["volunteer_other"], share_phone=False)
    assert snapshot() == before


# --- Offers ------------------------------------------------------------------------------


@pytest.fixture
def offer(cast: Any, need: Need) -> Invitation:
    return invite(need, cast.users["volunteer"], source=Invitation.Source.OFFER)


@pytest.mark.parametrize("key", ["organiser_a", "admin_a"], ids=lambda k: k)
def test_an_organiser_accepts_an_offer(cast, need, offer, key):
    grant = do_accept(invitation=offer, actor=cast.users[key], share_phone=False)
    assert grant.user == cast.users["volunteer"]
    need.refresh_from_db()
    assert need.filled_count == 1
    to_volunteer = notices_to(cast.users["volunteer"])
    # The organiser who accepted is the volunteer's contact.
    assert cast.users[key].email in to_volunteer[0].body_markdown
    assert "accepted" in notices_to(cast.users[key])[0].body_markdown


@pytest.mark.parametrize("key", ["volunteer", "organiser_b", "volunteer_other"], ids=lambda k: k)
def test_an_offer_is_not_accepted_by_its_maker_or_another_group(cast, offer, key):
    before = snapshot()
    with pytest.raises(PermissionDenied):
        do_accept(invitation=offer, actor=cast.users[key], share_phone=False)
    assert snapshot() == before


def test_an_organiser_turns_down_an_offer_kindly(cast, offer):
    do_decline(invitation=offer, actor=cast.users["organiser_a"], reason="")
    offer.refresh_from_db()
    assert offer.status == "declined"
    told = notices_to(cast.users["volunteer"])
    assert len(told) == 1 and "Thank you for offering" in told[0].body_markdown
    audit = AuditEntry.objects.get(action="needs.invitation_declined")
    assert audit.details["by"] == "group"


def test_the_volunteer_withdraws_their_own_offer(cast, offer):
    do_decline(invitation=offer, actor=cast.users["volunteer"], reason="")
    offer.refresh_from_db()
    assert offer.status == "declined"
    assert not notices_to(cast.users["volunteer"])


# --- Saying no ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", Invitation.DeclineReason.values, ids=lambda r: r or "none")
def test_no_records_the_reason(cast, ask, reason):
    do_decline(invitation=ask, actor=cast.users["volunteer"], reason=reason)
    ask.refresh_from_db()
    assert (ask.status, ask.decline_reason) == ("declined", reason)
    audit = AuditEntry.objects.get(action="needs.invitation_declined")
    assert audit.details["reason"] == reason
    assert not ContactGrant.objects.exists()


@pytest.mark.parametrize("reason", ["busy", "NOT_NOW", " not_now"], ids=["word", "upper", "space"])
def test_no_with_an_unknown_reason_is_refused(cast, ask, reason):
    before = snapshot()
    with pytest.raises(InvitationProblem, match="Choose one of the reasons"):
        do_decline(invitation=ask, actor=cast.users["volunteer"], reason=reason)
    assert snapshot() == before


def test_no_after_yes_is_refused(cast, ask):
    do_accept(invitation=ask, actor=cast.users["volunteer"], share_phone=False)
    with pytest.raises(InvitationProblem, match="already answered"):
        do_decline(invitation=ask, actor=cast.users["volunteer"], reason="")


def test_nobody_else_can_say_no(cast, ask):
    with pytest.raises(PermissionDenied):
        do_decline(invitation=ask, actor=cast.users["organiser_a"], reason="")


# --- Changing a yes ----------------------------------------------------------------------


def test_withdrawing_a_yes_frees_the_place_and_reopens_a_filled_need(cast, make_need):
    need = make_need(publish=True, people_needed=1)
    invitation = invite(need, cast.users["volunteer"], invited_by=cast.users["organiser_a"])
    grant = do_accept(invitation=invitation, actor=cast.users["volunteer"], share_phone=False)
    need.refresh_from_db()
    assert need.status == "filled"

    do_withdraw_acceptance(invitation=invitation, actor=cast.users["volunteer"])
    need.refresh_from_db()
    invitation.refresh_from_db()
    grant.refresh_from_db()
    assert (need.status, need.filled_count, need.closed_at) == ("open", 0, None)
    assert invitation.status == "withdrawn"
    assert grant.revoked_at is not None
    assert not current_grants().exists()
    told = notices_to(cast.users["organiser_a"])
    assert len(told) == 2 and "free" in told[-1].subject
    # No personal details in the notice about it.
    assert cast.users["volunteer"].email not in told[-1].body_markdown


def test_only_the_volunteer_withdraws_their_yes(cast, ask):
    do_accept(invitation=ask, actor=cast.users["volunteer"], share_phone=False)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        do_withdraw_acceptance(invitation=ask, actor=cast.users["organiser_a"])
    assert snapshot() == before


def test_withdrawing_without_a_yes_is_refused(cast, ask):
    with pytest.raises(InvitationProblem, match="haven't said yes"):
        do_withdraw_acceptance(invitation=ask, actor=cast.users["volunteer"])


def test_confirming_again_after_a_change(cast, ask):
    do_accept(invitation=ask, actor=cast.users["volunteer"], share_phone=False)
    with pytest.raises(InvitationProblem, match="Nothing has changed"):
        do_reconfirm(invitation=ask, actor=cast.users["volunteer"])
    Invitation.objects.filter(pk=ask.pk).update(reconfirm_requested_at=timezone.now())
    do_reconfirm(invitation=ask, actor=cast.users["volunteer"])
    ask.refresh_from_db()
    assert ask.reconfirm_requested_at is None
    assert AuditEntry.objects.filter(action="needs.acceptance_reconfirmed").count() == 1


# --- Grants ------------------------------------------------------------------------------


def test_revoking_ends_the_grant_at_once(cast, ask):
    grant = do_accept(invitation=ask, actor=cast.users["volunteer"], share_phone=False)
    with pytest.raises(PermissionDenied):
        do_revoke_grant(grant=grant, actor=cast.users["organiser_a"])
    do_revoke_grant(grant=grant, actor=cast.users["volunteer"])
    assert not current_grants().filter(pk=grant.pk).exists()
    # Still down to help: revoking only stops the sharing.
    ask.refresh_from_db()
    assert ask.status == "accepted"
    with pytest.raises(InvitationProblem, match="already stopped"):
        do_revoke_grant(grant=grant, actor=cast.users["volunteer"])
    assert AuditEntry.objects.filter(action="needs.grant_revoked").count() == 1


def test_an_ongoing_grant_lasts_at_most_six_months_and_renews(cast, make_need):
    need = make_need(publish=True, closes_on=in_days(300))
    invitation = invite(need, cast.users["volunteer"])
    start = timezone.now()
    grant = do_accept(invitation=invitation, actor=cast.users["volunteer"], share_phone=False)
    assert grant.expires_at - start < timedelta(days=GRANT_MAX_DAYS, minutes=1)
    assert grant.expires_at - start > timedelta(days=GRANT_MAX_DAYS - 1)

    later = start + timedelta(days=100)
    renewed = do_renew_grant(grant=grant, actor=cast.users["volunteer"], now=later)
    assert renewed.expires_at == later + timedelta(days=GRANT_MAX_DAYS)
    assert renewed.renewed_at == later
    # Renewing again the same moment changes nothing, so it is refused.
    with pytest.raises(InvitationProblem, match="already shared"):
        do_renew_grant(grant=grant, actor=cast.users["volunteer"], now=later)


def test_a_grant_for_set_times_lasts_a_month_after_the_last_one(cast, make_need):
    last = TimeWindow(at(6, 18), at(6, 20))
    need = make_need(
        publish=True,
        schedule_kind=Need.ScheduleKind.WINDOWS,
        weekly_slots=0,
        windows=(TimeWindow(at(5, 18), at(5, 20)), last),
    )
    invitation = invite(need, cast.users["volunteer"])
    grant = do_accept(invitation=invitation, actor=cast.users["volunteer"], share_phone=False)
    assert grant.expires_at == last.ends_at + timedelta(days=30)
    with pytest.raises(InvitationProblem, match="already shared"):
        do_renew_grant(grant=grant, actor=cast.users["volunteer"])


def test_renewing_is_refused_when_revoked_or_over_or_not_yours(cast, need, ask):
    grant = do_accept(invitation=ask, actor=cast.users["volunteer"], share_phone=False)
    with pytest.raises(PermissionDenied):
        do_renew_grant(grant=grant, actor=cast.users["organiser_a"])
    with pytest.raises(InvitationProblem, match="over"):
        do_renew_grant(
            grant=grant, actor=cast.users["volunteer"], now=timezone.now() + timedelta(days=40)
        )
    do_revoke_grant(grant=grant, actor=cast.users["volunteer"])
    with pytest.raises(InvitationProblem, match="stopped sharing"):
        do_renew_grant(grant=grant, actor=cast.users["volunteer"])


# --- Expiry and closing ------------------------------------------------------------------


def test_expire_invitations_marks_only_the_lapsed_ones(cast, need):
    old = invite(need, cast.users["volunteer"], created_at=timezone.now() - timedelta(days=15))
    fresh = invite(need, cast.users["volunteer_other"])
    assert expire_invitations() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == ("expired", "pending")
    assert AuditEntry.objects.filter(
        action="needs.invitation_expired", object_public_id=old.public_id, actor=None
    ).exists()
    assert expire_invitations() == 0


def test_expiry_runs_hourly_on_the_schedule():
    from handsup.needs import jobs  # noqa: F401  (start-up imports it; see the README)

    job = registered_jobs()["handsup.needs.jobs.expire_needs_invitations"]
    assert job.every == timedelta(hours=1)


def test_closing_a_need_withdraws_its_open_invitations(cast, need):
    waiting = invite(need, cast.users["volunteer_other"])
    yes = invite(need, cast.users["volunteer"])
    do_accept(invitation=yes, actor=cast.users["volunteer"], share_phone=False)
    do_close_need(actor=cast.users["organiser_a"], need=need)
    waiting.refresh_from_db()
    yes.refresh_from_db()
    assert (waiting.status, yes.status) == ("withdrawn", "accepted")
    told = notices_to(cast.users["volunteer_other"])
    assert len(told) == 1 and "closed this need" in told[0].body_markdown
    with pytest.raises(InvitationProblem, match="This need is closed"):
        do_accept(invitation=waiting, actor=cast.users["volunteer_other"], share_phone=False)


def test_withdrawing_with_nothing_open_sends_nothing(cast, need):
    before = snapshot()
    assert do_withdraw_open_invitations(need=need, actor=cast.users["organiser_a"], why="x") == 0
    assert snapshot() == before


def test_another_groups_organiser_cannot_relay_an_answer(cast, need):
    relayed = invite(need, cast.users["volunteer"], channel=Invitation.Channel.RELAY)
    assert not may_answer(cast.users["organiser_b"], relayed)
    with pytest.raises(PermissionDenied):
        do_accept(invitation=relayed, actor=cast.users["organiser_b"], share_phone=False)


def test_a_name_cannot_add_links_or_formatting_to_an_introduction(cast, need):
    from handsup.messaging.rendering import markdown_to_html

    volunteer = cast.users["volunteer"]
    volunteer.full_name = "1. [Click me](https://evil.example) <b>now</b>"
    volunteer.save(update_fields=["full_name"])
    invitation = invite(need, volunteer, invited_by=cast.users["organiser_a"])
    do_accept(invitation=invitation, actor=volunteer, share_phone=False)
    html = markdown_to_html(notices_to(cast.users["organiser_a"])[0].body_markdown)
    assert "evil.example" in html and 'href="https://evil.example"' not in html
    assert "<b>" not in html and "<ol>" not in html


@pytest.mark.parametrize(
    "source, key, to, allowed",
    [
        ("ask", "volunteer", "answer", True),
        ("ask", "volunteer", "accept", True),
        ("ask", "volunteer", "change", True),
        ("ask", "organiser_a", "answer", False),
        ("ask", "organiser_a", "accept", False),
        ("ask", "volunteer_other", "answer", False),
        ("offer", "volunteer", "answer", True),
        ("offer", "volunteer", "accept", False),
        ("offer", "volunteer", "change", True),
        ("offer", "organiser_a", "answer", True),
        ("offer", "admin_a", "accept", True),
        ("offer", "organiser_a", "change", False),
        ("offer", "organiser_b", "answer", False),
        ("offer", "organiser_b", "accept", False),
        ("offer", "platform_admin", "accept", False),
    ],
    ids=lambda v: str(v),
)
def test_who_may_answer(cast, need, source, key, to, allowed):
    invitation = invite(need, cast.users["volunteer"], source=source)
    assert may_answer(cast.users[key], invitation, to=to) is allowed
