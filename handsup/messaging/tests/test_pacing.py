"""Pacing: one rule per test, and every bad input refused with nothing written."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from handsup.groups.models import GroupBlock, Membership, MovementLimits
from handsup.messaging.actions import (
    check_personal_limits,
    do_declare_campaign_period,
    do_send_message,
    do_set_contact_limits,
    do_unsubscribe,
)
from handsup.messaging.models import (
    CampaignPeriod,
    ContactLimits,
    Decision,
    Kind,
    LedgerEntry,
    Message,
    OutboxItem,
    Reason,
    Unsubscribe,
)
from handsup.messaging.pacing import (
    PacingError,
    audience_of_members,
    audience_of_users,
    pace,
    preview,
)
from handsup.messaging.tests.helpers import (
    at,
    draft,
    give_group_email,
    make_group,
    make_person,
    send,
)
from handsup.people.models import Profile
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import AuditEntry
from handsup.privacy.register import PurposeCode

pytestmark = pytest.mark.django_db

NOON = at("2026-06-10 11:00")  # 12:00 in London (BST)


def decision_of(user, message):
    row = LedgerEntry.objects.get(user=user, message=message)
    return row.decision, row.reason


# --- The personas ----------------------------------------------------------------------


def test_a_group_update_to_the_personas_sends_to_those_who_agreed(cast):
    group = cast.groups["group_a"]
    message = draft(Kind.GROUP_UPDATE, group)
    counts = do_send_message(
        actor=cast.users["organiser_a"],
        message=message,
        audience=audience_of_members(group),
        now=NOON,
    )
    members = group.memberships.count()
    assert counts.recipients == members == LedgerEntry.objects.filter(message=message).count()
    assert decision_of(cast.users["volunteer"], message) == (Decision.SENT, Reason.WITHIN_BUDGET)
    assert decision_of(cast.users["volunteer_no_consent"], message) == (
        Decision.SUPPRESSED,
        Reason.NO_CONSENT,
    )
    assert counts.suppressed == 1 and counts.sent == members - 1
    outbox = OutboxItem.objects.filter(message=message)
    assert outbox.count() == counts.sent
    mine = outbox.get(user=cast.users["volunteer"])
    assert mine.address == cast.users["volunteer"].email
    assert mine.status == OutboxItem.Status.QUEUED and mine.due_at == NOON
    message.refresh_from_db()
    assert (message.sent_count, message.suppressed_count, message.sent_at) == (
        members - 1,
        1,
        NOON,
    )
    assert message.reason_counts == {
        "sent:within_budget": members - 1,
        "suppressed:no_consent": 1,
    }
    assert AuditEntry.objects.filter(action="messaging.message_sent", group=group).count() == 1


def test_preview_counts_what_sending_does_and_writes_nothing(cast):
    group = cast.groups["group_a"]
    message = draft(Kind.GROUP_UPDATE, group)
    before = preview(message, audience_of_members(group), now=NOON)
    assert not LedgerEntry.objects.exists() and not OutboxItem.objects.exists()
    after = do_send_message(
        actor=None, message=message, audience=audience_of_members(group), now=NOON
    )
    assert before.by_reason == after.by_reason
    assert before.reasons(Decision.SUPPRESSED) == {Reason.NO_CONSENT: 1}


# --- Quiet hours -----------------------------------------------------------------------


def test_in_quiet_hours_a_message_is_held_until_they_end():
    group = make_group("Quiet branch")
    vera = make_person(groups=(group,))
    message, counts = send(group, at("2026-06-10 21:30"))  # 22:30 BST
    assert counts.held == 1
    row = LedgerEntry.objects.get(message=message)
    assert (row.decision, row.reason) == (Decision.HELD, Reason.QUIET_HOURS)
    assert row.release_at == at("2026-06-11 07:00")  # 08:00 BST
    assert OutboxItem.objects.get(user=vera).due_at == row.release_at


def test_quiet_hours_are_in_the_persons_own_time_zone():
    group = make_group("Far branch")
    tokyo = make_person(groups=(group,), time_zone="Asia/Tokyo")
    london = make_person(groups=(group,))
    message, _ = send(group, at("2026-06-10 13:00"))  # 22:00 in Tokyo, 14:00 in London
    assert decision_of(tokyo, message) == (Decision.HELD, Reason.QUIET_HOURS)
    assert LedgerEntry.objects.get(user=tokyo).release_at == at("2026-06-10 23:00")
    assert decision_of(london, message) == (Decision.SENT, Reason.WITHIN_BUDGET)


def test_quiet_hours_that_do_not_cross_midnight():
    group = make_group("Siesta")
    person = make_person(groups=(group,), quiet_from=time(13, 0), quiet_until=time(15, 0))
    message, _ = send(group, NOON + timedelta(hours=2))  # 14:00 BST
    assert LedgerEntry.objects.get(user=person).release_at == at("2026-06-10 14:00")
    assert decision_of(person, message)[0] == Decision.HELD


def test_a_hold_across_the_spring_change_ends_at_local_morning():
    group = make_group("DST branch")
    person = make_person(groups=(group,))
    # Saturday 28 March 2026, 22:00 GMT; the clocks go forward at 01:00 GMT on Sunday.
    send(group, at("2026-03-28 22:00"))
    assert LedgerEntry.objects.get(user=person).release_at == at("2026-03-29 07:00")  # 08:00 BST


def test_a_person_without_a_profile_gets_the_default_quiet_hours():
    group = make_group("No profile")
    person = make_person(groups=(group,), profile=False)
    message, _ = send(group, at("2026-01-15 22:00"))  # 22:00 GMT
    assert decision_of(person, message) == (Decision.HELD, Reason.QUIET_HOURS)
    assert LedgerEntry.objects.get(user=person).release_at == at("2026-01-16 08:00")


def test_an_unknown_time_zone_falls_back_to_london():
    group = make_group("Odd zone")
    person = make_person(groups=(group,), time_zone="Mars/Olympus_Mons")
    send(group, at("2026-01-15 22:00"))
    assert LedgerEntry.objects.get(user=person).release_at == at("2026-01-16 08:00")


# --- Budgets ---------------------------------------------------------------------------


def test_never_more_than_one_group_update_a_day_across_groups():
    first, second = make_group("First"), make_group("Second")
    person = make_person(groups=(first, second))
    send(first, NOON)
    message, counts = send(second, NOON + timedelta(hours=3))
    assert decision_of(person, message) == (Decision.FOLDED, Reason.OVER_BUDGET_DAY)
    assert counts.folded == 1 and not OutboxItem.objects.filter(message=message).exists()
    # A rolling day later, it goes.
    message, _ = send(second, NOON + timedelta(hours=24, minutes=1))
    assert decision_of(person, message) == (Decision.SENT, Reason.WITHIN_BUDGET)


def test_the_groups_own_weekly_policy_is_stricter():
    group = make_group("Strict", updates_per_week_normal=1)
    other = make_group("Other")
    person = make_person(groups=(group, other))
    send(group, NOON)
    message, _ = send(group, NOON + timedelta(days=2))
    assert decision_of(person, message) == (Decision.FOLDED, Reason.OVER_GROUP_POLICY)
    # Another group's update is not the strict group's business.
    message, _ = send(other, NOON + timedelta(days=3))
    assert decision_of(person, message) == (Decision.SENT, Reason.WITHIN_BUDGET)


def test_the_movements_weekly_limit_across_all_groups():
    ContactLimits.objects.update_or_create(pk=1, defaults={"group_updates_per_week_normal": 2})
    groups = [make_group(f"G{i}") for i in range(3)]
    person = make_person(groups=tuple(groups))
    send(groups[0], NOON)
    send(groups[1], NOON + timedelta(days=1, hours=1))
    message, _ = send(groups[2], NOON + timedelta(days=2, hours=2))
    assert decision_of(person, message) == (Decision.FOLDED, Reason.OVER_BUDGET_WEEK)


def test_held_rows_count_against_the_budget_and_folded_ones_do_not():
    first, second = make_group("A"), make_group("B")
    person = make_person(groups=(first, second))
    # Held at 22:30: it counts from the evening it was decided.
    send(first, at("2026-06-10 21:30"))
    message, _ = send(second, at("2026-06-11 09:00"))
    assert decision_of(person, message) == (Decision.FOLDED, Reason.OVER_BUDGET_DAY)
    # The folded one did not count: a day after the held one, the next is within budget
    # (and held, as it is night again).
    message, _ = send(second, at("2026-06-11 21:31"))
    assert decision_of(person, message) == (Decision.HELD, Reason.QUIET_HOURS)


def test_a_movement_wide_campaign_raises_the_group_policy_to_its_campaign_figure():
    group = make_group("Campaigning", updates_per_week_normal=1, updates_per_week_campaign=2)
    person = make_person(groups=(group,))
    do_declare_campaign_period(
        actor=None,
        name="General election",
        starts_at=NOON - timedelta(days=1),
        ends_at=NOON + timedelta(days=30),
    )
    send(group, NOON)
    message, counts = send(group, NOON + timedelta(days=2))
    assert decision_of(person, message) == (Decision.SENT, Reason.WITHIN_BUDGET)
    assert counts.campaign is not None and counts.campaign.name == "General election"
    message, _ = send(group, NOON + timedelta(days=4))
    assert decision_of(person, message) == (Decision.FOLDED, Reason.OVER_GROUP_POLICY)


def test_a_groups_campaign_covers_its_subtree_only():
    MovementLimits.objects.update_or_create(pk=1, defaults={"updates_per_week_campaign": 3})
    ContactLimits.objects.update_or_create(pk=1, defaults={"group_updates_per_week_normal": 5})
    region = make_group("Region")
    branch = make_group("Branch", parent=region, updates_per_week_normal=1)
    elsewhere = make_group("Elsewhere", updates_per_week_normal=1)
    person = make_person(groups=(branch, elsewhere))
    do_declare_campaign_period(
        actor=None,
        name="By-election",
        starts_at=NOON - timedelta(days=1),
        ends_at=NOON + timedelta(days=30),
        group=region,
    )
    send(branch, NOON)
    send(elsewhere, NOON + timedelta(days=1, hours=1))
    in_campaign, _ = send(branch, NOON + timedelta(days=2, hours=2))
    outside, _ = send(elsewhere, NOON + timedelta(days=3, hours=3))
    assert decision_of(person, in_campaign) == (Decision.SENT, Reason.WITHIN_BUDGET)
    assert decision_of(person, outside) == (Decision.FOLDED, Reason.OVER_GROUP_POLICY)


def test_the_movement_limit_bounds_a_generous_group_policy():
    MovementLimits.objects.update_or_create(pk=1, defaults={"updates_per_week_normal": 1})
    group = make_group("Generous", updates_per_week_normal=5)
    person = make_person(groups=(group,))
    send(group, NOON)
    message, _ = send(group, NOON + timedelta(days=2))
    assert decision_of(person, message) == (Decision.FOLDED, Reason.OVER_GROUP_POLICY)


def test_asks_follow_the_persons_own_limit_and_are_refused_not_folded():
    group = make_group("Asking")
    person = make_person(groups=(group,), asks_per_week_normal=1, asks_per_week_campaign=3)
    send(group, NOON, kind=Kind.ASK)
    message, counts = send(group, NOON + timedelta(days=2), kind=Kind.ASK)
    assert decision_of(person, message) == (Decision.SUPPRESSED, Reason.OVER_BUDGET_WEEK)
    assert counts.reasons(Decision.SUPPRESSED) == {Reason.OVER_BUDGET_WEEK: 1}


def test_a_campaign_raises_asks_only_to_the_persons_campaign_limit():
    group = make_group("Asking in a campaign")
    person = make_person(groups=(group,), asks_per_week_normal=1, asks_per_week_campaign=2)
    do_declare_campaign_period(
        actor=None, name="Election", starts_at=NOON, ends_at=NOON + timedelta(days=20)
    )
    decisions = [
        decision_of(person, send(group, NOON + timedelta(days=d, hours=d), kind=Kind.ASK)[0])
        for d in range(3)
    ]
    assert [d for d, _ in decisions] == [Decision.SENT, Decision.SENT, Decision.SUPPRESSED]


def test_the_movements_hard_limit_bounds_a_persons_own_limit():
    ContactLimits.objects.update_or_create(pk=1, defaults={"asks_per_week_normal": 1})
    group = make_group("Hard limit")
    # Stored before the movement lowered its limit: the lower one wins.
    person = make_person(groups=(group,), asks_per_week_normal=5)
    send(group, NOON, kind=Kind.ASK)
    message, _ = send(group, NOON + timedelta(days=1, hours=1), kind=Kind.ASK)
    assert decision_of(person, message) == (Decision.SUPPRESSED, Reason.OVER_BUDGET_WEEK)


def test_over_budget_wins_over_quiet_hours():
    first, second = make_group("One"), make_group("Two")
    person = make_person(groups=(first, second))
    send(first, NOON)
    message, _ = send(second, at("2026-06-10 22:00"))
    assert decision_of(person, message) == (Decision.FOLDED, Reason.OVER_BUDGET_DAY)
    assert LedgerEntry.objects.get(message=message).release_at is None


def test_digests_follow_the_cadence():
    weekly = make_person(digest_cadence=Profile.Cadence.WEEKLY)
    never = make_person(digest_cadence=Profile.Cadence.NEVER)
    first, _ = send(None, NOON, kind=Kind.DIGEST, users=[weekly, never])
    assert decision_of(weekly, first) == (Decision.SENT, Reason.WITHIN_BUDGET)
    assert decision_of(never, first) == (Decision.SUPPRESSED, Reason.DIGEST_OFF)
    again, _ = send(None, NOON + timedelta(days=3), kind=Kind.DIGEST, users=[weekly])
    assert decision_of(weekly, again) == (Decision.SUPPRESSED, Reason.DIGEST_CADENCE)
    # A schedule a few minutes early next week still finds last week's outside the window.
    later, _ = send(None, NOON + timedelta(days=7, minutes=-5), kind=Kind.DIGEST, users=[weekly])
    assert decision_of(weekly, later) == (Decision.SENT, Reason.WITHIN_BUDGET)


# --- Suppression -----------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["everything", "group", "kind"])
def test_unsubscribed_people_get_nothing(scope):
    group = make_group("Unsubscribed")
    person = make_person(groups=(group,))
    do_unsubscribe(
        user=person,
        scope=scope,
        group=group if scope == "group" else None,
        kind=Kind.GROUP_UPDATE if scope == "kind" else "",
    )
    message, _ = send(group, NOON)
    # From a group, the unsubscribe also withdrew the consent: either reason is true,
    # and the unsubscribe is checked first.
    assert decision_of(person, message) == (Decision.SUPPRESSED, Reason.UNSUBSCRIBED)
    assert not OutboxItem.objects.exists()


def test_unsubscribing_from_one_kind_leaves_the_others():
    group = make_group("Kinds")
    person = make_person(groups=(group,))
    do_unsubscribe(user=person, scope="kind", kind=Kind.ASK)
    message, _ = send(group, NOON)
    assert decision_of(person, message) == (Decision.SENT, Reason.WITHIN_BUDGET)


def test_unsubscribing_from_a_group_withdraws_its_email_consent():
    from handsup.privacy.consent import has_consent

    group = make_group("Withdrawn")
    person = make_person(groups=(group,))
    do_unsubscribe(user=person, scope="group", group=group, via="link")
    do_unsubscribe(user=person, scope="group", group=group, via="link")  # harmless twice
    assert not has_consent(person, "group_email", group=group)
    assert Unsubscribe.objects.filter(user=person).count() == 1
    assert AuditEntry.objects.filter(action="messaging.unsubscribed").count() == 1


def test_a_withdrawn_consent_suppresses():
    group = make_group("Changed mind")
    person = make_person(groups=(group,))
    give_group_email(person, group, given=False)
    message, _ = send(group, NOON)
    assert decision_of(person, message) == (Decision.SUPPRESSED, Reason.NO_CONSENT)
    give_group_email(person, group, given=True)
    message, _ = send(group, NOON + timedelta(days=1, hours=1))
    assert decision_of(person, message) == (Decision.SENT, Reason.WITHIN_BUDGET)


def test_an_ask_needs_the_group_email_consent_or_letting_the_group_find_you():
    """Letting groups find you (movement-wide, or your own groups as a member) is consent
    to be asked by them; news still needs the group's own email consent."""
    group = make_group("Finding")
    anyone = make_person()  # no membership, no group_email: findable movement-wide
    mine_only = make_person()
    Membership.objects.create(user=mine_only, group=group)
    hidden = make_person()  # findable by nobody, no group_email
    outsider_mine_only = make_person()  # only their own groups may find them; not a member
    for user, purpose in [
        (anyone, PurposeCode.FOUND_MOVEMENT),
        (mine_only, PurposeCode.FOUND_MY_GROUPS),
        (outsider_mine_only, PurposeCode.FOUND_MY_GROUPS),
    ]:
        do_record_consent(user=user, purpose=purpose, given=True, source="web", recorded_by=user)
    for user in (anyone, mine_only, hidden, outsider_mine_only):
        user.person.verified = True
        user.person.save(update_fields=["verified"])
    people = [anyone, mine_only, hidden, outsider_mine_only]
    ask, _ = send(group, NOON, kind=Kind.ASK, users=people)
    assert [decision_of(u, ask)[1] for u in people] == [
        Reason.WITHIN_BUDGET,
        Reason.WITHIN_BUDGET,
        Reason.NO_CONSENT,
        Reason.NO_CONSENT,
    ]
    news, _ = send(group, NOON + timedelta(days=1), users=people)
    assert {decision_of(u, news)[1] for u in people} == {Reason.NO_CONSENT}


