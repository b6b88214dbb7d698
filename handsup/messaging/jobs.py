"""How the worker drains the outbox: on the schedule, and straight after a send.

* `deliver_outbox` runs every `HANDSUP_DELIVERY_EVERY_SECONDS` (5 s) on whichever worker
  claims the period. It drains for at most that long, so one run ends about when the next
  period starts and the schedule's queue never backs up behind it. It is what picks up
  held mail when quiet hours end, and retries when their backoff is over.
* `kick_delivery()` enqueues `HANDSUP_DELIVERY_PARALLEL` (2) drain tasks at once, for a
  big send not to wait for the next period, and so several worker processes share it:
  claims use `SKIP LOCKED` on PostgreSQL, so they take different rows. Call it with
  `transaction.on_commit` after queueing outbox rows.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.tasks import task

from handsup.core.schedule import periodic
from handsup.messaging.delivery import deliver_due

EVERY_SECONDS = float(getattr(settings, "HANDSUP_DELIVERY_EVERY_SECONDS", 5))
# A kicked drain may run longer than a scheduled one: it has a queue slot of its own.
KICKED_BUDGET_SECONDS = float(getattr(settings, "HANDSUP_DELIVERY_KICK_BUDGET_SECONDS", 120))


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@periodic(every=timedelta(seconds=EVERY_SECONDS))
def deliver_outbox() -> str:
    return deliver_due(worker_id=_worker_id(), time_budget=EVERY_SECONDS).summary()


@task(queue_name="default")
def drain_outbox() -> str:
    return deliver_due(worker_id=_worker_id(), time_budget=KICKED_BUDGET_SECONDS).summary()


def kick_delivery(parallel: int | None = None) -> None:
    """Start `parallel` drains now (ids only cross the queue: none at all here)."""
    count = parallel or int(getattr(settings, "HANDSUP_DELIVERY_PARALLEL", 2))
    for _ in range(max(count, 1)):
        drain_outbox.enqueue()


# Digests: hourly, so each person's period is settled within the hour it begins in their
# time zone (their quiet hours then hold the email until morning). See digests.py.
# The environment variable lets the two-worker test run it every second.
_digest_every: object = getattr(settings, "HANDSUP_DIGEST_EVERY_SECONDS", 3600)
DIGEST_EVERY_SECONDS = float(str(os.environ.get("HANDSUP_DIGEST_EVERY_SECONDS") or _digest_every))


@periodic(every=timedelta(seconds=DIGEST_EVERY_SECONDS))
def send_digests() -> str:
    from handsup.messaging.digests import run_digests

    return run_digests().summary()
