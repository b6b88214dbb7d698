"""Sending webhooks to a real receiver on 127.0.0.1: signatures, retries with backoff,
deduplication by webhook id, disabling an endpoint that fails for a day, and refusing an
address that has become private since it was registered.

Time is driven forward with `deliver_due(now=...)`, never slept through."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from handsup.messaging.models import Kind, Message
from handsup.platform import addresses, webhooks
from handsup.platform.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from handsup.platform.webhooks import deliver_due, emit
from handsup.privacy.models import AuditEntry

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status
ALL_EVENTS = [value for value, _label in WebhookEvent.choices]


class Receiver:
    """An HTTP server in a thread that records every request and answers with the next
    status code in `script` (200 once the script runs out)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        self.always: int | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    if receiver.always is not None:
                        code = receiver.always
                    else:
                        code = receiver.script.pop(0) if receiver.script else 200
                self.send_response(code)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/handsup"

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _body in self.requests]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP = True
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def endpoint(cast: Any, receiver: Receiver) -> WebhookEndpoint:
    return webhooks.do_register_endpoint(
        actor=cast.users["admin_a"],
        group=cast.groups["group_a"],
        url=receiver.url,
        description="Our CRM",
        events=ALL_EVENTS,
    )


def emit_three(cast: Any) -> list[str]:
    group = cast.groups["group_a"]
    person = cast.users["volunteer"]
    emit(group=group, event="need.created", data={"group": group.public_id, "need": {"id": "n1"}})
    emit(
        group=group,
        event="member.joined",
        data={"group": group.public_id, "person": person.public_id},
        subject=person,
    )
    emit(
        group=group,
        event="member.left",
        data={"group": group.public_id, "person": person.public_id},
        subject=person,
    )
    return list(WebhookDelivery.objects.order_by("pk").values_list("message_id", flat=True))


def test_a_delivery_is_signed_so_the_standard_verifier_accepts_it(cast, receiver, endpoint):
    [message_id] = [m for m in emit_three(cast)[:1]]
    report = deliver_due(worker_id="test")
    assert report.delivered == 3
    headers, body = receiver.requests[0]
    assert headers["webhook-id"] == message_id
    assert headers["content-type"] == "application/json"
    payload = Webhook(endpoint.secret).verify(body, headers)
    assert payload["type"] == "need.created"
    assert payload["data"]["need"] == {"id": "n1"}
    # Another secret, or a changed body, does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body.replace(b"n1", b"n2"), headers)
    delivery = WebhookDelivery.objects.get(message_id=message_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.DELIVERED,
        1,
        200,
    )
    assert delivery.tries.get().status_code == 200


def test_a_receiver_that_fails_twice_then_recovers_gets_every_event_exactly_once(
    cast, receiver, endpoint
):
    """The issue's retry test: 500, 500, then 200s. After deduplicating by webhook-id the
    receiver has each event once; nothing is lost and nothing is sent after success."""
    sent = emit_three(cast)
    receiver.script = [500, 500]
    t0 = timezone.now()

    first = deliver_due(worker_id="a", now=t0)
    assert (first.delivered, first.retrying) == (1, 2)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # the third went through: not failing any more
    waiting = WebhookDelivery.objects.filter(status=Status.PENDING)
    assert {d.next_attempt_at for d in waiting} == {t0 + timedelta(minutes=1)}

    # Not due yet: nothing is sent 30 seconds later.
    assert deliver_due(worker_id="a", now=t0 + timedelta(seconds=30)).claimed == 0
    second = deliver_due(worker_id="a", now=t0 + timedelta(minutes=1))
    assert (second.delivered, second.retrying) == (2, 0)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    for minutes in (2, 10, 60, 600, 3000):
        assert deliver_due(worker_id="a", now=t0 + timedelta(minutes=minutes)).claimed == 0

    assert len(receiver.requests) == 5  # 3 tries, 2 of them failed, then 2 retries
    assert set(receiver.ids()) == set(sent)
    unique: dict[str, dict[str, Any]] = {}
    for headers, body in receiver.requests:
        unique.setdefault(headers["webhook-id"], Webhook(endpoint.secret).verify(body, headers))
    assert sorted(p["type"] for p in unique.values()) == [
        "member.joined",
        "member.left",
        "need.created",
    ]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.DELIVERED}
    tries = sorted(
        WebhookDelivery.objects.values_list("attempts", flat=True)
    )  # one delivered at once, two on their second try
    assert tries == [1, 2, 2]


def test_backoff_grows_from_a_minute_to_twelve_hours():
    delays = [webhooks.retry_delay(n) for n in range(1, 9)]
    assert delays[:6] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
        timedelta(hours=12),
    ]
    assert delays[6:] == [timedelta(hours=12)] * 2


def drive(until: timedelta, t0: datetime, step: timedelta = timedelta(minutes=30)) -> None:
    at = t0
    while at <= t0 + until:
        deliver_due(worker_id="test", now=at)
        at += step


