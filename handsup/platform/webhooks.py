"""Signed webhooks: a group's endpoints, the outbox of events for them, and the sender.

* An admin registers an endpoint (`do_register_endpoint`): an HTTPS address on the
  public internet (see `addresses.py`), the events it wants, and a signing secret we make.
* A change that a group's systems may want to hear about calls `emit` inside its own
  transaction (through `events.py`): one `WebhookDelivery` per enabled endpoint of the
  group that subscribed to the event, so the event exists exactly when the change does.
* `deliver_due` (every minute, from `webhook_jobs.py`) claims due deliveries with a lease,
  checks the address again, signs the body per Standard Webhooks (`webhook-id`,
  `webhook-timestamp`, `webhook-signature`), and POSTs it with a 5-second timeout. Every
  try is a `WebhookAttempt`. A 2xx is delivered. Anything else is tried again after a
  growing wait (1 min, 5 min, 30 min, 2 h, 6 h, then every 12 h), until the delivery is
  a day and a half old, when we give up on it.
* An endpoint that has failed for a day without one success is disabled, its waiting
  deliveries given up, and the group's admins told; an admin can turn it back on.

The same message id goes with every retry of a delivery, so a receiver that got a
message but whose 2xx never reached us deduplicates on `webhook-id`.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import re
import secrets
import socket
import time as clock
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership
from handsup.platform.addresses import UnsafeAddress, WebhookTarget, check_webhook_address
from handsup.platform.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from handsup.privacy.audit import record_audit

logger = logging.getLogger("handsup.platform.webhooks")

Status = WebhookDelivery.Status

MAX_ENDPOINTS_PER_GROUP = 10
TIMEOUT_SECONDS = 5.0
# Waits after the 1st, 2nd, … failed try; the last one repeats.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
# A delivery is not tried again once it is this old: by then its endpoint has failed
# for a day and has been disabled, or the failure is this one message's alone.
GIVE_UP_AFTER = timedelta(hours=36)
DISABLE_AFTER = timedelta(hours=24)
LEASE = timedelta(minutes=2)
BATCH_SIZE = 50
# We read this much of a reply at most: we only need its status.
MAX_REPLY_BYTES = 64 * 1024


def new_secret() -> str:
    """A Standard Webhooks signing secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def retry_delay(failed_tries: int) -> timedelta:
    return RETRY_DELAYS[min(max(failed_tries, 1), len(RETRY_DELAYS)) - 1]


# --- Endpoints ---------------------------------------------------------------------------


def endpoints_of(group: Group) -> Any:
    return WebhookEndpoint.objects.filter(group=group)


def group_admins(group: Group) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, memberships__group=group, memberships__role=Membership.Role.ADMIN
        )
        .distinct()
        .order_by("pk")
    )


@transaction.atomic
def do_register_endpoint(
    *, actor: User, group: Group, url: str, description: str, events: Iterable[str]
) -> WebhookEndpoint:
    """A new endpoint for the group (the view has checked the address and the events)."""
    endpoint = WebhookEndpoint.objects.create(
        group=group,
        url=url.strip(),
        description=description.strip(),
        events=sorted(set(events)),
        secret=new_secret(),
        created_by=actor,
    )
    record_audit(
        actor=actor,
        action="platform.webhook_registered",
        obj=endpoint,
        group=group,
        details={"url": endpoint.url, "events": endpoint.events},
    )
    return endpoint