def test_a_blocked_group_reaches_nobody_who_blocked_it():
    group = make_group("Blocked")
    person = make_person(groups=(group,))
    GroupBlock.objects.create(user=person, group=group)
    message, _ = send(group, NOON)
    assert decision_of(person, message) == (Decision.SUPPRESSED, Reason.BLOCKED)


def test_email_turned_off_in_the_profile_suppresses():
    group = make_group("No email")
    person = make_person(groups=(group,), contact_by_email=False)
    message, _ = send(group, NOON)
    assert decision_of(person, message) == (Decision.SUPPRESSED, Reason.EMAIL_OFF)


def test_no_usable_address_suppresses_even_service_mail():
    group = make_group("Closed")
    closed = make_person(groups=(group,))
    closed.is_active = False
    closed.save()
    message, _ = send(None, NOON, kind=Kind.SERVICE, users=[closed])
    assert decision_of(closed, message) == (Decision.SUPPRESSED, Reason.NO_ADDRESS)


def test_service_mail_ignores_budgets_quiet_hours_consent_and_unsubscribes():
    group = make_group("Service")
    person = make_person(groups=(group,), consent=False)
    do_unsubscribe(user=person, scope="everything")
    night = at("2026-06-10 23:00")
    for minutes in (0, 1, 2):
        message, _ = send(
            None, night + timedelta(minutes=minutes), kind=Kind.SERVICE, users=[person]
        )
        assert decision_of(person, message) == (Decision.SENT, Reason.SERVICE)
    assert OutboxItem.objects.filter(user=person, due_at__gte=night).count() == 3