def test_an_endpoint_failing_for_a_day_is_disabled_and_the_admins_told(cast, receiver, endpoint):
    receiver.always = 500
    group = cast.groups["group_a"]
    emit(group=group, event="need.created", data={"group": group.public_id})
    t0 = timezone.now()

    drive(timedelta(hours=23, minutes=30), t0)
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is None and endpoint.failing_since == t0
    tries_before = len(receiver.requests)
    assert tries_before == 7  # at 0, +1 min, +6 min, +36 min, +2h36, +8h36, +20h36

    drive(timedelta(hours=2), t0 + timedelta(hours=24))
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    assert "HTTP 500" in endpoint.disabled_reason
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.GAVE_UP
    assert AuditEntry.objects.filter(action="platform.webhook_disabled").count() == 1

    notices = Message.objects.filter(kind=Kind.SERVICE, ledger__user=cast.users["admin_a"])
    assert notices.count() == 1
    assert "turned off" in notices.get().subject
    # Only the group's admins: not its organisers, nor anyone else.
    assert not Message.objects.filter(
        kind=Kind.SERVICE, ledger__user=cast.users["organiser_a"]
    ).exists()

    # Nothing more is sent to it: a new event is not even queued.
    assert emit(group=group, event="need.created", data={}) == 0
    drive(timedelta(hours=48), t0 + timedelta(hours=27), step=timedelta(hours=4))
    assert len(receiver.requests) == tries_before
    assert notices.count() == 1  # told once

    # An admin turns it back on: new events flow again.
    webhooks.do_enable_endpoint(actor=cast.users["admin_a"], endpoint=endpoint)
    receiver.always = None
    assert emit(group=group, event="need.created", data={}) == 1
    assert deliver_due(worker_id="test").delivered == 1


def test_waiting_deliveries_of_a_disabled_endpoint_are_given_up(cast, receiver, endpoint):
    emit_three(cast)
    endpoint.disabled_at = timezone.now()
    endpoint.save()
    report = deliver_due(worker_id="test")
    assert report.gave_up == 3 and receiver.requests == []
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.GAVE_UP}


def test_an_address_that_became_private_is_refused_at_delivery(
    cast, receiver, monkeypatch, settings
):
    """Registered while its name pointed to a public address; by delivery time the DNS
    answer is 10.0.0.5. Nothing is sent; the try is logged as refused and retried."""
    settings.HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP = False
    answers = {"hooks.example.org": "93.184.216.34"}

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(addresses.socket, "getaddrinfo", fake_getaddrinfo)
    endpoint = webhooks.do_register_endpoint(
        actor=cast.users["admin_a"],
        group=cast.groups["group_a"],
        url="https://hooks.example.org/handsup",
        description="",
        events=ALL_EVENTS,
    )
    addresses.check_webhook_address(endpoint.url)  # fine when registered
    answers["hooks.example.org"] = "10.0.0.5"
    emit_three(cast)
    t0 = timezone.now()
    report = deliver_due(worker_id="test", now=t0)
    assert (report.refused, report.delivered, report.retrying) == (3, 0, 3)
    for delivery in WebhookDelivery.objects.all():
        attempt = delivery.tries.get()
        assert attempt.status_code is None
        assert attempt.error.startswith("Refused, nothing sent: That address points to a private")
        assert delivery.status == Status.PENDING
        assert delivery.next_attempt_at == t0 + timedelta(minutes=1)
    assert receiver.requests == []


def test_a_lease_stops_two_workers_sending_the_same_delivery(cast, receiver, endpoint):
    emit_three(cast)
    now = timezone.now()
    lease_until, taken = webhooks._claim("first", now, 10)
    assert len(taken) == 3
    # A second worker finds nothing to take while the lease holds…
    assert webhooks._claim("second", now, 10)[1] == []
    # …and takes them over once it has lapsed (the first worker died).
    _lease, taken_again = webhooks._claim("second", lease_until + timedelta(seconds=1), 10)
    assert sorted(taken_again) == sorted(taken)


def test_the_payload_is_the_body_sent(cast, receiver, endpoint):
    emit_three(cast)
    deliver_due(worker_id="test")
    for headers, body in receiver.requests:
        delivery = WebhookDelivery.objects.get(message_id=headers["webhook-id"])
        assert json.loads(body) == delivery.payload


def test_the_sender_runs_every_minute_on_the_schedule():
    from handsup.core.schedule import registered_jobs

    jobs = registered_jobs()
    job = jobs["handsup.platform.webhook_jobs.send_webhooks"]
    assert job.every == timedelta(minutes=1)
    assert "handsup.platform.webhook_jobs.prune_webhook_log" in jobs


def test_the_scheduled_job_sends_what_is_due(cast, receiver, endpoint):
    from handsup.platform.webhook_jobs import send_webhooks

    emit_three(cast)
    assert str(send_webhooks()).startswith("3 delivered")
    assert len(receiver.requests) == 3


def test_pruning_deletes_old_finished_deliveries_only(cast, receiver, endpoint):
    from handsup.platform.webhook_jobs import prune_webhook_log

    emit_three(cast)
    old = timezone.now() - timedelta(days=31)
    first, second, _third = WebhookDelivery.objects.order_by("pk")
    WebhookDelivery.objects.filter(pk=first.pk).update(created_at=old, status=Status.DELIVERED)
    WebhookDelivery.objects.filter(pk=second.pk).update(created_at=old)  # still pending
    assert prune_webhook_log() == "1 rows deleted"
    assert WebhookDelivery.objects.count() == 2


def test_the_sender_connects_to_a_checked_address_and_names_the_host(cast, receiver):
    """ "localhost" may resolve to ::1 first, where nothing listens: the sender tries each
    checked address in turn, and the Host header still names the host."""
    webhooks.do_register_endpoint(
        actor=cast.users["admin_a"],
        group=cast.groups["group_a"],
        url=receiver.url.replace("127.0.0.1", "localhost"),
        description="",
        events=ALL_EVENTS,
    )
    emit_three(cast)
    assert deliver_due(worker_id="test").delivered == 3
    headers, _body = receiver.requests[0]
    assert headers["host"].startswith("localhost:")


def test_a_redirect_is_a_failure_not_followed(cast, receiver, endpoint):
    receiver.script = [301]
    emit(group=cast.groups["group_a"], event="need.created", data={})
    report = deliver_due(worker_id="test")
    assert (report.delivered, report.retrying) == (0, 1)
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().last_error.startswith("HTTP 301")
