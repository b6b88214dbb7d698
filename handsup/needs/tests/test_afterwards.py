"""After someone said yes: logging hours, saying who helped, and the thank-you."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import F
from django.utils import timezone

from handsup.accounts.models import User
from handsup.messaging.models import Kind, LedgerEntry, Message
from handsup.needs.afterwards import (
    do_log_hours,
    do_record_outcome,
    may_log_hours_for,
    may_record_outcome_for,
    parse_hours,
)
from handsup.needs.models import ContactGrant, HoursLog, Invitation, Need, NeedWindow
from handsup.privacy.models import AuditEntry

from .conftest import at

pytestmark = pytest.mark.django_db


def invite(
    need: Need,
    user: User,
    *,
    status: str = Invitation.Status.ACCEPTED,
    source: str = Invitation.Source.ASK,
    share_phone: bool = False,
    days_ago: int = 2,
    grant: bool = True,
    invited_by: User | None = None,
) -> Invitation:
    """An invitation as the asks and answers work would leave it (written directly, so
    these tests don't depend on how it got there). An accepted one takes a place and,
    with `grant`, has a current contact grant."""
    now = timezone.now()
    created = now - timedelta(days=days_ago)
    answered = None if status == Invitation.Status.PENDING else created + timedelta(hours=1)
    invitation = Invitation.objects.create(
        need=need,
        user=user,
        source=source,
        status=status,
        invited_by=invited_by if source == Invitation.Source.ASK else None,
        created_at=created,
        expires_at=created + timedelta(days=14),
        answered_at=answered,
        share_phone=share_phone,
    )
    if status == Invitation.Status.ACCEPTED:
        Need.objects.filter(pk=need.pk).update(filled_count=F("filled_count") + 1)
        if grant:
            assert answered is not None
            ContactGrant.objects.create(
                invitation=invitation,
                user=user,
                group=need.group,
                need=need,
                share_phone=share_phone,
                created_at=answered,
                expires_at=now + timedelta(days=30),
            )
    return invitation


def notes_to(user: User, subject_contains: str = "") -> list[Message]:
    """The service messages the ledger says went to `user`."""
    return list(
        Message.objects.filter(
            ledger__user=user, kind=Kind.SERVICE, subject__contains=subject_contains
        ).order_by("pk")
    )


@pytest.fixture
def accepted(cast: Any, make_need: Any) -> Invitation:
    need = make_need(publish=True)
    return invite(need, cast.users["volunteer"], invited_by=cast.users["organiser_a"])


# --- Hours ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["volunteer", "organiser_a", "admin_a"])
def test_the_volunteer_or_an_organiser_logs_hours(cast, accepted, who):
    actor = cast.users[who]
    entry = do_log_hours(
        actor=actor,
        invitation=accepted,
        hours=Decimal("2.5"),
        on_date=timezone.localdate(),
        note="  Stewarding the gate ",
    )
    assert (entry.hours, entry.logged_by, entry.note) == (
        Decimal("2.5"),
        actor,
        "Stewarding the gate",
    )
    audit = AuditEntry.objects.get(action="needs.hours_logged")
    assert audit.actor == actor
    assert audit.group == cast.groups["group_a"]
    assert audit.details["by"] == ("volunteer" if who == "volunteer" else "organiser")


@pytest.mark.parametrize("who", ["organiser_b", "volunteer_other", "curator", "platform_admin"])
def test_nobody_else_logs_hours(cast, accepted, who):
    with pytest.raises(PermissionDenied):
        do_log_hours(
            actor=cast.users[who],
            invitation=accepted,
            hours=Decimal(1),
            on_date=timezone.localdate(),
        )
    assert not HoursLog.objects.exists()
    assert not may_log_hours_for(cast.users[who], accepted)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (Decimal(0), "more than 0"),
        (Decimal("-1"), "more than 0"),
        (Decimal(25), "At most 24 hours"),
        (Decimal("24.1"), "At most 24 hours"),
        (Decimal("1.25"), "one decimal place"),
        (Decimal("NaN"), "as a number"),
        ("lots", "as a number"),
        (None, "as a number"),
    ],
    ids=["zero", "negative", "twenty-five", "just-over-a-day", "two-places", "nan", "text", "none"],
)
def test_bad_hours_are_refused_beside_the_field(cast, accepted, hours, message):
    with pytest.raises(ValidationError) as raised:
        do_log_hours(
            actor=cast.users["volunteer"],
            invitation=accepted,
            hours=hours,
            on_date=timezone.localdate(),
        )
    assert list(raised.value.message_dict) == ["hours"]
    assert message in raised.value.message_dict["hours"][0]
    assert not HoursLog.objects.exists()
    assert not AuditEntry.objects.filter(action="needs.hours_logged").exists()


@pytest.mark.parametrize(
    ("hours", "stored"),
    [(Decimal(24), Decimal(24)), (Decimal("0.1"), Decimal("0.1")), (3, Decimal(3))],
    ids=["a-whole-day", "six-minutes", "an-int"],
)
def test_hours_at_the_edges_are_accepted(cast, accepted, hours, stored):
    entry = do_log_hours(
        actor=cast.users["volunteer"],
        invitation=accepted,
        hours=hours,
        on_date=timezone.localdate(),
    )
    entry.refresh_from_db()
    assert entry.hours == stored


@pytest.mark.parametrize(
    ("days", "message"),
    [(1, "hasn't happened yet"), (-3, "before this invitation was made")],
    ids=["tomorrow", "before-the-invitation"],
)
def test_days_outside_the_invitation_are_refused(cast, accepted, days, message):
    with pytest.raises(ValidationError) as raised:
        do_log_hours(
            actor=cast.users["volunteer"],
            invitation=accepted,
            hours=Decimal(2),
            on_date=timezone.localdate() + timedelta(days=days),
        )
    assert message in raised.value.message_dict["on_date"][0]
    assert not HoursLog.objects.exists()


def test_a_long_note_is_refused(cast, accepted):
    with pytest.raises(ValidationError) as raised:
        do_log_hours(
            actor=cast.users["volunteer"],
            invitation=accepted,
            hours=Decimal(2),
            on_date=timezone.localdate(),
            note="x" * 201,
        )
    assert list(raised.value.message_dict) == ["note"]


@pytest.mark.parametrize(
    "status",
    [Invitation.Status.PENDING, Invitation.Status.DECLINED, Invitation.Status.WITHDRAWN],
    ids=["pending", "declined", "withdrawn"],
)
def test_hours_only_for_someone_who_said_yes(cast, make_need, status):
    invitation = invite(make_need(publish=True), cast.users["volunteer"], status=status)
    with pytest.raises(ValidationError) as raised:
        do_log_hours(
            actor=cast.users["volunteer"],
            invitation=invitation,
            hours=Decimal(2),
            on_date=timezone.localdate(),
        )
    assert "said yes" in raised.value.message_dict[NON_FIELD_ERRORS][0]
    assert not HoursLog.objects.exists()


def test_parse_hours_reads_what_people_type():
    assert parse_hours(" 1.5 ") == Decimal("1.5")
    assert parse_hours("2,5") == Decimal("2.5")
    assert parse_hours("two") is None
    assert parse_hours("Infinity") is None
    assert parse_hours("") is None


# --- Outcomes and the thank-you -----------------------------------------------------------


def test_an_organiser_records_who_helped_and_the_thank_you_goes_once(cast, accepted):
    volunteer = cast.users["volunteer"]
    do_log_hours(
        actor=volunteer, invitation=accepted, hours=Decimal("1.5"), on_date=timezone.localdate()
    )
    do_log_hours(
        actor=cast.users["organiser_a"],
        invitation=accepted,
        hours=2,  # type: ignore[arg-type]  # a caller passing an int is taken too
        on_date=timezone.localdate(),
    )
    result = do_record_outcome(actor=cast.users["organiser_a"], invitation=accepted, helped=True)
    assert result.helped is True
    assert result.outcome_recorded_at is not None
    assert result.thanked_at is not None
    thanks = notes_to(volunteer, "Thank you")
    assert [m.subject for m in thanks] == ["Thank you for helping with “Phone bank callers”"]
    assert "3.5 hours" in thanks[0].body_markdown
    assert "Manchester Central Constituency Party" in thanks[0].body_markdown
    assert thanks[0].group == cast.groups["group_a"]
    # Correcting the answer and setting it back never thanks twice.
    do_record_outcome(actor=cast.users["admin_a"], invitation=accepted, helped=False)
    do_record_outcome(actor=cast.users["organiser_a"], invitation=accepted, helped=True)
    assert len(notes_to(volunteer, "Thank you")) == 1
    audits = AuditEntry.objects.filter(action="needs.outcome_recorded").order_by("pk")
    assert [(a.details["helped"], a.details["thanked"]) for a in audits] == [
        (True, True),
        (False, False),
        (True, False),
    ]


def test_didnt_help_sends_nothing(cast, accepted):
    result = do_record_outcome(actor=cast.users["organiser_a"], invitation=accepted, helped=False)
    assert (result.helped, result.thanked_at) == (False, None)
    assert notes_to(cast.users["volunteer"]) == []


def test_thank_you_without_hours_points_to_logging_them(cast, accepted):
    do_record_outcome(actor=cast.users["organiser_a"], invitation=accepted, helped=True)
    (thanks,) = notes_to(cast.users["volunteer"], "Thank you")
    assert "log your hours" in thanks.body_markdown


@pytest.mark.parametrize("who", ["volunteer", "organiser_b", "volunteer_other", "platform_admin"])
def test_only_the_groups_organisers_record_outcomes(cast, accepted, who):
    with pytest.raises(PermissionDenied):
        do_record_outcome(actor=cast.users[who], invitation=accepted, helped=True)
    accepted.refresh_from_db()
    assert (accepted.helped, accepted.thanked_at) == (None, None)
    assert not may_record_outcome_for(cast.users[who], accepted)
    assert notes_to(cast.users["volunteer"]) == []


def test_an_organiser_who_is_also_the_volunteer_cant_mark_themself(cast, make_need):
    need = make_need(publish=True)
    invitation = invite(need, cast.users["admin_a"])
    with pytest.raises(PermissionDenied):
        do_record_outcome(actor=cast.users["admin_a"], invitation=invitation, helped=True)


@pytest.mark.parametrize(
    "status",
    [Invitation.Status.PENDING, Invitation.Status.DECLINED, Invitation.Status.EXPIRED],
    ids=["pending", "declined", "expired"],
)
def test_outcomes_only_for_someone_who_said_yes(cast, make_need, status):
    invitation = invite(make_need(publish=True), cast.users["volunteer"], status=status)
    with pytest.raises(ValidationError):
        do_record_outcome(actor=cast.users["organiser_a"], invitation=invitation, helped=True)
    invitation.refresh_from_db()
    assert invitation.helped is None


def _windows_need(make_need: Any) -> Need:
    from handsup.needs.actions import TimeWindow

    need: Need = make_need(
        publish=True,
        schedule_kind=Need.ScheduleKind.WINDOWS,
        weekly_slots=0,
        windows=(TimeWindow(at(3, 10), at(3, 12)),),
    )
    return need


def test_outcomes_wait_until_the_needs_time_has_begun(cast, make_need):
    need = _windows_need(make_need)
    invitation = invite(need, cast.users["volunteer"])
    with pytest.raises(ValidationError) as raised:
        do_record_outcome(actor=cast.users["organiser_a"], invitation=invitation, helped=True)
    assert "hasn't begun" in raised.value.messages[0]
    # Once it has begun (here: recorded as if three days on), the answer is taken.
    later: datetime = at(3, 11)
    result = do_record_outcome(
        actor=cast.users["organiser_a"], invitation=invitation, helped=True, now=later
    )
    assert result.helped is True
    assert result.outcome_recorded_at == later


def test_a_past_time_counts_as_begun(cast, make_need):
    need = _windows_need(make_need)
    NeedWindow.objects.filter(need=need).update(
        starts_at=timezone.now() - timedelta(hours=3), ends_at=timezone.now() - timedelta(hours=1)
    )
    invitation = invite(need, cast.users["volunteer"])
    assert do_record_outcome(
        actor=cast.users["organiser_a"], invitation=invitation, helped=True
    ).helped


def test_thank_you_escapes_markdown_in_the_title(cast, make_need):
    need = make_need(publish=True, title="Leaflets *urgent* [round 2]")
    invitation = invite(need, cast.users["volunteer"])
    do_record_outcome(actor=cast.users["organiser_a"], invitation=invitation, helped=True)
    (thanks,) = notes_to(cast.users["volunteer"], "Thank you")
    assert "Leaflets \\*urgent\\* \\[round 2\\]" in thanks.body_markdown
    assert LedgerEntry.objects.filter(user=cast.users["volunteer"], message=thanks).count() == 1
