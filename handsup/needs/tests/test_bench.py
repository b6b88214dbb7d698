"""`handsup bench matching` at toy size: every path reported, the seed reused when it
can be, the benchmark's needs realistic and gone afterwards. No timing is asserted."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from handsup.needs.bench import (
    BENCH_TITLE,
    card_difference,
    percentiles,
    seeded_with,
)
from handsup.needs.matching import Card, Score
from handsup.needs.models import Need
from handsup.people.models import Person

pytestmark = pytest.mark.usefixtures("places")


def bench(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("bench", "matching", *args, "--json", stdout=out)
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


def seed(*args: str) -> None:
    call_command("seed", *args, "--no-progress", stdout=io.StringIO())


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["name"]: result for result in report["results"]}


def test_reports_each_path_with_percentiles_and_the_equality_count() -> None:
    # Seed 2 gives both compared needs someone to suggest, so equality is not vacuous.
    report = bench("--volunteers", "300", "--needs", "4", "--baseline-needs", "2", "--seed", "2")

    assert report["benchmark"] == "matching"
    assert report["volunteers"] == 300
    assert report["data"]["reused_seed"] is False
    assert report["data"]["seed_seconds"] > 0
    assert report["machine"]["database"] in ("sqlite", "postgresql")
    results = by_name(report)
    baseline = {r["location"]: r for r in results.values() if r["baseline"]}
    assert set(baseline) == {"in_person", "remote"}
    # --baseline-needs 2: one of each kind.
    assert [baseline[kind]["needs"] for kind in ("in_person", "remote")] == [1, 1]
    for result in baseline.values():
        assert result["database"] == report["machine"]["database"]
        assert result["cards_mean"] > 0
        assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    index = {r["location"]: r for r in results.values() if r.get("figure") in ("M1", "M2")}
    database = {r["location"]: r for r in results.values() if r.get("figure") == "M3"}
    assert set(database) == {"in_person", "remote"}
    for result in database.values():
        assert result["needs"] == 2 and result["bound_k"] > 0
        assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
        assert result["queries_per_call"] > 0
    # The database path is compared with the baseline's exact answers, need by need.
    assert report["db_path_overlap"]["compared"] == 2
    assert report["db_path_overlap"]["overlap_min"] == 1.0
    assert set(index) == {"in_person", "remote"}
    assert [index[kind]["figure"] for kind in ("in_person", "remote")] == ["M1", "M2"]
    assert [index[kind]["needs"] for kind in ("in_person", "remote")] == [2, 2]
    for result in index.values():
        assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
        assert set(result["baseline_ratio"]) == {"p50", "p95", "p99"}
    for result in [*index.values(), *baseline.values()]:
        assert result["queries_per_call"] > 0
    build = results["index build (MatchingIndex.build)"]
    assert build["size"] >= 300 and build["nbytes"] > 0 and build["seconds"] > 0
    # The index's top 50 is the exact ranking's, card for card, on each need compared.
    assert report["equality"]["compared"] == 2
    assert report["equality"]["differences"] == []
    assert report["equality"]["identical"] == 2
    assert [index[kind]["identical_to_baseline"] for kind in ("in_person", "remote")] == [1, 1]
    # Only the benchmark's own needs were made, and they are gone again.
    assert not Need.objects.filter(title__startswith=BENCH_TITLE).exists()


def test_needs_for_me_is_timed_over_the_open_needs_and_matches_the_database_path() -> None:
    report = bench(
        "--volunteers", "300", "--needs", "2", "--baseline-needs", "0", "--seed", "2",
        "--open-needs", "120", "--for-me-people", "25", "--for-me-baseline-people", "8",
    )  # fmt: skip

    assert report["figures"] == ["M1", "M2", "M3", "M4"]
    for_me = report["needs_for_me"]
    assert for_me["figure"] == "M4" and for_me["open_needs"] == 120
    assert for_me["index_size"] >= 120 and for_me["index_nbytes"] > 0
    assert for_me["people"] == 25
    for part in ("index_path", "index_in_memory", "baseline"):
        assert 0 < for_me[part]["p50_ms"] <= for_me[part]["p95_ms"] <= for_me[part]["p99_ms"]
    # People who hold skills fit some of 120 needs; the two paths list the same ones.
    assert for_me["index_path"]["needs_found_mean"] > 0
    assert for_me["equality"] == {"compared": 8, "identical": 8, "differences": []}
    assert set(for_me["baseline_ratio"]) == {"p50", "p95", "p99"}
    assert any(note.startswith("Needs for me from the index (M4)") for note in report["notes"])
    assert not Need.objects.filter(title__startswith=BENCH_TITLE).exists()


def test_people_seeded_with_the_same_seed_are_reused() -> None:
    seed("--volunteers", "300", "--seed", "4")
    assert seeded_with(4) == 300
    assert seeded_with(5) == 0

    reused = bench("--volunteers", "200", "--needs", "2", "--baseline-needs", "0", "--seed", "4")
    assert reused["data"]["reused_seed"] is True
    assert reused["volunteers"] == 300
    assert "Reused the 300 volunteers" in " ".join(reused["notes"])

    # Another seed, or more people than are there, means seeding afresh.
    other = bench("--volunteers", "200", "--needs", "2", "--baseline-needs", "0", "--seed", "5")
    assert other["data"]["reused_seed"] is False
    assert other["volunteers"] == 200
    assert seeded_with(5) == 200
    assert seeded_with(4) == 0


def test_kept_needs_are_open_and_realistic() -> None:
    report = bench("--volunteers", "300", "--needs", "6", "--baseline-needs", "0", "--keep")
    assert report["data"]["needs_kept"] is True
    needs = list(Need.objects.filter(title__startswith=BENCH_TITLE).order_by("pk"))
    kinds = [need.location_kind for need in needs]
    assert kinds == [Need.LocationKind.ON_SITE, Need.LocationKind.REMOTE] * 3
    for need in needs:
        assert need.status == Need.Status.OPEN
        required = [skill for skill in need.skills.all() if skill.required]
        assert len(required) == 1
        if need.location_kind == Need.LocationKind.ON_SITE:
            assert need.radius_km is not None and 5 <= need.radius_km <= 25
            assert need.eastings is not None and need.northings is not None
            # At a seeded person's postcode.
            assert Person.objects.filter(
                seeded=True,
                postcode=need.postcode,
                eastings=need.eastings,
                northings=need.northings,
            ).exists()
            # A skill someone holds.
            assert required[0].skill.holders.exists()
        else:
            assert required[0].skill.holders.filter(remote=True).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--needs", "0"], "--needs"),
        (["--volunteers", "0"], "--volunteers"),
        (["--baseline-needs", "-1"], "--baseline-needs"),
    ],
    ids=["no-needs", "no-volunteers", "negative-baseline"],
)
def test_bad_sizes_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("bench", "matching", *args, stdout=io.StringIO())


def test_percentiles_interpolate_between_samples() -> None:
    assert percentiles([float(n) for n in range(1, 101)]) == {
        "p50_ms": 50.5,
        "p95_ms": 95.05,
        "p99_ms": 99.01,
    }


def card(user_id: int, total: float, reason: str = "Mostly because of this.") -> Card:
    return Card(
        user_id=user_id,
        pseudonym=f"Volunteer {user_id}",
        score=Score(total=total, parts={"skills": total}),
        skills=[],
        distance="remote",
        availability="free 1 of 1 of your slots",
        last_asked="not asked yet",
        reason=reason,
        tie_break=f"{user_id:064x}",
    )


def test_card_difference_names_where_two_shortlists_part() -> None:
    exact = [card(1, 0.9), card(2, 0.8)]
    assert card_difference([card(1, 0.9), card(2, 0.8)], exact) is None
    assert card_difference([card(2, 0.8), card(1, 0.9)], exact) == (
        "position 1: user 2 (score 0.800000000) where the exact ranking has user 1 "
        "(score 0.900000000)"
    )
    assert card_difference([card(1, 0.9), card(2, 0.8, "Other.")], exact) == (
        "position 2: the same person, but the card differs in reason"
    )
    assert card_difference([card(1, 0.9)], exact) == "1 cards where the exact ranking has 2"


def test_the_benchmark_moment_is_now() -> None:
    """Needs close a month from the run, so none is over when it is timed."""
    before = datetime.now(UTC).date()
    bench("--volunteers", "300", "--needs", "2", "--baseline-needs", "0", "--keep")
    closes = set(
        Need.objects.filter(title__startswith=BENCH_TITLE).values_list("closes_on", flat=True)
    )
    assert len(closes) == 1 and (closes.pop() - before).days in (29, 30, 31)
