"""Delivering the outbox to a real SMTP server (aiosmtpd on a free local port)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from handsup.messaging.delivery import (
    claim_due,
    deliver_batch,
    deliver_due,
    message_id_header,
    retry_delay,
)
from handsup.messaging.models import AddressSuppression, Kind, Message, OutboxItem, Unsubscribe
from handsup.messaging.smtp_sink import CollectingHandler, free_port, start_sink, text_of
from handsup.messaging.tests.helpers import at, make_group, make_person, send
from handsup.messaging.unsubscribe import read_unsubscribe_token

pytestmark = pytest.mark.django_db

Status = OutboxItem.Status
REMOTE_FETCH = re.compile(r"<img|<link|@import|url\(|@font-face|<script|<iframe", re.IGNORECASE)


@pytest.fixture
def smtp_server():
    controller, handler = start_sink(CollectingHandler())
    yield controller, handler
    controller.stop()


def point_mail_at(settings, port: int) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@pytest.fixture
def sink(settings, smtp_server) -> CollectingHandler:
    controller, handler = smtp_server
    point_mail_at(settings, controller.port)
    settings.SITE_URL = "https://handsup.example"
    return handler


def queue(message: Message, users, *, due_at=None, **fields) -> list[OutboxItem]:
    due_at = due_at or timezone.now() - timedelta(seconds=1)
    return OutboxItem.objects.bulk_create(
        OutboxItem(message=message, user=user, address=user.email, due_at=due_at, **fields)
        for user in users
    )


def make_message(group=None, kind=Kind.GROUP_UPDATE, **fields) -> Message:
    fields.setdefault("subject", "Leafleting on Saturday")
    fields.setdefault(
        "body_markdown",
        "Meet at **10am** by the library.\n\n- bring water\n- [map](https://maps.example/x)",
    )
    return Message.objects.create(kind=kind, group=group, **fields)


def rows(message: Message) -> list[OutboxItem]:
    return list(OutboxItem.objects.filter(message=message).order_by("pk"))


def make_due_now(*items: OutboxItem) -> None:
    """The backoff has passed (rather than sleeping through it)."""
    OutboxItem.objects.filter(pk__in=[i.pk for i in items]).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )


# --- What arrives -------------------------------------------------------------------------


def test_a_delivered_message_has_html_text_headers_and_no_remote_content(sink):
    group = make_group("Riverside")
    user = make_person()
    message = make_message(group)
    [item] = queue(message, [user])

    report = deliver_due(worker_id="t")

    assert (report.sent, report.retrying, report.dead) == (1, 0, 0)
    [received] = sink.messages()
    assert received["To"] == user.email
    assert received["Subject"] == "Leafleting on Saturday"
    assert "Riverside via" in received["From"]
    assert received["Message-ID"] == message_id_header(message.pk, user.pk)
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    # HTML: the Markdown rendered, the CSS inlined, nothing fetched from anywhere.
    assert "<strong>10am</strong>" in html
    assert 'href="https://maps.example/x"' in html
    assert "<style" not in html
    assert 'style="' in html
    assert REMOTE_FETCH.search(html) is None
    # Text: the same words, links spelled out.
    assert "Meet at 10am by the library." in text
    assert "map (https://maps.example/x)" in text
    # The footer says why, and how to stop, in both parts.
    for part in (text, html):
        assert "member of Riverside" in part
        assert "Stop emails from Riverside" in part
    # RFC 8058: an HTTPS link and the one-click POST marker.
    link = re.fullmatch(r"<(https://handsup\.example/\S+/)>", received["List-Unsubscribe"])
    assert link is not None
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.group(1) in text
    assert link.group(1).replace("&", "&amp;") in html
    token = link.group(1).rstrip("/").rsplit("/", 1)[1]
    wanted = read_unsubscribe_token(token)
    assert (wanted.user, wanted.scope, wanted.group) == (user, Unsubscribe.Scope.GROUP, group)
    item.refresh_from_db()
    assert (item.status, item.attempts, item.lease_until) == (Status.SENT, 1, None)
    assert item.sent_at is not None
    message.refresh_from_db()
    assert (message.delivered_count, message.failed_count) == (1, 0)


def test_the_one_click_link_in_a_delivered_message_unsubscribes(sink, client):
    group = make_group("Hillside")
    user = make_person()
    queue(make_message(group), [user])
    deliver_due(worker_id="t")
    [received] = sink.messages()
    url = received["List-Unsubscribe"].strip("<>")

    # What a mail client does for RFC 8058: POST the one-click body, no cookies.
    response = client.post(
        url.removeprefix("https://handsup.example"),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert Unsubscribe.objects.filter(user=user, group=group, scope="group").exists()


def test_each_recipient_gets_their_own_link(sink):
    group = make_group("Northgate")
    users = [make_person() for _ in range(3)]
    queue(make_message(group), users)
    deliver_due(worker_id="t")
    received = sink.messages()
    links = {m["List-Unsubscribe"] for m in received}
    assert len(links) == 3
    for mail in received:
        token = mail["List-Unsubscribe"].strip("<>").rstrip("/").rsplit("/", 1)[1]
        assert read_unsubscribe_token(token).user.email == mail["To"]
        assert mail["List-Unsubscribe"].strip("<>") in text_of(mail)


def test_non_ascii_subjects_and_names_arrive_intact(sink):
    group = make_group("Ça Va Branch")
    queue(
        make_message(group, subject="Café meet-up — Saturday", body_markdown="Thé & café"),
        [make_person()],
    )
    deliver_due(worker_id="t")
    [received] = sink.messages()
    assert received["Subject"] == "Café meet-up — Saturday"
    assert received["From"].addresses[0].display_name == "Ça Va Branch via Hands Up"
    assert "Thé & café" in text_of(received)
    assert "Thé &amp; café" in received.get_body(preferencelist=("html",)).get_content()


def test_an_international_domain_takes_djangos_own_path_and_arrives(sink):
    user = make_person(email="ana@exämple.org")
    queue(make_message(make_group("Global")), [user])
    assert deliver_due(worker_id="t").sent == 1
    [received] = sink.received
    assert received.rcpt_tos == ("ana@xn--exmple-cua.org",)
    assert received.parsed()["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_service_mail_has_no_unsubscribe_link(sink):
    user = make_person()
    queue(make_message(None, Kind.SERVICE, subject="Your sign-in code"), [user])
    deliver_due(worker_id="t")
    [received] = sink.messages()
    assert received["List-Unsubscribe"] is None
    assert received["List-Unsubscribe-Post"] is None
    assert "whatever your email settings are" in text_of(received)
    assert "unsubscribe" not in text_of(received).lower()


def test_a_mailto_alternative_is_added_when_configured(sink, settings):
    settings.HANDSUP_UNSUBSCRIBE_MAILTO = "unsubscribe@handsup.example"
    queue(make_message(make_group("Eastside")), [make_person()])
    deliver_due(worker_id="t")
    [received] = sink.messages()
    https, mailto = received["List-Unsubscribe"].split(", ")
    assert https.startswith("<https://handsup.example/")
    assert mailto.startswith("<mailto:unsubscribe@handsup.example?subject=unsubscribe%20")


def test_many_rows_go_in_batches_each_on_one_connection(sink):
    group = make_group("Westend")
    first, second = make_message(group), make_message(group, subject="Second")
    users = [make_person() for _ in range(10)]
    queue(first, users)
    queue(second, users[:4])

    report = deliver_due(worker_id="t", batch_size=6)

    assert (report.sent, report.batches) == (14, 3)
    received = sink.received
    assert len(received) == 14
    # One SMTP connection for the whole run (at most one per batch).
    assert len({mail.peer for mail in received}) == 1
    ids = [mail.parsed()["Message-ID"] for mail in received]
    assert len(set(ids)) == 14
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.delivered_count, second.delivered_count) == (10, 4)
    assert not OutboxItem.objects.exclude(status=Status.SENT).exists()


def test_marking_every_few_sends_still_marks_and_counts_them_all(sink):
    message = make_message(make_group("Batched"))
    queue(message, [make_person() for _ in range(10)])
    report = deliver_due(worker_id="t", mark_every=4)
    assert report.sent == 10
    assert {i.status for i in rows(message)} == {Status.SENT}
    message.refresh_from_db()
    assert message.delivered_count == 10


def test_rows_not_yet_due_stay_queued(sink):
    user, later = make_person(), make_person()
    message = make_message(make_group("Southside"))
    queue(message, [user])
    [held] = queue(message, [later], due_at=timezone.now() + timedelta(hours=8))
    assert deliver_due(worker_id="t").sent == 1
    held.refresh_from_db()
    assert (held.status, held.attempts) == (Status.QUEUED, 0)


def test_a_message_from_pacing_is_delivered(sink):
    # End to end: the pacing decision writes the outbox row; the worker sends it.
    group = make_group("Central")
    user = make_person(groups=(group,))
    message, counts = send(group, at("2026-06-10 11:00"))
    assert counts.sent == 1
    report = deliver_due(worker_id="t")
    assert report.sent == 1
    [received] = sink.messages()
    assert received["To"] == user.email
    message.refresh_from_db()
    assert message.delivered_count == 1


# --- Failures -----------------------------------------------------------------------------


def test_a_temporary_refusal_is_retried_with_backoff_then_given_up(sink, settings):
    settings.HANDSUP_DELIVERY_MAX_ATTEMPTS = 3
    settings.HANDSUP_DELIVERY_RETRY_SECONDS = 60
    user = make_person()
    sink.refuse[user.email] = "451 4.3.0 Mailbox busy, try later"
    message = make_message(make_group("Quayside"))
    [item] = queue(message, [user])

    before = timezone.now()
    report = deliver_due(worker_id="t")
    item.refresh_from_db()
    assert (report.sent, report.retrying, report.dead) == (0, 1, 0)
    assert (item.status, item.attempts) == (Status.FAILED, 1)
    assert "451" in item.last_error
    assert before + timedelta(seconds=59) <= item.due_at <= timezone.now() + timedelta(seconds=61)
    assert deliver_due(worker_id="t").claimed == 0  # not due again yet

    make_due_now(item)
    before = timezone.now()
    deliver_due(worker_id="t")
    item.refresh_from_db()
    assert (item.status, item.attempts) == (Status.FAILED, 2)
    # Exponential: twice as long the second time.
    assert item.due_at >= before + timedelta(seconds=119)

    make_due_now(item)
    report = deliver_due(worker_id="t")
    item.refresh_from_db()
    assert (report.dead, item.status, item.attempts) == (1, Status.DEAD, 3)
    assert item.last_error.startswith("Gave up after 3 attempts")
    assert "451" in item.last_error
    message.refresh_from_db()
    assert (message.delivered_count, message.failed_count) == (0, 1)
    assert sink.received == []


def test_a_permanent_refusal_gives_up_at_once_and_the_batch_goes_on(sink):
    refused, fine = make_person(), make_person()
    sink.refuse[refused.email] = "550 5.1.1 No such mailbox"
    message = make_message(make_group("Harbour"))
    queue(message, [refused, fine])

    report = deliver_due(worker_id="t")

    assert (report.sent, report.dead) == (1, 1)
    dead = OutboxItem.objects.get(user=refused)
    assert (dead.status, dead.attempts) == (Status.DEAD, 1)
    assert "550" in dead.last_error
    assert OutboxItem.objects.get(user=fine).status == Status.SENT
    message.refresh_from_db()
    assert (message.delivered_count, message.failed_count) == (1, 1)
    assert [m["To"] for m in sink.messages()] == [fine.email]


def test_an_unusable_address_gives_up_at_once(sink):
    user = make_person()
    message = make_message(make_group("Docks"))
    [item] = queue(message, [user])
    OutboxItem.objects.filter(pk=item.pk).update(address="two@at@signs.example")
    report = deliver_due(worker_id="t")
    item.refresh_from_db()
    assert (report.dead, item.status) == (1, Status.DEAD)
    assert "Unusable address" in item.last_error


def test_server_down_retries_with_backoff_then_delivers_when_back(settings, smtp_server):
    settings.HANDSUP_DELIVERY_RETRY_SECONDS = 30
    point_mail_at(settings, free_port())  # nothing listens there
    users = [make_person() for _ in range(3)]
    message = make_message(make_group("Uptown"))
    items = queue(message, users)

    report = deliver_due(worker_id="t")

    assert (report.sent, report.retrying) == (0, 3)
    for item in rows(message):
        assert (item.status, item.attempts) == (Status.FAILED, 1)
        assert item.last_error.startswith("Could not connect to the mail server")
        assert item.due_at > timezone.now() + timedelta(seconds=25)

    controller, handler = smtp_server
    point_mail_at(settings, controller.port)  # the server is back
    make_due_now(*items)
    assert deliver_due(worker_id="t").sent == 3
    assert len(handler.received) == 3
    assert {item.attempts for item in rows(message)} == {2}


def test_server_down_for_good_ends_dead_after_the_attempts(settings):
    settings.HANDSUP_DELIVERY_MAX_ATTEMPTS = 2
    point_mail_at(settings, free_port())
    message = make_message(make_group("Downtown"))
    [item] = queue(message, [make_person()])
    deliver_due(worker_id="t")
    make_due_now(item)
    deliver_due(worker_id="t")
    item.refresh_from_db()
    assert (item.status, item.attempts) == (Status.DEAD, 2)
    assert "Could not connect" in item.last_error
    message.refresh_from_db()
    assert message.failed_count == 1


def test_the_default_is_five_attempts_with_doubling_delays(settings):
    for name in ("HANDSUP_DELIVERY_MAX_ATTEMPTS", "HANDSUP_DELIVERY_RETRY_SECONDS"):
        if hasattr(settings, name):
            delattr(settings, name)
    from handsup.messaging.delivery import max_attempts

    assert max_attempts() == 5
    assert [retry_delay(n).total_seconds() for n in range(1, 5)] == [60, 120, 240, 480]


# --- Leases -------------------------------------------------------------------------------


def test_an_expired_lease_is_claimed_again_and_the_stale_worker_changes_nothing(sink):
    message = make_message(make_group("Midtown"))
    crashed_at = timezone.now() - timedelta(minutes=10)
    items = queue(message, [make_person() for _ in range(2)], due_at=crashed_at)
    lease = timedelta(minutes=5)

    stale = claim_due(10, "crashed", lease, now=crashed_at)
    assert {i.id for i in stale.items} == {i.pk for i in items}
    assert claim_due(10, "other", lease, now=crashed_at + timedelta(minutes=4)).items == []

    again = claim_due(10, "rescuer", lease)
    assert {i.id for i in again.items} == {i.pk for i in items}
    assert {i.attempts for i in again.items} == {2}

    # The first worker wakes up late: its lease is gone, so it sends nothing and its
    # write back matches no row.
    late = deliver_batch(stale)
    assert (late.sent, late.released) == (0, 0)
    assert sink.received == []
    report = deliver_batch(again)
    assert report.sent == 2
    assert len(sink.received) == 2
    assert {i.status for i in rows(message)} == {Status.SENT}


def test_a_lease_too_short_to_send_safely_hands_the_rows_back(sink):
    message = make_message(make_group("Bankside"))
    items = queue(message, [make_person() for _ in range(2)])
    claim = claim_due(10, "t", timedelta(seconds=3))
    report = deliver_batch(claim)
    assert (report.sent, report.released) == (0, 2)
    assert sink.received == []
    for item in rows(message):
        assert (item.status, item.attempts, item.lease_until) == (Status.QUEUED, 0, None)
    assert {i.pk for i in items} == {i.id for i in claim_due(10, "t", timedelta(minutes=5)).items}


def test_a_row_whose_workers_keep_dying_is_given_up(sink, settings):
    settings.HANDSUP_DELIVERY_MAX_ATTEMPTS = 3
    message = make_message(make_group("Poison"))
    [item] = queue(
        message,
        [make_person()],
        status=Status.SENDING,
        attempts=3,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    report = deliver_due(worker_id="t")
    item.refresh_from_db()
    assert (report.dead, item.status) == (1, Status.DEAD)
    assert "never finished" in item.last_error
    assert sink.received == []


def test_two_claims_never_share_a_row(sink):
    message = make_message(make_group("Shared"))
    queue(message, [make_person() for _ in range(9)])
    lease = timedelta(minutes=5)
    first = claim_due(5, "a", lease)
    second = claim_due(5, "b", lease)
    third = claim_due(5, "c", lease)
    ids_a, ids_b = {i.id for i in first.items}, {i.id for i in second.items}
    assert (len(ids_a), len(ids_b), len(third.items)) == (5, 4, 0)
    assert not ids_a & ids_b


@pytest.mark.postgresql  # SQLite has one writer at a time: the claim test above covers it
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_on_postgresql_claim_and_send_each_row_once(sink):
    message = make_message(make_group("Parallel"))
    queue(message, [make_person() for _ in range(120)])
    claimed: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    barrier = threading.Barrier(len(claimed))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            barrier.wait()
            while True:
                claim = claim_due(7, name, timedelta(minutes=5))
                if not claim.items:
                    break
                claimed[name].extend(i.id for i in claim.items)
                deliver_batch(claim)
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    every = [row for ids in claimed.values() for row in ids]
    assert len(every) == len(set(every)) == 120
    assert sum(1 for ids in claimed.values() if ids) >= 2  # they really shared the work
    ids = [mail.parsed()["Message-ID"] for mail in sink.received]
    assert len(ids) == len(set(ids)) == 120
    message.refresh_from_db()
    assert message.delivered_count == 120


# --- The worker's entry points -------------------------------------------------------------


def test_the_schedule_runs_delivery_every_few_seconds(sink):
    from handsup.core.schedule import registered_jobs
    from handsup.messaging import jobs

    job = registered_jobs()["handsup.messaging.jobs.deliver_outbox"]
    assert job.every == timedelta(seconds=5)
    queue(make_message(make_group("Scheduled")), [make_person(), make_person()])
    outcome = job.run()
    assert outcome is not None and outcome.startswith("2 sent")
    assert len(sink.received) == 2
    assert jobs.deliver_outbox() == jobs.deliver_outbox()  # nothing left: both "0 sent"


def test_a_kick_queues_parallel_drains_that_deliver(sink, settings):
    from django_tasks_db.models import DBTaskResult

    from handsup.messaging.jobs import drain_outbox, kick_delivery

    settings.HANDSUP_DELIVERY_PARALLEL = 3
    queue(make_message(make_group("Kicked")), [make_person()])
    kick_delivery()
    assert DBTaskResult.objects.filter(task_path=drain_outbox.module_path).count() == 3
    assert drain_outbox.call().startswith("1 sent")
    assert len(sink.received) == 1


@pytest.mark.django_db(transaction=True)
def test_the_demo_sink_keeps_what_arrives_for_the_sent_mail_page(settings):
    from handsup.core.models import DemoMail
    from handsup.messaging.smtp_sink import DemoMailHandler

    controller, _ = start_sink(DemoMailHandler())
    try:
        point_mail_at(settings, controller.port)
        user = make_person()
        queue(make_message(make_group("Demo branch")), [user])
        assert deliver_due(worker_id="demo").sent == 1
    finally:
        controller.stop()
    [mail] = DemoMail.objects.all()
    assert (mail.to, mail.subject) == (user.email, "Leafleting on Saturday")
    assert "Meet at 10am by the library." in mail.body
    assert "[List-Unsubscribe: <" in mail.body


def test_someone_who_unsubscribes_while_their_mail_waits_never_gets_it(sink):
    group = make_group("Overnight")
    message = make_message(group)
    stays, leaves, stops_all = make_person(), make_person(), make_person()
    queue(message, [stays, leaves, stops_all])
    # Overnight, after pacing decided: one stops this group's mail, one stops everything.
    Unsubscribe.objects.create(user=leaves, scope=Unsubscribe.Scope.GROUP, group=group)
    Unsubscribe.objects.create(user=stops_all, scope=Unsubscribe.Scope.EVERYTHING)
    # Stopping another group's mail changes nothing for this one.
    Unsubscribe.objects.create(
        user=stays, scope=Unsubscribe.Scope.GROUP, group=make_group("Elsewhere")
    )
    report = deliver_due(worker_id="w", time_budget=10)
    assert (report.sent, report.cancelled) == (1, 2)
    assert [set(mail.rcpt_tos) for mail in sink.received] == [{stays.email}]
    statuses = dict(OutboxItem.objects.values_list("user_id", "status"))
    assert statuses == {stays.pk: "sent", leaves.pk: "cancelled", stops_all.pk: "cancelled"}
    message.refresh_from_db()
    assert (message.delivered_count, message.failed_count) == (1, 0)


def test_service_mail_still_arrives_after_stopping_everything(sink):
    message = make_message(None, kind=Kind.SERVICE)
    person = make_person()
    queue(message, [person])
    Unsubscribe.objects.create(user=person, scope=Unsubscribe.Scope.EVERYTHING)
    report = deliver_due(worker_id="w", time_budget=10)
    assert (report.sent, report.cancelled) == (1, 0)


# --- Q2: the delivery benchmark ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # two workers on PostgreSQL are other processes
def test_the_delivery_bench_times_ours_and_send_mass_mail_in_one_run():
    from handsup.accounts.models import User
    from handsup.messaging.bench_delivery import BENCH_DOMAIN, bench_delivery

    results = bench_delivery(60, batch_size=25)
    postgresql = connections["default"].vendor == "postgresql"
    ours = [r for r in results if not r["baseline"] and not r.get("ceiling")]
    [baseline] = [r for r in results if r["baseline"]]
    ceiling = [r for r in results if r.get("ceiling")]
    # Ours with pre-built MIME on 1 worker (and 2 on PostgreSQL), the normal path for
    # reference, Django's send_mass_mail, then the server's ceiling with 1, 2 and 3 bare
    # clients.
    assert [(r["workers"], r["prebuilt_mime"]) for r in ours] == (
        [(1, True), (2, True), (1, False)] if postgresql else [(1, True), (1, False)]
    )
    assert results[len(ours)] is baseline and "send_mass_mail" in baseline["name"]
    assert results[len(ours) + 1 :] == ceiling
    assert [r["clients"] for r in ceiling] == [1, 2, 3]
    for result in results:
        assert {"name", "baseline", "database", "recipients", "rows", "seconds", "per_s"} <= set(
            result
        )
        assert result["recipients"] == result["rows"] == 60
        # Every message really reached the server, once.
        assert result["sent"] == result["received_by_server"] == 60
        assert result["seconds"] > 0 and result["per_s"] > 0
    for result in ceiling:
        assert result["message_bytes"] > len("Saturday")
    for result in ours:
        assert result["p50_ms"] is not None and result["p95_ms"] >= result["p50_ms"]
    assert not User.objects.filter(email__endswith=BENCH_DOMAIN).exists()
    assert not OutboxItem.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_bench_messaging_prints_delivery_with_its_baseline():
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "bench",
        "messaging",
        "--recipients",
        "40",
        "--delivery-recipients",
        "30",
        "--json",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert report["figures"] == ["Q1", "Q2"]
    names = [r["name"] for r in report["results"]]
    assert any("pre-built MIME, 1 worker" in name for name in names)
    assert any(note.startswith("The SMTP server's ceiling here") for note in report["notes"])
    assert any("send_mass_mail" in name for name in names)
    delivered = [r for r in report["results"] if "received_by_server" in r]
    assert {r["rows"] for r in delivered} == {30}
    assert any(note.startswith("Target (Q2)") for note in report["notes"])


def test_mail_waiting_for_an_address_that_has_since_bounced_is_not_sent(sink):
    group = make_group("Held overnight")
    message = make_message(group)
    fine, bounced, moved_on, confirmed = (make_person() for _ in range(4))
    queue(message, [fine, bounced, moved_on, confirmed])
    # While the rows waited, the provider reported addresses: one still the person's (in
    # the provider's spelling), one the person has since replaced, and one the person
    # has since confirmed again (the suppression lifted).
    reported = (
        (bounced, bounced.email.upper(), None),
        (moved_on, "old@example.org", None),
        (confirmed, confirmed.email, timezone.now()),
    )
    for person, address, cleared_at in reported:
        AddressSuppression.objects.create(
            user=person,
            address=address.lower(),
            cause=AddressSuppression.Cause.BOUNCED,
            reason="address_bounced",
            at=timezone.now(),
            cleared_at=cleared_at,
        )
    report = deliver_due(worker_id="w", time_budget=10)
    assert (report.sent, report.cancelled) == (3, 1)
    assert sorted(sorted(mail.rcpt_tos) for mail in sink.received) == sorted(
        [[fine.email], [moved_on.email], [confirmed.email]]
    )
    statuses = dict(OutboxItem.objects.values_list("user_id", "status"))
    assert statuses == {
        fine.pk: "sent",
        bounced.pk: "cancelled",
        moved_on.pk: "sent",
        confirmed.pk: "sent",
    }