@transaction.atomic
def do_delete_endpoint(*, actor: User, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint, its outbox and its delivery log."""
    record_audit(
        actor=actor,
        action="platform.webhook_deleted",
        obj=endpoint,
        group=endpoint.group,
        details={"url": endpoint.url},
    )
    endpoint.delete()


@transaction.atomic
def do_enable_endpoint(*, actor: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Turn a disabled endpoint back on, with a clean slate; what was given up stays so."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.failing_since = None
    endpoint.save(update_fields=["disabled_at", "disabled_reason", "failing_since"])
    record_audit(actor=actor, action="platform.webhook_enabled", obj=endpoint, group=endpoint.group)
    return endpoint


def endpoint_page_url(endpoint: WebhookEndpoint) -> str:
    return settings.SITE_URL + reverse(
        "platform:webhook", args=[endpoint.group.public_id, endpoint.public_id]
    )


def disable_endpoint(*, endpoint: WebhookEndpoint, reason: str, now: datetime) -> bool:
    """Turn the endpoint off, give up what waits for it, and tell the group's admins.

    False if another worker got there first (only one of them tells the admins).
    """
    from handsup.needs.notices import send_notice

    with transaction.atomic():
        turned_off = WebhookEndpoint.objects.filter(
            pk=endpoint.pk, disabled_at__isnull=True
        ).update(disabled_at=now, disabled_reason=reason[:300])
        if not turned_off:
            return False
        endpoint.disabled_at, endpoint.disabled_reason = now, reason[:300]
        WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
            status=Status.GAVE_UP, claimed_until=None, last_error=_("Endpoint disabled")
        )
        group = endpoint.group
        record_audit(
            actor=None,
            action="platform.webhook_disabled",
            obj=endpoint,
            group=group,
            details={"reason": reason[:300]},
        )
        send_notice(
            actor=None,
            to=group_admins(group),
            group=group,
            subject=_("Webhooks to %(host)s are turned off") % {"host": _host_of(endpoint.url)},
            body_markdown=_(
                "Your group's webhook endpoint %(url)s has failed for a day, so we've turned "
                "it off and stopped sending to it.\n\n%(reason)s\n\nOnce it works again, "
                "turn it back on from its page: %(page)s"
            )
            % {
                "url": _host_of(endpoint.url),
                "reason": _markdown_text(reason),
                "page": endpoint_page_url(endpoint),
            },
            now=now,
        )
    return True


def _markdown_text(text: str) -> str:
    """A receiver's error message, shown as plain text in the notice's Markdown."""
    return re.sub(r"([\\`*_{}\[\]()<>!|~&#+-])", r"\\\1", " ".join(text.split()))


def _host_of(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


# --- Emitting (the outbox) -----------------------------------------------------------------


def emit(
    *,
    group: Group | None,
    event: str,
    data: Mapping[str, Any],
    subject: User | None = None,
    now: datetime | None = None,
) -> int:
    """Queue `event` for every enabled endpoint of `group` that wants it; how many.

    Call it inside the transaction of the change. `data` must carry only what the group
    may see (public ids, never contact details). A group with no endpoints costs one
    indexed query.
    """
    if group is None:
        return 0
    wanting = [
        pk
        for pk, events in WebhookEndpoint.objects.filter(
            group_id=group.pk, disabled_at__isnull=True
        ).values_list("pk", "events")
        if event in (events or [])
    ]
    if not wanting:
        return 0
    now = now or timezone.now()
    payload = {
        "type": event,
        "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": dict(data),
    }
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=pk,
            message_id=new_message_id(),
            event=event,
            payload=payload,
            subject=subject,
            next_attempt_at=now,
        )
        for pk in wanting
    )
    from handsup.platform.webhook_jobs import kick_webhooks

    # One drain per committed change, however many endpoints: the claim takes them all.
    transaction.on_commit(kick_webhooks)
    return len(wanting)


# --- Sending -----------------------------------------------------------------------------


@dataclass
class SendReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    gave_up: int = 0
    refused: int = 0
    disabled: int = 0

    def summary(self) -> str:
        return (
            f"{self.delivered} delivered, {self.retrying} to retry, {self.gave_up} gave up, "
            f"{self.refused} refused, {self.disabled} endpoints disabled"
        )


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    refused: bool = False  # the address failed its check: no request was made

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _claim(worker_id: str, now: datetime, batch_size: int) -> tuple[datetime, list[int]]:
    """Take up to `batch_size` due deliveries until `now + LEASE`.

    Each row is taken by a conditional update (pending, due, lease free or lapsed), so
    two workers never both take one, on PostgreSQL or SQLite. On PostgreSQL the
    candidates are first locked with SKIP LOCKED, so workers pick different rows
    instead of queueing behind each other.
    """
    lease_until = now + LEASE
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = WebhookDelivery.objects.filter(free, status=Status.PENDING, next_attempt_at__lte=now)
    taken: list[int] = []
    with transaction.atomic():
        candidates = due.order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        for pk in list(candidates.values_list("pk", flat=True)[:batch_size]):
            if due.filter(pk=pk).update(claimed_until=lease_until):
                taken.append(pk)
    return lease_until, taken


def sign(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for `body`, sent at `at`."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def _post(target: WebhookTarget, body: bytes, headers: Mapping[str, str]) -> Outcome:
    """POST to one of the checked addresses (never a fresh lookup), no redirects."""
    started = clock.monotonic()
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    conn = connection_class(target.host, target.port, timeout=TIMEOUT_SECONDS)

    def connect_to_checked_address(
        _where: tuple[str, int], timeout: float | None = None, source: Any = None
    ) -> socket.socket:
        failure: OSError = OSError("no address to connect to")
        for address in target.addresses:
            try:
                return socket.create_connection((address, target.port), timeout, source)
            except OSError as error:
                failure = error
        raise failure

    # http.client connects through this attribute; TLS still checks the certificate
    # against the host name, and the Host header still names it.
    conn._create_connection = connect_to_checked_address  # type: ignore[attr-defined]
    try:
        conn.request("POST", target.path, body=body, headers=dict(headers))
        reply = conn.getresponse()
        reply.read(MAX_REPLY_BYTES)
        code = reply.status
        error = "" if 200 <= code < 300 else f"HTTP {code} {reply.reason}"[:300]
        return Outcome(code, error, _ms_since(started))
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, (f"{type(exc).__name__}: {exc}")[:300], _ms_since(started))
    finally:
        conn.close()


def _ms_since(started: float) -> int:
    return int((clock.monotonic() - started) * 1000)


def send_one(delivery: WebhookDelivery) -> Outcome:
    """Check the address again, sign, and send one delivery; what happened."""
    endpoint = delivery.endpoint
    try:
        target = check_webhook_address(endpoint.url)
    except UnsafeAddress as refused:
        error = _("Refused, nothing sent: %s") % refused.message
        return Outcome(None, error[:300], 0, refused=True)
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    headers = {
        "content-type": "application/json",
        "user-agent": "HandsUp-Webhooks/1",
        **sign(endpoint.secret, delivery.message_id, body, datetime.now(UTC)),
    }
    return _post(target, body.encode(), headers)


def _record(
    delivery: WebhookDelivery, outcome: Outcome, lease_until: datetime, now: datetime
) -> str:
    """Write back one try, fenced by our lease; the delivery's new status."""
    endpoint = delivery.endpoint
    with transaction.atomic():
        tries = delivery.attempts + 1
        fields: dict[str, Any] = {
            "attempts": tries,
            "claimed_until": None,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error[:300],
        }
        if outcome.ok:
            fields.update(status=Status.DELIVERED, delivered_at=now)
        elif now - delivery.created_at >= GIVE_UP_AFTER:
            fields.update(status=Status.GAVE_UP)
        else:
            fields.update(next_attempt_at=now + retry_delay(tries))
        mine = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=Status.PENDING, claimed_until=lease_until
        ).update(**fields)
        if not mine:
            return "lost_lease"  # another worker took it over; its result stands
        WebhookAttempt.objects.create(
            delivery=delivery,
            status_code=outcome.status_code,
            error=outcome.error[:300],
            duration_ms=outcome.duration_ms,
        )
        if outcome.ok:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
        else:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                failing_since=now
            )
    return str(fields.get("status", Status.PENDING))


