"""The Q1 benchmark runs end to end on a small audience and reports in the agreed shape."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from handsup.accounts.models import User
from handsup.messaging.bench import BENCH_DOMAIN, bench_messaging
from handsup.messaging.models import LedgerEntry, Message, OutboxItem

pytestmark = pytest.mark.django_db


def test_bench_messaging_reports_ours_and_the_baseline_and_cleans_up():
    results = bench_messaging(400, baseline_recipients=50)
    assert [r["baseline"] for r in results] == [False, True]
    for result in results:
        assert {"name", "baseline", "database", "recipients", "seconds", "per_s"} <= set(result)
        assert result["recipients"] == 400 and result["seconds"] > 0
    ours, baseline = results
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
    ours, baseline = report["results"]
    assert (ours["baseline"], baseline["baseline"]) == (False, True)
    assert ours["recipients"] == ours["rows"] == 300 and ours["seconds"] > 0
    assert ours["database"] == report["machine"]["database"]
    assert sum(ours["decisions"].values()) == 300
    assert baseline["measured_recipients"] == 300 and not baseline["scaled"]
    assert not User.objects.filter(email__endswith=BENCH_DOMAIN).exists()


def test_the_bench_command_refuses_no_recipients():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("bench", "messaging", "--recipients", "0")
