"""The webhook sender's place on the schedule (imported by the platform app's `ready`).

`send_webhooks` runs every minute on whichever worker claims the period: it sends what
is due, retries what has waited long enough, and disables endpoints that have failed for
a day. `kick_webhooks()` (called on commit by `emit`) enqueues one drain at once, so a
new event reaches its endpoints within seconds instead of on the next minute.
`prune_webhook_log` keeps the delivery log (payloads included: some are about a person)
for `HANDSUP_WEBHOOK_LOG_DAYS` (30) days, then deletes it.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from handsup.core.schedule import periodic


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@periodic(every=timedelta(minutes=1))
def send_webhooks() -> str:
    from handsup.platform.webhooks import deliver_due

    return deliver_due(worker_id=_worker_id()).summary()


@task(queue_name="default")
def drain_webhooks() -> str:
    from handsup.platform.webhooks import deliver_due

    return deliver_due(worker_id=_worker_id()).summary()


def kick_webhooks() -> None:
    """Send what is due now rather than on the next minute (ids never cross the queue)."""
    drain_webhooks.enqueue()


@periodic(every=timedelta(days=1))
def prune_webhook_log() -> str:
    from handsup.platform.models import WebhookDelivery

    days = int(getattr(settings, "HANDSUP_WEBHOOK_LOG_DAYS", 30))
    deleted, _ = (
        WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.PENDING)
        .filter(created_at__lt=timezone.now() - timedelta(days=days))
        .delete()
    )
    return f"{deleted} rows deleted"