# --- Bad input -------------------------------------------------------------------------


def test_an_update_with_no_audience_is_refused_and_nothing_is_written():
    group = make_group("Empty")
    message = draft(Kind.GROUP_UPDATE, group)
    with pytest.raises(ValidationError, match="Nobody is in this audience"):
        do_send_message(actor=None, message=message, audience=audience_of_members(group), now=NOON)
    message.refresh_from_db()
    assert message.sent_at is None
    assert not LedgerEntry.objects.exists() and not OutboxItem.objects.exists()


def test_a_message_is_sent_once():
    group = make_group("Twice")
    make_person(groups=(group,))
    message, _ = send(group, NOON)
    with pytest.raises(ValidationError, match="already been sent"):
        do_send_message(actor=None, message=message, audience=audience_of_members(group), now=NOON)
    assert LedgerEntry.objects.count() == 1 and OutboxItem.objects.count() == 1


def test_a_group_update_needs_a_group_and_a_subject():
    with pytest.raises(ValidationError) as caught:
        from handsup.messaging.actions import do_create_message

        do_create_message(author=None, kind=Kind.GROUP_UPDATE, group=None, subject=" ")
    assert set(caught.value.message_dict) == {"group", "subject"}
    assert not Message.objects.exists()


def test_a_campaign_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValidationError) as caught:
        do_declare_campaign_period(
            actor=None, name="Backwards", starts_at=NOON, ends_at=NOON - timedelta(hours=1)
        )
    assert caught.value.message_dict == {"ends_at": ["A campaign period must end after it starts."]}
    assert not CampaignPeriod.objects.exists()
    with pytest.raises(ValidationError, match="must end after it starts"):
        CampaignPeriod(name="x", starts_at=NOON, ends_at=NOON).full_clean()
    # The database refuses it too, whatever wrote it.
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignPeriod.objects.create(name="x", starts_at=NOON, ends_at=NOON)


