"""Benchmark Q2 (QUALITY.md): delivering the outbox to a local SMTP server, one worker.

`bench_delivery(N)` makes N throwaway people and one group update queued to all of
them, starts an SMTP server that counts what it receives (aiosmtpd, in a process of its
own so it doesn't share this one's CPU), and times:

* ours: `deliver_due` draining the N rows in one worker: claim with a lease, render
  once per message, one token and link per person, send on one connection, mark sent
  — with the default `mark_every=1` (each send recorded before the next), and again
  with `mark_every=50` (a write back per 50 sends: faster, a larger crash window);
* the baseline: Django's `send_mass_mail` of the same number of plain messages on one
  connection (no database, no rendering, no marking) — the ceiling the SMTP round trip
  itself sets.

Everything it made is deleted at the end. Results are dicts in the QUALITY.md shape.
"""

from __future__ import annotations

import multiprocessing
import platform
import sqlite3
import time as clock
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.mail import send_mass_mail
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import override_settings
from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.delivery import deliver_due
from handsup.messaging.models import Kind, Message, OutboxItem
from handsup.messaging.smtp_sink import free_port, serve_counting

BENCH_DOMAIN = "delbench.handsup.invalid"
BENCH_SLUG = "q2-bench-group"
TARGET_PER_S = {"postgresql": 2000.0, "sqlite": 1000.0}
BODY = (
    "## Saturday\n\nWe're leafleting the **high street** from 10am; meet by the library.\n\n"
    "- bring water\n- wear comfy shoes\n\n[Route map](https://example.org/route)"
)


class CountingSMTPServer:
    """A counting aiosmtpd server in a separate process (spawned: no shared state)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.port = free_port()
        self.received = context.Value("i", 0)
        ready = context.Event()
        self.process = context.Process(
            target=serve_counting, args=(self.port, ready, self.received), daemon=True
        )
        self.process.start()
        if not ready.wait(30):
            self.process.kill()
            raise RuntimeError("The benchmark's SMTP server did not start.")

    def count(self) -> int:
        return int(self.received.value)

    def stop(self) -> None:
        self.process.kill()
        self.process.join(10)


def _mailers(port: int) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 30},
        }
    }


def _make_people(n: int, *, using: str) -> list[int]:
    password = make_password(None)  # unusable: these people never sign in
    User.objects.using(using).bulk_create(
        (User(email=f"r{i}@{BENCH_DOMAIN}", password=password, is_active=True) for i in range(n)),
        batch_size=2000,
    )
    return list(
        User.objects.using(using)
        .filter(email__endswith=f"@{BENCH_DOMAIN}")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _queue(message: Message, user_ids: list[int], *, using: str) -> None:
    due = timezone.now() - timedelta(seconds=1)
    OutboxItem.objects.using(using).bulk_create(
        (
            OutboxItem(
                message=message,
                user_id=pk,
                address=f"r{i}@{BENCH_DOMAIN}",
                due_at=due,
            )
            for i, pk in enumerate(user_ids)
        ),
        batch_size=5000,
    )


def _clean_up(*, using: str) -> None:
    messages = Message.objects.using(using).filter(group__slug=BENCH_SLUG)
    OutboxItem.objects.using(using).filter(message__in=messages).delete()
    messages.delete()
    Group.objects.using(using).filter(slug=BENCH_SLUG).delete()
    User.objects.using(using).filter(email__endswith=f"@{BENCH_DOMAIN}")._raw_delete(using)


def bench_delivery(
    messages: int = 5_000,
    *,
    batch_size: int = 500,
    mark_every_values: tuple[int, ...] = (1, 50),
    using: str = DEFAULT_DB_ALIAS,
) -> list[dict[str, Any]]:
    """Messages per second delivered to a local SMTP server by one worker, and baseline."""
    if messages < 1:
        raise ValueError("The benchmark needs at least one message.")
    connection = connections[using]
    database = connection.vendor
    machine = {
        "cores": multiprocessing.cpu_count(),
        "python": platform.python_version(),
        "database_version": sqlite3.sqlite_version
        if database == "sqlite"
        else str(connection.cursor().connection.info.server_version),
    }
    server = CountingSMTPServer()
    results: list[dict[str, Any]] = []
    _clean_up(using=using)
    try:
        with override_settings(MAILERS=_mailers(server.port)):
            group = Group.objects.using(using).create(
                name="Q2 benchmark group", slug=BENCH_SLUG, kind="branch"
            )
            user_ids = _make_people(messages, using=using)
            for mark_every in mark_every_values:
                message = Message.objects.using(using).create(
                    kind=Kind.GROUP_UPDATE, group=group, subject="Saturday", body_markdown=BODY
                )
                _queue(message, user_ids, using=using)
                before = server.count()
                started = clock.perf_counter()
                report = deliver_due(
                    worker_id="bench",
                    batch_size=batch_size,
                    time_budget=3600,
                    mark_every=mark_every,
                    using=using,
                )
                seconds = clock.perf_counter() - started
                received = server.count() - before
                results.append(
                    {
                        "name": f"outbox delivery, 1 worker (mark_every={mark_every})",
                        "baseline": False,
                        "database": database,
                        "messages": messages,
                        "batch_size": batch_size,
                        "mark_every": mark_every,
                        "sent": report.sent,
                        "received_by_server": received,
                        "seconds": round(seconds, 3),
                        "per_s": round(report.sent / seconds, 1),
                        "target_per_s": TARGET_PER_S.get(database),
                        **machine,
                    }
                )
            sender = str(settings.DEFAULT_FROM_EMAIL)
            datatuple = [
                ("Saturday", BODY, sender, [f"r{i}@{BENCH_DOMAIN}"]) for i in range(messages)
            ]
            before = server.count()
            started = clock.perf_counter()
            sent = send_mass_mail(datatuple)
            seconds = clock.perf_counter() - started
            results.append(
                {
                    "name": "Django send_mass_mail (plain text, no database)",
                    "baseline": True,
                    "database": database,
                    "messages": messages,
                    "sent": sent,
                    "received_by_server": server.count() - before,
                    "seconds": round(seconds, 3),
                    "per_s": round(sent / seconds, 1),
                    **machine,
                }
            )
    finally:
        _clean_up(using=using)
        server.stop()
    return results


def format_results(results: list[dict[str, Any]]) -> str:
    lines = [f"{'path':<58} {'db':<10} {'messages':>8} {'seconds':>8} {'per s':>9}"]
    for row in results:
        lines.append(
            f"{row['name']:<58} {row['database']:<10} {row['messages']:>8} "
            f"{row['seconds']:>8.2f} {row['per_s']:>9.1f}"
        )
    return "\n".join(lines)
