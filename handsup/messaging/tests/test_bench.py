"""The Q1 benchmark runs end to end on a small audience and reports in the agreed shape."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from handsup.accounts.models import User
from handsup.messaging import bench
from handsup.messaging.bench import BENCH_DOMAIN, bench_messaging
from handsup.messaging.models import LedgerEntry, Message, OutboxItem

pytestmark = pytest.mark.django_db


def test_bench_messaging_reports_ours_and_the_baseline_and_cleans_up():
    results = bench_messaging(400, baseline_recipients=50)
    assert [r["baseline"] for r in results] == [False, False, True]
    for result in results:
        assert {"name", "baseline", "database", "recipients", "seconds", "per_s"} <= set(result)
        assert result["recipients"] == 400 and result["seconds"] > 0
    ours, writes, baseline = results
    # The writes alone: a ledger row for everyone and an outbox row for each of the
    # sent and held, as ours wrote; and rolled back.
    assert writes["floor"] is True
    outbox_rows = sum(
        n for key, n in ours["decisions"].items() if key.split(":")[0] in {"sent", "held"}
    )
    assert writes["rows_written"] == 400 + outbox_rows
    assert "scaled to 400" in baseline["name"] and baseline["measured_recipients"] == 50
    # The same rules, the same mix: 10% folded by the group's policy, 5% held, ...
    assert ours["decisions"]["folded:over_group_policy"] == 40
    assert ours["decisions"]["held:quiet_hours"] == 20
    assert sum(ours["decisions"].values()) == 400
    assert sum(baseline["decisions"].values()) == 50
    assert not User.objects.filter(email__endswith=BENCH_DOMAIN).exists()
    assert not (Message.objects.exists() or LedgerEntry.objects.exists())
    assert not OutboxItem.objects.exists()


def test_the_bench_command_prints_a_table_and_json():
    out = io.StringIO()
    call_command(
        "bench",
        "messaging",
        "--recipients",
        "300",
        "--baseline-recipients",
        "30",
        "--delivery-recipients",
        "0",  # Q2 has its own test (test_delivery.py)
        stdout=out,
    )
    table = out.getvalue()
    assert "pacing + ledger + outbox, set-based (ours)" in table
    assert "per-row loop (measured on 30 recipients, scaled to 300)" in table
    assert "Target (Q1)" in table and "cores" in table
    assert "writes alone" in table and "Writing alone" in table

    out = io.StringIO()
    call_command(
        "bench",
        "messaging",
        "--recipients",
        "300",
        "--delivery-recipients",
        "0",
        "--json",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert report["benchmark"] == "messaging" and report["figure"] == "Q1"
    ours, writes, baseline = report["results"]
    assert (ours["baseline"], writes["baseline"], baseline["baseline"]) == (False, False, True)
    assert writes["floor"] and writes["rows"] == 300
    assert ours["recipients"] == ours["rows"] == 300 and ours["seconds"] > 0
    assert ours["database"] == report["machine"]["database"]
    assert sum(ours["decisions"].values()) == 300
    assert baseline["measured_recipients"] == 300 and not baseline["scaled"]
    assert not User.objects.filter(email__endswith=BENCH_DOMAIN).exists()


def test_the_bench_command_refuses_no_recipients():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("bench", "messaging", "--recipients", "0")


def test_the_writes_alone_write_what_ours_wrote_and_keep_nothing():
    world = bench._build_world(120, "default")
    _, counts, sent = bench._run_ours(world, "default")
    ledger, outbox = LedgerEntry.objects.count(), OutboxItem.objects.count()
    seconds, written = bench._run_writes_alone(world, sent, "default")
    assert seconds > 0
    assert written == LedgerEntry.objects.filter(message=sent).count() + (
        OutboxItem.objects.filter(message=sent).count()
    )
    assert sum(counts.values()) == 120
    # Rolled back: the rows, the message and the table of decisions are gone.
    assert (LedgerEntry.objects.count(), OutboxItem.objects.count()) == (ledger, outbox)
    assert not Message.objects.filter(subject="Q1: writes alone").exists()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM bench_q1_decided")
