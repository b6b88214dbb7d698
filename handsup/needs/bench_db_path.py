"""Benchmark M3 (QUALITY.md): the shortlist from the database alone (`db_path`), on the
benchmark's needs, with how far its top 50 overlaps the exact top 50.

`db_path_report(pks_by_location, exact_answers, now)` times
`db_path.shortlist_from_table(need, limit=50)` once per need after a warm-up (p50, p95,
p99 per location, and the queries a call makes, counted over the warm-up calls), then
compares its answers with the exact ranking's (`matching.shortlist`): on the needs
whose exact answer the caller passes in `exact_answers` (the baseline it timed anyway),
and, with `exact_sample`, on that many more of each location's needs, worked out here
(the exact path takes seconds a need at a million people). Overlap is the share of the
exact top 50's people that the database path's top 50 holds (1 when both are empty);
the report gives its mean and minimum, per location and overall, and how many answers
were identical card for card.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from handsup.needs import matching
from handsup.needs.bench import (
    LOCATIONS,
    SHORTLIST_LIMIT,
    _fresh,
    _latency_result,
    card_difference,
    time_shortlists,
)
from handsup.needs.db_path import DEFAULT_K, DEFAULT_K_REMOTE, shortlist_from_table
from handsup.needs.matching import Card
from handsup.needs.models import Need

FIGURE = "M3"
# QUALITY.md's targets for the database path, p95 in milliseconds.
TARGET_P95_MS = {"in_person": 25.0, "remote": 50.0}
TARGET_OVERLAP = 0.95
WARMUP = 5
DIFFERENCES_LISTED = 10


def overlap(ours: Sequence[Card], exact: Sequence[Card]) -> float:
    """The share of the exact shortlist's people that `ours` holds too."""
    if not exact:
        return 1.0 if not ours else 0.0
    return len({card.user_id for card in ours} & {card.user_id for card in exact}) / len(exact)


def db_path_report(
    pks_by_location: Mapping[str, Sequence[int]],
    exact_answers: Mapping[int, list[Card]] | None,
    now: datetime,
    *,
    exact_sample: int = 0,
    volunteers: int | None = None,
) -> dict[str, Any]:
    """Time the database path on these needs and compare it with the exact answers
    (given, plus `exact_sample` more per location worked out here)."""
    exact: dict[int, list[Card]] = dict(exact_answers or {})

    def from_table(need: Need) -> list[Card]:
        return shortlist_from_table(need, now=now, limit=SHORTLIST_LIMIT)

    results: list[dict[str, Any]] = []
    overlaps: dict[str, list[float]] = {}
    differences: list[dict[str, Any]] = []
    for location, pks in pks_by_location.items():
        timing = time_shortlists(from_table, list(pks), warmup=min(WARMUP, len(pks)))
        extra = [pk for pk in pks if pk not in exact][:exact_sample]
        for need in _fresh(extra):
            exact[need.pk] = matching.shortlist(need, now=now, limit=SHORTLIST_LIMIT)
        compared = [pk for pk in pks if pk in exact]
        shares = [overlap(timing.answers[pk], exact[pk]) for pk in compared]
        overlaps[location] = shares
        identical = 0
        for pk in compared:
            difference = card_difference(timing.answers[pk], exact[pk])
            if difference is None:
                identical += 1
            elif len(differences) < DIFFERENCES_LISTED:
                differences.append({"need": pk, "location": location, "difference": difference})
        results.append(
            _latency_result(
                f"database path (db_path.shortlist_from_table), "
                f"{LOCATIONS.get(location, location)} ({FIGURE})",
                baseline=False,
                location=location,
                timing=timing,
                volunteers=volunteers,
                extra={
                    "bound_k": DEFAULT_K_REMOTE if location == "remote" else DEFAULT_K,
                    "figure": FIGURE,
                    "target_p95_ms": TARGET_P95_MS.get(location),
                    "compared_with_exact": len(compared),
                    "identical_to_exact": identical,
                    "overlap_mean": round(sum(shares) / len(shares), 4) if shares else None,
                    "overlap_min": round(min(shares), 4) if shares else None,
                },
            )
        )
    every = [share for shares in overlaps.values() for share in shares]
    summary = {
        "compared": len(every),
        "overlap_mean": round(sum(every) / len(every), 4) if every else None,
        "overlap_min": round(min(every), 4) if every else None,
        "target_overlap": TARGET_OVERLAP,
        "differences": differences,
    }
    return {
        "figure": FIGURE,
        "results": results,
        "overlap": summary,
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "notes": db_path_lines(results, summary),
    }


def db_path_lines(results: Sequence[dict[str, Any]], summary: Mapping[str, Any]) -> list[str]:
    """The report in sentences, for the command's notes."""
    lines = []
    for result in results:
        line = (
            f"{result['name']}: p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms, "
            f"p99 {result['p99_ms']:.2f} ms over {result['needs']:,} needs"
        )
        if result["queries_per_call"] is not None:
            line += f", {result['queries_per_call']:g} queries a call"
        line += f", {result['cards_mean']:g} cards a need, bound k = {result['bound_k']:,}"
        if result["target_p95_ms"] is not None:
            line += f" (target p95 ≤ {result['target_p95_ms']:g} ms)"
        if result["compared_with_exact"]:
            line += (
                f"; against the exact top {SHORTLIST_LIMIT} on {result['compared_with_exact']} "
                f"needs: overlap mean {result['overlap_mean']:.1%}, min "
                f"{result['overlap_min']:.1%}, identical {result['identical_to_exact']}"
            )
        lines.append(line + ".")
    if summary["compared"]:
        lines.append(
            f"Database path overall: overlap with the exact top {SHORTLIST_LIMIT} mean "
            f"{summary['overlap_mean']:.1%}, min {summary['overlap_min']:.1%} over "
            f"{summary['compared']} needs (target ≥ {summary['target_overlap']:.0%})."
        )
    lines += [
        f"Database path differs on need {item['need']}: {item['difference']}"
        for item in summary["differences"]
    ]
    return lines