def test_personal_limits_above_the_movements_are_refused_with_a_message():
    assert check_personal_limits(asks_per_week_normal=3, asks_per_week_campaign=7) == {}
    problems = check_personal_limits(asks_per_week_normal=4, asks_per_week_campaign=8)
    assert problems == {
        "asks_per_week_normal": "The movement sends at most 3 asks a week: choose 3 or fewer.",
        "asks_per_week_campaign": (
            "During campaigns the movement sends at most 7 asks a week: choose 7 or fewer."
        ),
    }


def test_movement_limits_that_contradict_themselves_are_refused():
    with pytest.raises(ValidationError) as caught:
        do_set_contact_limits(actor=None, asks_per_week_normal=5, asks_per_week_campaign=2)
    assert "not lower" in caught.value.message_dict["asks_per_week_campaign"][0]
    assert ContactLimits.current().asks_per_week_normal == 3
    with pytest.raises(ValidationError):
        do_set_contact_limits(actor=None, group_updates_per_day=99)
    assert not AuditEntry.objects.filter(action="messaging.contact_limits_changed").exists()


@pytest.mark.django_db(transaction=True)
def test_pacing_outside_a_transaction_is_a_programming_error():
    group = make_group("Errors")
    person = make_person(groups=(group,))
    message = draft(Kind.GROUP_UPDATE, group)
    with pytest.raises(PacingError, match="transaction"):
        pace(message, audience_of_users([person]), now=NOON)
    assert not LedgerEntry.objects.exists()


def test_an_audience_is_one_column_of_user_ids():
    from handsup.accounts.models import User

    group = make_group("Errors")
    person = make_person(groups=(group,))
    message = draft(Kind.GROUP_UPDATE, group)

    with pytest.raises(PacingError, match="user ids"):
        preview(message, User.objects.values("pk", "email"), now=NOON)
    # A plain User queryset is taken as its ids.
    assert preview(message, User.objects.filter(pk=person.pk), now=NOON).sent == 1


def test_an_audience_with_repeats_gets_one_decision_each():
    first, second = make_group("Dup A"), make_group("Dup B")
    person = make_person(groups=(first, second))
    from handsup.groups.models import Membership

    audience = Membership.objects.filter(group__in=[first, second]).values("user_id")
    message = draft(Kind.GROUP_UPDATE, first)
    counts = do_send_message(actor=None, message=message, audience=audience, now=NOON)
    assert counts.recipients == 1 and LedgerEntry.objects.filter(user=person).count() == 1
