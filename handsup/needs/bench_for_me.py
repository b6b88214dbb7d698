"""Benchmark M4 (QUALITY.md): "Needs for me" over many open needs, from the open-needs
index, against the database path, in the same run (`handsup bench matching
--open-needs N`, reported with M1 and M2).

* The needs: N open needs made as `bench.make_needs` makes the shortlist's (half in
  person, half remote), removed afterwards unless `--keep`.
* The people: `--for-me-people` seeded volunteers holding skills, drawn with the seed.
* Timed per person, after a warm-up: the index path as the page's first page runs it
  (`volunteer_facts`, one query, then `OpenNeedsIndex.for_person` for the page and its
  margin), and the index's in-memory part alone; and the baseline,
  `for_me.needs_for_person` (the database path: one eligibility query per open need
  asking for a skill they hold) for the first
  `--for-me-baseline-people`. For each of those, the two lists of needs must be the
  same in the same order; any difference is listed.
"""

from __future__ import annotations

import gc
import time
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from handsup.accounts.models import User
from handsup.core.seeding import SeedContext
from handsup.needs.for_me import PAGE_MARGIN, PAGE_SIZE, needs_for_person
from handsup.needs.models import Invitation
from handsup.needs.needs_index import OpenNeedsIndex, volunteer_facts
from handsup.people.models import Person

FIGURE = "M4"
TARGET_P95_MS = 5.0
WARMUP = 20
# What the page asks the index for: its first page, and the margin past it.
FIRST_PAGE = PAGE_SIZE + 1 + PAGE_MARGIN


def _people(count: int, seed: int) -> list[User]:
    """`count` seeded volunteers who hold at least one skill, drawn with the seed."""
    pool = list(
        Person.objects.filter(seeded=True, user__isnull=False, skills__isnull=False)
        .order_by()
        .values_list("user_id", flat=True)
        .distinct()[: max(count * 20, 1000)]
    )
    if not pool:
        return []
    rng = SeedContext(seed=seed, volunteers=len(pool)).rng("bench-for-me")
    chosen = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
    by_pk = User.objects.in_bulk([pool[int(i)] for i in chosen])
    return [by_pk[pool[int(i)]] for i in chosen]


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    p50, p95, p99 = np.percentile(np.asarray(samples), [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
    }


def for_me_report(
    *, open_needs: int, people: int, baseline_people: int, seed: int, now: datetime
) -> dict[str, Any]:
    """Build the open-needs index, then time the two paths (see the module's docstring).
    The needs must already exist (the caller makes and removes them)."""
    gc.collect()
    started = time.perf_counter()
    index = OpenNeedsIndex.build()
    build_seconds = time.perf_counter() - started
    users = _people(people, seed)
    today = timezone.localdate(now)

    def invited(user: User) -> frozenset[int]:
        return frozenset(Invitation.objects.filter(user=user).values_list("need_id", flat=True))

    for user in users[:WARMUP]:
        facts = volunteer_facts(user)
        if facts is not None:
            index.for_person(facts, today=today)
    whole: list[float] = []
    in_memory: list[float] = []
    found_counts: list[int] = []
    lists: dict[int, list[int]] = {}
    for user in users:
        invitations = invited(user)
        started_ns = time.perf_counter_ns()
        facts = volunteer_facts(user)
        middle_ns = time.perf_counter_ns()
        if facts is not None:
            index.for_person(facts, today=today, invited=invitations, limit=FIRST_PAGE)
        ended_ns = time.perf_counter_ns()
        whole.append((ended_ns - started_ns) / 1e6)
        in_memory.append((ended_ns - middle_ns) / 1e6)
        # Untimed: the whole list, for the comparison with the database path.
        found = index.for_person(facts, today=today, invited=invitations) if facts else []
        found_counts.append(len(found))
        lists[user.pk] = [item.need_id for item in found]
    baseline: list[float] = []
    compared = identical = 0
    differences: list[str] = []
    for user in users[:baseline_people]:
        started_ns = time.perf_counter_ns()
        listed = needs_for_person(user, now=now)
        baseline.append((time.perf_counter_ns() - started_ns) / 1e6)
        exact = [item.need.pk for item in listed if item.invitation is None]
        compared += 1
        if exact == lists[user.pk]:
            identical += 1
        elif len(differences) < 10:
            differences.append(
                f"user {user.pk}: the index lists {len(lists[user.pk])} needs, the database "
                f"path {len(exact)}"
            )
    ours = _percentiles(whole)
    base = _percentiles(baseline)
    ratio = (
        {key: round(base[f"{key}_ms"] / ours[f"{key}_ms"], 1) for key in ("p50", "p95", "p99")}
        if baseline and ours["p50_ms"]
        else None
    )
    return {
        "figure": FIGURE,
        "open_needs": open_needs,
        "index_size": index.size,
        "index_build_seconds": round(build_seconds, 3),
        "index_nbytes": index.nbytes,
        "people": len(users),
        "target_p95_ms": TARGET_P95_MS,
        "index_path": {
            **ours,
            "what": "volunteer_facts (one query) + OpenNeedsIndex.for_person",
            "needs_found_mean": round(sum(found_counts) / len(found_counts), 1)
            if found_counts
            else 0.0,
        },
        "index_in_memory": {**_percentiles(in_memory), "what": "OpenNeedsIndex.for_person"},
        "baseline": {
            **base,
            "people": len(baseline),
            "what": "for_me.needs_for_person (one eligibility query per open need with a "
            "skill they hold)",
        },
        "baseline_ratio": ratio,
        "equality": {"compared": compared, "identical": identical, "differences": differences},
        "database": connection.vendor,
    }


def for_me_lines(report: dict[str, Any]) -> list[str]:
    """The M4 part of the command's notes."""
    ours, memory, base = report["index_path"], report["index_in_memory"], report["baseline"]
    lines = [
        f"Open-needs index: {report['index_size']:,} needs in "
        f"{report['index_build_seconds']:.2f} s, {report['index_nbytes'] / 1e6:,.1f} MB of arrays.",
        f"Needs for me from the index (M4), over {report['open_needs']:,} benchmark needs: "
        f"p50 {ours['p50_ms']:.2f} ms, p95 {ours['p95_ms']:.2f} ms, p99 {ours['p99_ms']:.2f} ms "
        f"for {report['people']} people, {ours['needs_found_mean']:g} needs each "
        f"(target p95 ≤ {report['target_p95_ms']:g} ms); in memory alone p50 "
        f"{memory['p50_ms']:.2f} ms, p95 {memory['p95_ms']:.2f} ms.",
    ]
    if base["people"]:
        lines.append(
            f"Needs for me, database path (baseline): p50 {base['p50_ms']:.1f} ms, p95 "
            f"{base['p95_ms']:.1f} ms for {base['people']} people; ratio "
            f"{report['baseline_ratio']}."
        )
    equality = report["equality"]
    lines.append(
        f"Needs for me: the index's list equals the database path's for "
        f"{equality['identical']} of {equality['compared']} people."
    )
    lines += equality["differences"]
    return lines
