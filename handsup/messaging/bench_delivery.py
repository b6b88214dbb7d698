"""Benchmark Q2 (QUALITY.md): delivering the outbox to a local SMTP server.

`bench_delivery(N)` makes N throwaway people and, for each path it times, one group
update queued to all of them; starts an SMTP server that counts what it receives
(aiosmtpd, in a process of its own so it doesn't share this one's interpreter), and
times, in the same run:

* ours, one worker: `deliver_due` draining the N rows — claim a batch with a lease,
  render the message once, fill each person's pre-built MIME (their To, Message-ID,
  unsubscribe token and link, RFC 8058 headers), send on one SMTP connection, mark sent
  (`HANDSUP_DELIVERY_MARK_EVERY` sends per write back unless `mark_every` is given);
* ours, two workers (PostgreSQL only): two forked processes running the same
  `deliver_due`, each claiming its own batches (`FOR UPDATE SKIP LOCKED`), each with
  its own connections; timed from the moment both are told to start until the last
  one is done (SQLite has one writer at a time: one worker is its figure);
* for reference, the normal path on one worker (`HANDSUP_DELIVERY_PREBUILT_MIME` off: an
  `EmailMultiAlternatives` per recipient through Django's SMTP backend), unless
  `normal_path=False`;
* the baseline: Django's `send_mass_mail` of the same number of plain-text messages on
  one connection (no database, no rendering, no marking);
* the server's ceiling: the baseline's message, built once, sent as the same bytes over
  and over by 1, 2 and 3 forked clients that do nothing else (`smtplib`, a connection
  each). No sender can deliver faster than the best of these rows, since the server is
  the same and the clients do the least a sender can; on a small machine it shows
  whether the target is within the server's reach at all.

Each of ours also reports the batches' p50/p95 (milliseconds per batch of `batch_size`);
every row checks the server's count and says how much CPU the server itself spent per
message (on Linux): on a small machine that, not the client, sets the ceiling.
Everything it made is deleted at the end. Results are dicts in the QUALITY.md shape
(`name`, `baseline`, `database`, `recipients`/`rows`, `seconds`, `per_s`).
"""

from __future__ import annotations

import multiprocessing
import os
import smtplib
import statistics
import time as clock
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.mail import EmailMessage, send_mass_mail
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import override_settings
from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.delivery import DeliveryReport, default_mark_every, deliver_due
from handsup.messaging.models import Kind, Message, OutboxItem
from handsup.messaging.smtp_sink import free_port, serve_counting