def disable_failing_endpoints(now: datetime) -> int:
    """Disable every endpoint that has failed for a day without a success."""
    disabled = 0
    failing = WebhookEndpoint.objects.filter(
        disabled_at__isnull=True, failing_since__lte=now - DISABLE_AFTER
    ).select_related("group")
    for endpoint in failing:
        since = timezone.localtime(endpoint.failing_since) if endpoint.failing_since else now
        reason = _("Every try since %(since)s failed (the last: %(error)s).") % {
            "since": f"{since:%d %B %Y %H:%M}",
            "error": _last_error(endpoint) or _("no reply"),
        }
        if disable_endpoint(endpoint=endpoint, reason=reason, now=now):
            disabled += 1
    return disabled


def _last_error(endpoint: WebhookEndpoint) -> str:
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .exclude(last_error="")
        .order_by("-next_attempt_at", "-pk")
        .values_list("last_error", flat=True)
        .first()
        or ""
    )


def deliver_due(
    *, worker_id: str = "", now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> SendReport:
    """Send every due delivery, batch after batch, until none is due at `now`."""
    now = now or timezone.now()
    report = SendReport(disabled=disable_failing_endpoints(now))
    while True:
        lease_until, taken = _claim(worker_id, now, batch_size)
        if not taken:
            break
        report.claimed += len(taken)
        deliveries = WebhookDelivery.objects.filter(pk__in=taken).select_related(
            "endpoint", "endpoint__group"
        )
        for delivery in deliveries.order_by("next_attempt_at", "pk"):
            endpoint = delivery.endpoint
            if endpoint.disabled_at is not None:
                WebhookDelivery.objects.filter(pk=delivery.pk, claimed_until=lease_until).update(
                    status=Status.GAVE_UP, claimed_until=None
                )
                report.gave_up += 1
                continue
            outcome = send_one(delivery)
            if outcome.refused:
                report.refused += 1
            status = _record(delivery, outcome, lease_until, now)
            if status == Status.DELIVERED:
                report.delivered += 1
            elif status == Status.GAVE_UP:
                report.gave_up += 1
            elif status == Status.PENDING:
                report.retrying += 1
        if len(taken) < batch_size:
            break
    report.disabled += disable_failing_endpoints(now)
    if report.claimed or report.disabled:
        logger.info("webhooks (%s): %s", worker_id or os.getpid(), report.summary())
    return report
