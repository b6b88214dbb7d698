"""Digests: who gets one when, what is in it, that it goes once per period, and how it
arrives (through the real delivery worker to a local SMTP server)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership
from handsup.messaging.delivery import deliver_due, message_id_header
from handsup.messaging.digest_sections import (
    DigestItem,
    DigestWindow,
    register_section,
    unregister_section,
)
from handsup.messaging.digests import (
    DuePerson,
    _settle_batch,
    current_periods,
    period_start,
    render_digest,
    run_digests,
)
from handsup.messaging.models import (
    Decision,
    Digest,
    Kind,
    LedgerEntry,
    Message,
    OutboxItem,
    Reason,
    Unsubscribe,
)
from handsup.messaging.smtp_sink import CollectingHandler, start_sink
from handsup.messaging.tests.helpers import at, give_group_email, make_group, make_person, send
from handsup.messaging.unsubscribe import read_unsubscribe_token
from handsup.people.models import Profile

pytestmark = pytest.mark.django_db

# Monday 8 June 2026, 10:00 in London (BST): outside the default quiet hours.
MONDAY = at("2026-06-08 09:00")
NEXT_MONDAY = MONDAY + timedelta(days=7)
REMOTE_FETCH = re.compile(r"<img|<link|@import|url\(|@font-face|<script|<iframe", re.IGNORECASE)


@pytest.fixture
def sink(settings):
    controller, handler = start_sink(CollectingHandler())
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 5},
        }
    }
    settings.SITE_URL = "https://handsup.example"
    yield handler
    controller.stop()


def volunteer(*groups: Group, **fields: Any) -> User:
    """A member who joined long before June 2026, with consent for each group."""
    user = make_person(groups=groups, **fields)
    User.objects.filter(pk=user.pk).update(date_joined=at("2026-01-01 00:00"))
    Membership.objects.filter(user=user).update(joined_at=at("2026-01-01 00:00"))
    return user


def fold_one_update(group: Group, subject: str = "Canvassing on Saturday") -> Message:
    """Two updates on the same day: the second goes over the daily limit and is folded."""
    send(group, at("2026-06-03 10:00"))
    message, counts = send(group, at("2026-06-03 11:00"))
    assert counts.folded == counts.recipients
    Message.objects.filter(pk=message.pk).update(
        subject=subject,
        body_markdown="Meet at **10am** by the library.\n\n- bring water",
        body_text="",
    )
    return message


def digest_rows(user: User) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(user=user, kind=Kind.DIGEST).order_by("at", "pk"))


# --- Periods ------------------------------------------------------------------------------


def test_periods_start_on_monday_on_the_fortnight_grid_and_on_the_first():
    wednesday = date(2026, 6, 10)
    assert period_start("weekly", wednesday) == date(2026, 6, 8)
    assert period_start("never", wednesday) == date(2026, 6, 8)
    assert period_start("monthly", wednesday) == date(2026, 6, 1)
    fortnight = period_start("fortnightly", wednesday)
    assert fortnight.weekday() == 0 and fortnight <= wednesday
    assert (wednesday - fortnight).days < 14
    # The next fortnight starts 14 days on, whichever day of it we ask on.
    assert period_start("fortnightly", fortnight + timedelta(days=13)) == fortnight
    assert period_start("fortnightly", fortnight + timedelta(days=14)) == fortnight + timedelta(14)


def test_a_period_begins_at_local_midnight_in_each_time_zone():
    # Sunday 23:30 UTC is already Monday in London (BST), still Sunday in New York.
    periods = current_periods(at("2026-06-07 23:30"), ["Europe/London", "America/New_York"])
    weekly = {p.time_zone: p for p in periods if p.cadence == "weekly"}
    assert weekly["Europe/London"].start == date(2026, 6, 8)
    assert weekly["Europe/London"].starts_at == at("2026-06-07 23:00")
    assert weekly["America/New_York"].start == date(2026, 6, 1)


# --- Who gets what ------------------------------------------------------------------------


def test_a_folded_update_goes_out_in_the_next_digest_and_is_marked_as_settled():
    group = make_group("Riverside")
    person = volunteer(group)
    folded = fold_one_update(group)

    report = run_digests(now=MONDAY)

    assert report.people == 1
    [row] = digest_rows(person)
    assert (row.decision, row.reason, row.at) == (Decision.SENT, Reason.WITHIN_BUDGET, MONDAY)
    digest = Digest.objects.get(user=person)
    assert (digest.period_start, digest.cadence, digest.item_count) == (
        date(2026, 6, 8),
        "weekly",
        1,
    )
    assert digest.sections[0]["name"] == "folded"
    assert digest.sections[0]["items"][0]["message_id"] == folded.pk
    [item] = OutboxItem.objects.filter(message=row.message)
    assert (item.user_id, item.address, item.due_at) == (person.pk, person.email, MONDAY)
    folded_row = LedgerEntry.objects.get(user=person, message=folded)
    assert folded_row.digest_id == digest.pk
    message = Message.objects.get(pk=report.message_id or 0)
    assert (message.kind, message.recipients, message.sent_count) == (Kind.DIGEST, 1, 1)


def test_a_digest_goes_once_per_period_and_the_next_period_brings_only_what_is_new():
    group = make_group("Riverside")
    person = volunteer(group)
    fold_one_update(group, "First")

    run_digests(now=MONDAY)
    again = run_digests(now=MONDAY + timedelta(hours=1))
    later_that_week = run_digests(now=MONDAY + timedelta(days=3))

    assert (again.people, later_that_week.people) == (0, 0)
    assert len(digest_rows(person)) == 1
    # A week later: nothing new, so the digest is skipped, and says why.
    nothing_new = run_digests(now=NEXT_MONDAY)
    assert nothing_new.people == 1
    latest = digest_rows(person)[-1]
    assert (latest.decision, latest.reason) == (Decision.SUPPRESSED, Reason.DIGEST_EMPTY)
    assert not OutboxItem.objects.filter(message=latest.message).exists()
    assert Digest.objects.filter(user=person).count() == 2


def test_an_empty_digest_is_logged_not_sent():
    volunteer(make_group("Quiet group"))
    report = run_digests(now=MONDAY)
    [row] = LedgerEntry.objects.filter(kind=Kind.DIGEST)
    assert (row.decision, row.reason) == (Decision.SUPPRESSED, Reason.DIGEST_EMPTY)
    assert report.empty == 1
    assert not OutboxItem.objects.filter(message_id=report.message_id or 0).exists()
    assert "1 empty" in report.summary()


def test_nobody_due_writes_nothing():
    report = run_digests(now=MONDAY)
    assert report.summary() == "no digests due"
    assert not Message.objects.filter(kind=Kind.DIGEST).exists()


def test_the_digest_is_bounded_by_the_cadence_alone_not_by_the_other_budgets():
    group = make_group("Riverside", updates_per_week_normal=1)
    person = volunteer(group)
    fold_one_update(group)
    # This week the person is already over every group-update budget.
    send(group, MONDAY - timedelta(hours=2))
    assert LedgerEntry.objects.filter(user=person, decision=Decision.SENT).count() == 1

    run_digests(now=MONDAY)

    [row] = digest_rows(person)
    assert row.decision == Decision.SENT


def test_in_quiet_hours_the_digest_is_held_until_they_end():
    group = make_group("Riverside")
    person = volunteer(group, time_zone="Australia/Sydney")
    fold_one_update(group)
    # 09:00 UTC on Monday is 19:00 in Sydney; quiet hours from 18:00 there.
    Profile.objects.filter(person__user=person).update(quiet_from=time(18, 0))

    run_digests(now=MONDAY)

    [row] = digest_rows(person)
    assert (row.decision, row.reason) == (Decision.HELD, Reason.QUIET_HOURS)
    assert row.release_at == at("2026-06-08 22:00")  # 08:00 on Tuesday in Sydney
    assert OutboxItem.objects.get(message=row.message).due_at == row.release_at


def test_people_who_asked_for_no_digest_are_told_why_only_when_something_was_folded():
    group = make_group("Riverside")
    with_folded = volunteer(group, digest_cadence="never")
    fold_one_update(group)
    without = volunteer(make_group("Quiet group"), digest_cadence="never")

    run_digests(now=MONDAY)

    [row] = digest_rows(with_folded)
    assert (row.decision, row.reason) == (Decision.SUPPRESSED, Reason.DIGEST_OFF)
    assert digest_rows(without) == []
    # Both periods are settled: neither is looked at again this week.
    assert Digest.objects.filter(user__in=[with_folded, without]).count() == 2
    assert run_digests(now=MONDAY + timedelta(hours=1)).people == 0
    # What was folded is settled by that digest: not reported again next week.
    run_digests(now=NEXT_MONDAY)
    assert len(digest_rows(with_folded)) == 1


def test_unsubscribed_from_digests_or_email_off_is_logged_with_its_reason():
    group = make_group("Riverside")
    stopped = volunteer(group)
    Unsubscribe.objects.create(user=stopped, scope="kind", kind=Kind.DIGEST)
    no_email = volunteer(group)
    fold_one_update(group)
    # Since then they turned email off altogether.
    Profile.objects.filter(person__user=no_email).update(contact_by_email=False)

    run_digests(now=MONDAY)

    assert [(r.decision, r.reason) for r in digest_rows(stopped)] == [
        (Decision.SUPPRESSED, Reason.UNSUBSCRIBED)
    ]
    assert [(r.decision, r.reason) for r in digest_rows(no_email)] == [
        (Decision.SUPPRESSED, Reason.EMAIL_OFF)
    ]
    assert not OutboxItem.objects.filter(message__kind=Kind.DIGEST).exists()


def test_monthly_people_get_one_a_month_and_newcomers_wait_for_their_first_period():
    group = make_group("Riverside")
    monthly = volunteer(group, digest_cadence="monthly")
    newcomer = volunteer(group)
    User.objects.filter(pk=newcomer.pk).update(date_joined=MONDAY - timedelta(hours=1))
    fold_one_update(group)

    run_digests(now=MONDAY)  # 8 June: June's period began on the 1st

    assert [r.decision for r in digest_rows(monthly)] == [Decision.SENT]
    assert digest_rows(newcomer) == []
    assert Digest.objects.get(user=monthly).period_start == date(2026, 6, 1)
    run_digests(now=NEXT_MONDAY)
    assert len(digest_rows(monthly)) == 1
    # Their first period: what was folded for them before it waited for it.
    assert [r.reason for r in digest_rows(newcomer)] == [Reason.WITHIN_BUDGET]
    run_digests(now=at("2026-07-01 09:00"))
    assert len(digest_rows(monthly)) == 2


def test_a_changed_cadence_is_still_bounded_by_it_and_what_was_folded_waits():
    group = make_group("Riverside")
    person = volunteer(group)
    fold_one_update(group, "First")
    run_digests(now=at("2026-06-29 09:00"))  # the weekly digest of Monday 29 June
    Profile.objects.filter(person__user=person).update(digest_cadence="monthly")
    later = send(group, at("2026-06-30 10:00"))[0]
    folded_later = send(group, at("2026-06-30 11:00"))[0]
    assert LedgerEntry.objects.get(user=person, message=folded_later).decision == "folded"

    run_digests(now=at("2026-07-01 09:00"))  # July's period: two days after the last one

    latest = digest_rows(person)[-1]
    assert (latest.decision, latest.reason) == (Decision.SUPPRESSED, Reason.DIGEST_CADENCE)
    assert LedgerEntry.objects.get(user=person, message=folded_later).digest_id is None
    assert LedgerEntry.objects.get(user=person, message=later).decision == Decision.SENT
    run_digests(now=at("2026-08-01 09:00"))
    august = Digest.objects.get(user=person, period_start=date(2026, 8, 1))
    assert [r.decision for r in digest_rows(person)][-1] == Decision.SENT
    assert LedgerEntry.objects.get(user=person, message=folded_later).digest_id == august.pk


# --- Sections -----------------------------------------------------------------------------


def test_groups_news_says_who_joined_and_which_groups_started_but_not_of_stopped_groups():
    riverside = make_group("Riverside")
    hill = make_group("Hill")
    person = volunteer(riverside, hill)
    for _ in range(2):
        newcomer = make_person(groups=(riverside, hill))
        Membership.objects.filter(user=newcomer).update(joined_at=at("2026-06-05 12:00"))
    child = make_group("Riverside Youth", parent=riverside)
    Group.objects.filter(pk=child.pk).update(created_at=at("2026-06-06 12:00"))
    Unsubscribe.objects.create(user=person, scope="group", group=hill)

    run_digests(now=MONDAY)

    digest = Digest.objects.get(user=person)
    [news] = digest.sections
    titles = [item["title"] for item in news["items"]]
    assert news["name"] == "groups"
    assert titles == ["2 people joined Riverside", "New group: Riverside Youth"]


def test_a_folded_update_from_a_group_the_person_since_stopped_is_left_out():
    group = make_group("Riverside")
    person = volunteer(group)
    fold_one_update(group)
    give_group_email(person, group, given=False)

    run_digests(now=MONDAY)

    assert [r.reason for r in digest_rows(person)] == [Reason.DIGEST_EMPTY]


def test_another_app_adds_a_section_through_the_extension_point():
    person = volunteer(make_group("Riverside"))

    @register_section("needs_test", title="Needs that fit you", order=20)
    def needs(window: DigestWindow) -> dict[int, list[DigestItem]]:
        assert window.until == MONDAY
        return {
            user_id: [DigestItem(title="Leaflet drop on Elm Street", url="/needs/1/")]
            for user_id in window.user_ids
        }

    try:
        with pytest.raises(ValueError, match="already registered"):
            register_section("needs_test", title="Again", order=1)(lambda window: {})
        run_digests(now=MONDAY)
        digest = Digest.objects.get(user=person)
        email = render_digest(digest, name="Sam Jones")
    finally:
        unregister_section("needs_test")

    assert [s["name"] for s in digest.sections] == ["needs_test"]
    assert digest_rows(person)[0].decision == Decision.SENT
    assert "NEEDS THAT FIT YOU" in email.text
    assert "* Leaflet drop on Elm Street" in email.text
    assert "Hello Sam," in email.text


# --- Exactly once -------------------------------------------------------------------------


def test_a_second_worker_that_picked_the_same_people_settles_nobody():
    group = make_group("Riverside")
    people = [volunteer(group) for _ in range(3)]
    fold_one_update(group)
    due = [DuePerson(p.pk, "weekly", date(2026, 6, 8)) for p in people]
    first = Message.objects.create(kind=Kind.DIGEST, subject="Your digest")
    second = Message.objects.create(kind=Kind.DIGEST, subject="Your digest")
    from handsup.messaging.digests import DigestReport

    assert _settle_batch(due, first, now=MONDAY, using="default", report=DigestReport()) == 3
    # The second worker read the same due list before the first committed.
    assert _settle_batch(due, second, now=MONDAY, using="default", report=DigestReport()) == 0

    assert Digest.objects.count() == 3
    assert set(Digest.objects.values_list("message_id", flat=True)) == {first.pk}
    assert LedgerEntry.objects.filter(kind=Kind.DIGEST).count() == 3
    assert not LedgerEntry.objects.filter(message=second).exists()
    assert not OutboxItem.objects.filter(message=second).exists()


def test_the_run_is_set_based_its_query_count_does_not_grow_with_the_people():
    def queries_for(people: int, now: datetime) -> int:
        group = make_group(f"Group of {people}")
        for _ in range(people):
            volunteer(group)
        fold_one_update(group)
        with CaptureQueriesContext(connection) as queries:
            report = run_digests(now=now, batch_size=1000)
        assert report.people == people
        return len(queries)

    few = queries_for(2, MONDAY)
    User.objects.update(is_active=False)  # the first two are not due again
    many = queries_for(25, MONDAY + timedelta(days=14))
    assert many == few


# --- What the person receives ------------------------------------------------------------


def test_the_digest_arrives_with_the_folded_message_and_the_normal_headers(sink):
    group = make_group("Riverside")
    person = volunteer(group)
    newcomer = make_person(groups=(group,))
    Membership.objects.filter(user=newcomer).update(joined_at=at("2026-06-04 12:00"))
    fold_one_update(group, "Canvassing on Saturday")
    report = run_digests(now=MONDAY)

    delivered = deliver_due(worker_id="t")

    # The digest, and the first update of 3 June to both members.
    assert delivered.sent == 3
    [received] = [m for m in sink.messages() if "digest" in m["Subject"]]
    assert received["To"] == person.email
    assert received["Subject"] == "Your weekly Hands Up digest, 8 June"
    assert received["Message-ID"] == message_id_header(report.message_id or 0, person.pk)
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(https://handsup\.example/\S+/)>", received["List-Unsubscribe"])
    assert link is not None
    token = link.group(1).rstrip("/").rsplit("/", 1)[1]
    wanted = read_unsubscribe_token(token)
    assert (wanted.user, wanted.scope, wanted.kind) == (person, "kind", Kind.DIGEST)
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "WHAT WE KEPT FOR YOUR DIGEST" in text
    assert "* Canvassing on Saturday (Riverside, 3 June)" in text
    assert "Meet at 10am by the library." in text
    assert "YOUR GROUPS' NEWS" in text
    assert "* 1 person joined Riverside" in text
    assert link.group(1) in text
    assert "<strong>10am</strong>" in html
    assert REMOTE_FETCH.search(html) is None
    assert OutboxItem.objects.get(message_id=report.message_id or 0).status == "sent"


def test_the_digest_shows_on_the_persons_ledger_page(client):
    group = make_group("Riverside")
    person = volunteer(group)
    fold_one_update(group)
    run_digests(now=MONDAY)
    client.force_login(person)

    page = client.get("/me/messages/")

    assert page.status_code == 200
    body = page.content.decode()
    assert "Your digest" in body
    assert "(digest)" in body