BENCH_DOMAIN = "delbench.handsup.invalid"
BENCH_SLUG = "q2-bench-group"
TARGET_PER_S = {"postgresql": 2000.0, "sqlite": 1000.0}
TARGET_WORKERS = {"postgresql": 2, "sqlite": 1}
DEFAULT_MESSAGES = 20_000
CEILING_CLIENTS = (1, 2, 3)
CEILING_MESSAGES = 6_000  # at most, per client count
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

    def cpu_seconds(self) -> float | None:
        """The server process's CPU time so far (Linux; None elsewhere): how much of the
        machine the server itself takes, the ceiling every client here shares."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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


def _queue(group: Group, user_ids: list[int], *, using: str) -> Message:
    message = Message.objects.using(using).create(
        kind=Kind.GROUP_UPDATE, group=group, subject="Saturday", body_markdown=BODY
    )
    due = timezone.now() - timedelta(seconds=1)
    OutboxItem.objects.using(using).bulk_create(
        (
            OutboxItem(message=message, user_id=pk, address=f"r{i}@{BENCH_DOMAIN}", due_at=due)
            for i, pk in enumerate(user_ids)
        ),
        batch_size=5000,
    )
    return message


def _clean_up(*, using: str) -> None:
    messages = Message.objects.using(using).filter(group__slug=BENCH_SLUG)
    OutboxItem.objects.using(using).filter(message__in=messages).delete()
    messages.delete()
    Group.objects.using(using).filter(slug=BENCH_SLUG).delete()
    User.objects.using(using).filter(email__endswith=f"@{BENCH_DOMAIN}")._raw_delete(using)


def _drain(*, batch_size: int, mark_every: int, using: str) -> DeliveryReport:
    return deliver_due(
        worker_id=f"bench-{os.getpid()}",
        batch_size=batch_size,
        time_budget=3600,
        mark_every=mark_every,
        using=using,
    )


def _worker(
    batch_size: int, mark_every: int, using: str, go: Any, results: Any
) -> None:  # pragma: no cover (runs in a forked process)
    try:
        go.wait()
        started = clock.monotonic()
        report = _drain(batch_size=batch_size, mark_every=mark_every, using=using)
        results.put((report.sent, report.batch_seconds, started, clock.monotonic(), ""))
    except BaseException as error:
        results.put((0, [], 0.0, 0.0, f"{type(error).__name__}: {error}"))
    finally:
        connections.close_all()


def _start_together(
    jobs: list[tuple[Callable[..., None], tuple[Any, ...]]],
    *,
    timeout: float,
    at_start: Callable[[], None] | None = None,
) -> tuple[list[Any], float, float]:
    """Fork a process per (target, arguments), start them all at once, and wait for the
    one result each puts.

    Each target gets an event to wait for and a queue for its result after its own
    arguments. Forked, so they inherit the settings (and, in tests, the test database's
    name). `at_start` runs just before the start. Returns the results, the monotonic
    start and the seconds until the last result.
    """
    context = multiprocessing.get_context("fork")
    go, results = context.Event(), context.Queue()
    processes = [context.Process(target=target, args=(*args, go, results)) for target, args in jobs]
    for process in processes:
        process.start()
    clock.sleep(0.2)  # let them start (and connect) before the clock does
    if at_start is not None:
        at_start()
    started = clock.monotonic()
    go.set()
    finished = [results.get(timeout=timeout) for _ in processes]
    seconds = clock.monotonic() - started
    for process in processes:
        process.join(30)
    return finished, started, seconds


def _run_workers(
    workers: int, *, batch_size: int, mark_every: int, using: str
) -> tuple[int, float, list[float]]:
    """(sent, seconds, batch seconds) for `workers` processes draining the outbox."""
    if workers == 1:
        started = clock.perf_counter()
        report = _drain(batch_size=batch_size, mark_every=mark_every, using=using)
        return report.sent, clock.perf_counter() - started, report.batch_seconds
    # Each worker opens its own database and SMTP connections; none shares ours.
    connections.close_all()
    job = (_worker, (batch_size, mark_every, using))
    finished, started, _ = _start_together([job] * workers, timeout=3600)
    errors = [error for *_, error in finished if error]
    if errors:
        raise RuntimeError(f"A benchmark worker failed: {errors[0]}")
    seconds = max(ended for _s, _b, _st, ended, _e in finished) - started
    batches = [b for _s, times, *_ in finished for b in times]
    return sum(sent for sent, *_ in finished), seconds, batches


def _bare_client(
    port: int, sender: str, raw: bytes, count: int, go: Any, done: Any
) -> None:  # pragma: no cover (runs in a forked process)
    """Send `raw` `count` times on one connection once `go` is set; put how many."""
    sent = 0
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            go.wait()
            for index in range(count):
                smtp.sendmail(sender, [f"c{index}@{BENCH_DOMAIN}"], raw)
                sent += 1
    finally:
        done.put(sent)


def _server_ceiling(
    server: CountingSMTPServer, sender: str, messages: int, common: dict[str, Any]
) -> list[dict[str, Any]]:
    """A row per client count: the baseline's message as bytes, from clients that do
    nothing else, at the same server."""
    raw = EmailMessage("Saturday", BODY, sender, [f"c@{BENCH_DOMAIN}"]).message().as_bytes()
    total = min(messages, CEILING_MESSAGES)
    rows = []
    marks: dict[str, Any] = {}

    def mark() -> None:  # the server's count and CPU time as the clients start
        marks.update(count=server.count(), cpu=server.cpu_seconds())

    for clients in CEILING_CLIENTS:
        shares = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
        jobs: list[tuple[Callable[..., None], tuple[Any, ...]]] = [
            (_bare_client, (server.port, sender, raw, n)) for n in shares
        ]
        counts, _, seconds = _start_together(jobs, timeout=600, at_start=mark)
        sent = sum(counts)
        before, cpu_before = marks["count"], marks["cpu"]
        rows.append(
            {
                "name": f"SMTP server ceiling: {clients} bare client(s), one pre-built message",
                "baseline": False,
                "ceiling": True,
                **common,
                "recipients": total,
                "rows": total,
                "clients": clients,
                "message_bytes": len(raw),
                "sent": sent,
                "received_by_server": server.count() - before,
                "server_cpu_ms_per_message": _cpu_per_message(server, cpu_before, total),
                "seconds": round(seconds, 3),
                "per_s": round(sent / seconds, 1),
            }
        )
    return rows


def _cpu_per_message(
    server: CountingSMTPServer, before: float | None, messages: int
) -> float | None:
    after = server.cpu_seconds()
    if before is None or after is None:
        return None
    return round((after - before) * 1000 / messages, 3)


def _percentile_ms(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0] * 1000, 1)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[int(fraction * 100) - 1] * 1000, 1)


def bench_delivery(
    messages: int = DEFAULT_MESSAGES,
    *,
    batch_size: int = 500,
    workers: tuple[int, ...] | None = None,
    mark_every: int | None = None,
    normal_path: bool = True,
    ceiling: bool = True,
    using: str = DEFAULT_DB_ALIAS,
) -> list[dict[str, Any]]:
    """Messages per second delivered to a local SMTP server: ours, the baseline, and
    (`ceiling`) what the server takes at most from clients that do nothing else.

    `workers`: the worker counts to time (default: 1 and 2 on PostgreSQL, 1 on SQLite).
    """
    if messages < 1:
        raise ValueError("The benchmark needs at least one message.")
    database = connections[using].vendor
    if workers is None:
        workers = (1, 2) if database == "postgresql" else (1,)
    if database != "postgresql" and any(n > 1 for n in workers):
        raise ValueError("More than one delivery worker is timed on PostgreSQL only.")
    mark_every = mark_every or default_mark_every()
    server = CountingSMTPServer()
    results: list[dict[str, Any]] = []
    common = {"database": database, "recipients": messages, "rows": messages}
    _clean_up(using=using)
    try:
        with override_settings(MAILERS=_mailers(server.port)):
            group = Group.objects.using(using).create(
                name="Q2 benchmark group", slug=BENCH_SLUG, kind="branch"
            )
            user_ids = _make_people(messages, using=using)
            runs = [(n, True) for n in workers] + ([(1, False)] if normal_path else [])
            for count, prebuilt in runs:
                _queue(group, user_ids, using=using)
                before, cpu_before = server.count(), server.cpu_seconds()
                with override_settings(HANDSUP_DELIVERY_PREBUILT_MIME=prebuilt):
                    sent, seconds, batches = _run_workers(
                        count, batch_size=batch_size, mark_every=mark_every, using=using
                    )
                plural = "worker" if count == 1 else "workers"
                path = "pre-built MIME" if prebuilt else "normal path, EmailMultiAlternatives"
                results.append(
                    {
                        "name": f"outbox delivery, {path}, {count} {plural} (ours)",
                        "baseline": False,
                        **common,
                        "workers": count,
                        "prebuilt_mime": prebuilt,
                        "batch_size": batch_size,
                        "mark_every": mark_every,
                        "sent": sent,
                        "received_by_server": server.count() - before,
                        "server_cpu_ms_per_message": _cpu_per_message(server, cpu_before, messages),
                        "seconds": round(seconds, 3),
                        "per_s": round(sent / seconds, 1),
                        "p50_ms": _percentile_ms(batches, 0.50),
                        "p95_ms": _percentile_ms(batches, 0.95),
                        "latency_of": f"one batch of {batch_size}",
                        "target_per_s": TARGET_PER_S.get(database)
                        if prebuilt and count <= TARGET_WORKERS.get(database, 1)
                        else None,
                    }
                )
            sender = str(settings.DEFAULT_FROM_EMAIL)
            datatuple = [
                ("Saturday", BODY, sender, [f"r{i}@{BENCH_DOMAIN}"]) for i in range(messages)
            ]
            before, cpu_before = server.count(), server.cpu_seconds()
            started = clock.perf_counter()
            sent = send_mass_mail(datatuple)
            seconds = clock.perf_counter() - started
            results.append(
                {
                    "name": "Django send_mass_mail (plain text, no database), 1 connection",
                    "baseline": True,
                    **common,
                    "sent": sent,
                    "received_by_server": server.count() - before,
                    "server_cpu_ms_per_message": _cpu_per_message(server, cpu_before, messages),
                    "seconds": round(seconds, 3),
                    "per_s": round(sent / seconds, 1),
                }
            )
            if ceiling:
                results += _server_ceiling(server, sender, messages, common)
    finally:
        _clean_up(using=using)
        server.stop()
    return results


def format_results(results: list[dict[str, Any]]) -> str:
    lines = [f"{'path':<66} {'db':<10} {'messages':>8} {'seconds':>8} {'per s':>9}"]
    for row in results:
        lines.append(
            f"{row['name']:<66} {row['database']:<10} {row['recipients']:>8} "
            f"{row['seconds']:>8.2f} {row['per_s']:>9.1f}"
        )
    return "\n".join(lines)
