"""The Q1 benchmark runs end to end on a small audience and reports in the agreed shape."""

from __future__ import annotations

import pytest

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
