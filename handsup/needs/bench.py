"""Benchmarks M1 and M2 (QUALITY.md): the top-50 shortlist for one need from the
in-process matching index, against the straightforward ORM path, in the same run.

`handsup bench matching --volunteers N --needs K [--baseline-needs B] [--seed S]
[--keep] [--json]` (`matching_report`):

* The people: the synthetic movement of `handsup seed --volunteers N --seed S`. When
  the database already holds at least N people seeded with S they are reused (seeding a
  million takes minutes), and the report says so; otherwise any earlier seed is replaced
  (`seed --reset`) and the seeding time is reported.
* The needs: K open needs posted by seeded constituency parties and branches, half on
  site at a seeded person's postcode within 5–25 km asking for a skill drawn as often
  as people hold it, half remote asking for a skill drawn as often as people can do it
  remotely; set times in the next fortnight or weekly slots, sometimes a second,
  nice-to-have skill. They are ordinary `Need` rows written in bulk, and are removed at
  the end unless `--keep`.
* Timed, each after a warm-up, in one run: building `MatchingIndex` (once, with its
  size in memory), then `index.shortlist(need, limit=50)` for every need, in person and
  remote reported apart; and the baseline, `matching.shortlist(need, limit=50)` as the
  shortlist page runs it today, on the first B needs of each kind's half. Every need
  the baseline ran on is compared card by card with the index's answer: the two must
  be identical, and any difference is listed, never smoothed over.
"""

from __future__ import annotations

import base64
import dataclasses
import gc
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from handsup.core.benchmarks import machine, step, tidy_tables
from handsup.core.seeding import SeedContext, reset_seed, run_seed
from handsup.groups.models import Group
from handsup.needs import matching
from handsup.needs.index import MatchingIndex
from handsup.needs.matching import Card
from handsup.needs.models import ALL_WEEKLY_SLOTS, Need, NeedSkill, NeedWindow
from handsup.people.models import Person, PersonSkill
from handsup.people.names import FIRST_NAMES, SURNAMES
from handsup.people.seeding import JOINED_WITHIN_SECONDS, PUBLIC_ID_BYTES
from handsup.places.models import Postcode

SHORTLIST_LIMIT = 50
BENCH_TITLE = "Matching benchmark"
BENCH_GROUP_SLUG = "matching-benchmark"
# The figures' targets for the index path, p95 in milliseconds.
TARGET_P95_MS = {"in_person": 5.0, "remote": 10.0}
FIGURES = {"in_person": "M1", "remote": "M2"}
LOCATIONS = {"in_person": "in person", "remote": "remote"}
# Calls made before timing starts, per path: first calls pay for imports, query
# compilation and cold caches, which no long-running process pays again.
INDEX_WARMUP = 20
BASELINE_WARMUP = 1
RADIUS_KM = (5, 25)
POSTED_BEFORE = timedelta(hours=1)
P_ONGOING = 0.3
P_SECOND_SKILL = 0.35
PEOPLE_NEEDED = (1, 2, 3, 5, 10)
DIFFERENCES_LISTED = 20
# QUALITY.md's percentiles are over at least this many samples.
RELIABLE_SAMPLES = 1_000


# --- The people -------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    volunteers: int
    seed: int
    reused: bool
    seconds: float  # seeding time; 0 when reused
    steps: list[str]


def seeded_with(seed: int) -> int:
    """How many seeded people the database holds, if `handsup seed --seed <seed>` made
    them; 0 if none, or another seed did.

    The people step draws every account's public id from the seed's stream after the
    postcodes, names and join dates of everyone; the first person's is drawn again here
    the same way and compared with what is stored. Should the people step ever draw in
    another order, this answers 0 and the benchmark seeds afresh: slower, never wrong
    (`test_people_seeded_with_the_same_seed_are_reused` notices).
    """
    people = Person.objects.filter(seeded=True)
    stored = people.order_by("pk").values_list("user__public_id", flat=True).first()
    if stored is None:
        return 0
    count = people.count()
    located = Postcode.objects.filter(eastings__isnull=False, northings__isnull=False).count()
    rng = SeedContext(seed=seed, volunteers=count).rng("people")
    rng.integers(0, max(located, 1), size=count)
    rng.integers(0, len(FIRST_NAMES), size=count)
    rng.integers(0, len(SURNAMES), size=count)
    rng.integers(0, JOINED_WITHIN_SECONDS, size=count)
    first = rng.bytes(PUBLIC_ID_BYTES * count)[:PUBLIC_ID_BYTES]
    return count if base64.urlsafe_b64encode(first).decode("ascii") == stored else 0


def ensure_movement(volunteers: int, seed: int) -> Movement:
    """At least `volunteers` people seeded with `seed`: the ones already there, or a
    fresh seed (replacing any other)."""
    held = seeded_with(seed)
    if held >= volunteers:
        return Movement(volunteers=held, seed=seed, reused=True, seconds=0.0, steps=[])
    context = SeedContext(seed=seed, volunteers=volunteers, show_progress=False)
    started = time.perf_counter()
    reset_seed(context)
    reports = run_seed(context)
    return Movement(
        volunteers=volunteers,
        seed=seed,
        reused=False,
        seconds=time.perf_counter() - started,
        steps=[f"{report.name}: {report.summary} ({report.seconds:.1f} s)" for report in reports],
    )


# --- The needs --------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchNeed:
    pk: int
    location: str  # "in_person" or "remote"


def _skill_weights(*, remote: bool) -> tuple[Any, Any]:
    """Skill ids and how many seeded people hold each (remotely, if asked)."""
    rows = PersonSkill.objects.filter(person__seeded=True)
    if remote:
        rows = rows.filter(remote=True)
    counted = list(
        rows.values_list("skill_id")
        .annotate(n=Count("pk"))
        .order_by("skill_id")
        .values_list("skill_id", "n")
    )
    if not counted:
        raise RuntimeError(
            "No seeded person holds a skill" + (" remotely" if remote else "") + ": the "
            "benchmark needs the seed's talent step."
        )
    ids, counts = zip(*counted, strict=True)
    weights = np.asarray(counts, dtype=np.float64)
    return np.asarray(ids, dtype=np.int64), weights / weights.sum()


def _places(rng: np.random.Generator, count: int) -> list[tuple[str, str, int, int]]:
    """(postcode, district, eastings, northings) of `count` seeded people drawn at random
    (with replacement), so needs are where people live."""
    bounds = Person.objects.filter(seeded=True).aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        raise RuntimeError("No seeded people: the benchmark needs `handsup seed`.")
    found: list[tuple[str, str, int, int]] = []
    for _attempt in range(20):
        drawn = rng.integers(bounds["low"], bounds["high"] + 1, size=2 * count + 10).tolist()
        rows = Person.objects.filter(
            pk__in=drawn, seeded=True, eastings__isnull=False, northings__isnull=False
        ).exclude(district="")
        by_pk: dict[int, tuple[str, str, int, int]] = {}
        for pk, postcode, district, eastings, northings in rows.values_list(
            "pk", "postcode", "district", "eastings", "northings"
        ):
            if eastings is not None and northings is not None:
                by_pk[pk] = (postcode or district, district, eastings, northings)
        found += [by_pk[pk] for pk in drawn if pk in by_pk]
        if len(found) >= count:
            return found[:count]
    raise RuntimeError("Too few seeded people have a place to put needs at.")


def _hosts() -> tuple[list[int], Group | None]:
    """Seeded groups that post needs (constituency parties and branches), or one made for
    the benchmark when a small seed has none."""
    hosts = list(
        Group.objects.filter(
            seeded=True,
            status=Group.Status.ACTIVE,
            kind__in=[Group.Kind.CONSTITUENCY, Group.Kind.BRANCH],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if hosts:
        return hosts, None
    made, _created = Group.objects.get_or_create(
        slug=BENCH_GROUP_SLUG, defaults={"name": BENCH_TITLE, "kind": Group.Kind.CAMPAIGN}
    )
    return [made.pk], made


def make_needs(count: int, *, seed: int, now: datetime) -> tuple[list[BenchNeed], Group | None]:
    """`count` open needs, alternately in person and remote (see the module's docstring),
    and the group made to post them if there was no seeded one."""
    rng = SeedContext(seed=seed, volunteers=count).rng("bench-matching")
    in_person = (count + 1) // 2
    places = _places(rng, in_person) if in_person else []
    skills = {remote: _skill_weights(remote=remote) for remote in (False, True)}
    hosts, made = _hosts()
    today = timezone.localdate(now)
    needs: list[Need] = []
    wanted: list[list[tuple[int, int, bool]]] = []
    windows: list[list[tuple[datetime, datetime]]] = []
    for index in range(count):
        remote = index % 2 == 1
        ongoing = bool(rng.random() < P_ONGOING)
        ids, weights = skills[remote]
        first = int(rng.choice(ids, p=weights))
        chosen = [(first, int(rng.integers(1, 3)), True)]
        if rng.random() < P_SECOND_SKILL:
            second = int(rng.choice(ids, p=weights))
            if second != first:
                chosen.append((second, 1, False))
        times: list[tuple[datetime, datetime]] = []
        if not ongoing:
            for day in sorted({int(day) for day in rng.integers(1, 15, size=rng.integers(1, 4))}):
                hour = int(rng.choice([10, 14, 18]))
                start = datetime.combine(today + timedelta(days=day), time_of_day(hour), UTC)
                times.append((start, start + timedelta(hours=int(rng.integers(2, 5)))))
        postcode, district, eastings, northings = ("", "", None, None)
        if not remote:
            postcode, district, eastings, northings = places[index // 2]
        needs.append(
            Need(
                group_id=hosts[int(rng.integers(len(hosts)))],
                title=f"{BENCH_TITLE} {index + 1}",
                description="A need made and timed by `handsup bench matching`.",
                location_kind=Need.LocationKind.REMOTE if remote else Need.LocationKind.ON_SITE,
                postcode=postcode,
                district=district,
                eastings=eastings,
                northings=northings,
                radius_km=None if remote else int(rng.integers(RADIUS_KM[0], RADIUS_KM[1] + 1)),
                schedule_kind=Need.ScheduleKind.ONGOING if ongoing else Need.ScheduleKind.WINDOWS,
                weekly_slots=int(rng.integers(1, ALL_WEEKLY_SLOTS + 1)) if ongoing else 0,
                hours=Decimal("3.0"),
                people_needed=int(PEOPLE_NEEDED[int(rng.integers(len(PEOPLE_NEEDED)))]),
                closes_on=today + timedelta(days=30),
                visibility=Need.Visibility.MOVEMENT,
                status=Need.Status.OPEN,
            )
        )
        wanted.append(chosen)
        windows.append(times)
    with transaction.atomic():
        created = Need.objects.bulk_create(needs)
        NeedSkill.objects.bulk_create(
            NeedSkill(need=need, skill_id=skill, min_level=level, required=required)
            for need, skills_wanted in zip(created, wanted, strict=True)
            for skill, level, required in skills_wanted
        )
        NeedWindow.objects.bulk_create(
            NeedWindow(need=need, starts_at=start, ends_at=end)
            for need, need_times in zip(created, windows, strict=True)
            for start, end in need_times
        )
        # Posted over the past hours, as real needs are, not all in the last minute: the
        # open-needs index reads every need changed within its look-back at each refresh.
        pks = [need.pk for need in created]
        for chunk in range(0, len(pks), 10_000):
            Need.objects.filter(pk__in=pks[chunk : chunk + 10_000]).update(
                created_at=now - POSTED_BEFORE, updated_at=now - POSTED_BEFORE
            )
    # Without fresh statistics the planner guesses a handful of open needs and the
    # pages' queries read the whole table.
    tidy_tables(NEEDS_TABLES, vacuum=False)
    return [
        BenchNeed(pk=need.pk, location="remote" if index % 2 else "in_person")
        for index, need in enumerate(created)
    ], made


NEEDS_TABLES = (Need, NeedSkill, NeedWindow)


def remove_needs(needs: Sequence[BenchNeed], made: Group | None) -> None:
    with transaction.atomic():
        Need.objects.filter(pk__in=[need.pk for need in needs]).delete()
        if made is not None:
            made.delete()
    tidy_tables(NEEDS_TABLES, vacuum=True)


# --- Timing -----------------------------------------------------------------------------

Shortlister = Callable[[Need], list[Card]]


def _fresh(pks: Sequence[int]) -> list[Need]:
    """The needs as a view would have them: loaded anew with their group, nothing else
    fetched, so every path pays for reading the need's skills and times itself."""
    by_pk = Need.objects.select_related("group").in_bulk(list(pks))
    return [by_pk[pk] for pk in pks]


@dataclass
class Timing:
    samples_ms: list[float]  # one per need, in the order given
    answers: dict[int, list[Card]]  # need pk -> what the call returned
    queries_per_call: float | None  # over the warm-up calls (None without any)


def time_shortlists(shortlist: Shortlister, pks: Sequence[int], *, warmup: int) -> Timing:
    """Time one call per need, after `warmup` untimed calls on the first needs (which
    also count the queries a call makes, kept out of the timed calls)."""
    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    warm = _fresh(list(pks[:warmup]))
    with connection.execute_wrapper(count):
        for need in warm:
            shortlist(need)
    timing = Timing([], {}, round(queries / len(warm), 1) if warm else None)
    gc.collect()
    for need in _fresh(pks):
        started = time.perf_counter_ns()
        timing.answers[need.pk] = shortlist(need)
        timing.samples_ms.append((time.perf_counter_ns() - started) / 1e6)
    return timing


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 (numpy's linear interpolation between samples), in ms."""
    if not samples_ms:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    p50, p95, p99 = np.percentile(np.asarray(samples_ms, dtype=np.float64), [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
    }


def card_difference(ours: list[Card], exact: list[Card]) -> str | None:
    """None when the two shortlists are identical (same people, same order, same cards),
    else where they first differ."""
    if ours == exact:
        return None
    for position, (mine, theirs) in enumerate(zip(ours, exact, strict=False), start=1):
        if mine == theirs:
            continue
        if mine.user_id != theirs.user_id:
            return (
                f"position {position}: user {mine.user_id} (score {mine.score.total:.9f}) "
                f"where the exact ranking has user {theirs.user_id} "
                f"(score {theirs.score.total:.9f})"
            )
        fields = [
            item.name
            for item in dataclasses.fields(Card)
            if getattr(mine, item.name) != getattr(theirs, item.name)
        ]
        return f"position {position}: the same person, but the card differs in {', '.join(fields)}"
    return f"{len(ours)} cards where the exact ranking has {len(exact)}"


# --- The report -------------------------------------------------------------------------


def _latency_result(
    name: str,
    *,
    baseline: bool,
    location: str,
    timing: Timing,
    volunteers: int | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    samples = timing.samples_ms
    seconds = sum(samples) / 1000
    return {
        "name": name,
        "baseline": baseline,
        "database": connection.vendor,
        "location": location,
        "volunteers": volunteers,
        "needs": len(samples),
        # `rows`, `seconds` and `per_s` are the columns the command's table prints for
        # every benchmark: needs timed, the time they took in all, needs a second.
        "rows": len(samples),
        "seconds": round(seconds, 3),
        "per_s": round(len(samples) / seconds, 1) if seconds else 0.0,
        **percentiles(samples),
        "queries_per_call": timing.queries_per_call,
        # How full the shortlists were: a path that finds nobody is fast for no credit.
        "cards_mean": round(sum(map(len, timing.answers.values())) / len(samples), 1)
        if samples
        else 0.0,
        **extra,
    }


@dataclass
class Comparison:
    """The index's answers against the exact ranking's, need by need."""

    compared: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOCATIONS, 0))
    identical: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOCATIONS, 0))
    differences: list[dict[str, Any]] = field(default_factory=list)

    def add(self, location: str, need_pk: int, ours: list[Card], exact: list[Card]) -> None:
        self.compared[location] += 1
        difference = card_difference(ours, exact)
        if difference is None:
            self.identical[location] += 1
        elif len(self.differences) < DIFFERENCES_LISTED:
            self.differences.append(
                {"need": need_pk, "location": location, "difference": difference}
            )

    def as_json(self) -> dict[str, Any]:
        return {
            "compared": sum(self.compared.values()),
            "identical": sum(self.identical.values()),
            "by_location": {
                location: {
                    "compared": self.compared[location],
                    "identical": self.identical[location],
                }
                for location in LOCATIONS
            },
            # At most DIFFERENCES_LISTED of them; `compared - identical` counts them all.
            "differences": self.differences,
        }


def _build_index(volunteers: int) -> tuple[MatchingIndex, dict[str, Any]]:
    gc.collect()
    started = time.perf_counter()
    index = MatchingIndex.build()
    seconds = time.perf_counter() - started
    return index, {
        "name": "index build (MatchingIndex.build)",
        "baseline": False,
        "database": connection.vendor,
        "volunteers": volunteers,
        "rows": index.size,
        "seconds": round(seconds, 3),
        "per_s": round(index.size / seconds, 1) if seconds else 0.0,
        "size": index.size,
        "nbytes": index.nbytes,
    }


def _ratio(baseline: Timing, ours: Timing) -> dict[str, float] | None:
    """How many times slower the baseline is, at each percentile."""
    if not baseline.samples_ms or not ours.samples_ms:
        return None
    base, mine = percentiles(baseline.samples_ms), percentiles(ours.samples_ms)
    if not mine["p50_ms"]:
        return None
    return {key: round(base[f"{key}_ms"] / mine[f"{key}_ms"], 1) for key in ("p50", "p95", "p99")}


def matching_report(
    *,
    volunteers: int,
    needs: int,
    baseline_needs: int | None = None,
    seed: int = 0,
    keep: bool = False,
    open_needs: int = 0,
    for_me_people: int = 200,
    for_me_baseline_people: int = 5,
) -> dict[str, Any]:
    """`handsup bench matching`: the results with the machine, in the QUALITY.md shape;
    with `open_needs`, M4 too (`bench_for_me`)."""
    if volunteers < 1 or needs < 1:
        raise ValueError("The benchmark needs at least one volunteer and one need.")
    baseline_count = min(needs, SHORTLIST_LIMIT if baseline_needs is None else baseline_needs)
    step(f"Seeding {volunteers:,} volunteers, unless seed {seed} already has them")
    movement = ensure_movement(volunteers, seed)
    now = timezone.now()
    step(f"Making {needs:,} needs")
    made_started = time.perf_counter()
    bench_needs, made_group = make_needs(needs, seed=seed, now=now)
    made_seconds = time.perf_counter() - made_started
    pks = {
        location: [need.pk for need in bench_needs if need.location == location]
        for location in LOCATIONS
    }
    # The baseline's needs: the first of each kind, half and half (in person first).
    baseline_pks = {
        "in_person": pks["in_person"][: (baseline_count + 1) // 2],
        "remote": pks["remote"][: baseline_count // 2],
    }
    try:
        step("Building the matching index")
        index, build_result = _build_index(movement.volunteers)

        def from_index(need: Need) -> list[Card]:
            return index.shortlist(need, now=now, limit=SHORTLIST_LIMIT)

        def from_database(need: Need) -> list[Card]:
            return matching.shortlist(need, now=now, limit=SHORTLIST_LIMIT)

        step("M1, M2: timing shortlists from the index")
        ours = {
            location: time_shortlists(from_index, pks[location], warmup=INDEX_WARMUP)
            for location in LOCATIONS
        }
        step(f"M1, M2: timing {baseline_count:,} shortlists from the ORM (the baseline)")
        exact = {
            location: time_shortlists(from_database, baseline_pks[location], warmup=BASELINE_WARMUP)
            for location in LOCATIONS
        }
        from handsup.needs.bench_db_path import db_path_report

        # M3: the database-only path on the same needs, overlap against the baseline's
        # exact answers.
        step("M3: timing the database-only path")
        db_report = db_path_report(
            pks,
            {pk: cards for timing in exact.values() for pk, cards in timing.answers.items()},
            now,
            volunteers=movement.volunteers,
        )
    finally:
        if not keep:
            remove_needs(bench_needs, made_group)
    for_me = None
    if open_needs:
        from handsup.needs.bench_for_me import for_me_report

        step(f"M4: making {open_needs:,} open needs and timing needs for me")
        many, many_group = make_needs(open_needs, seed=seed, now=now)
        try:
            for_me = for_me_report(
                open_needs=open_needs,
                people=for_me_people,
                baseline_people=for_me_baseline_people,
                seed=seed,
                now=now,
            )
        finally:
            if not keep:
                remove_needs(many, many_group)
    comparison = Comparison()
    for location in LOCATIONS:
        for pk in baseline_pks[location]:
            comparison.add(location, pk, ours[location].answers[pk], exact[location].answers[pk])
    ratios = {location: _ratio(exact[location], ours[location]) for location in LOCATIONS}
    results = [build_result]
    for location, label in LOCATIONS.items():
        results.append(
            _latency_result(
                f"index shortlist, {label} ({FIGURES[location]})",
                baseline=False,
                location=location,
                timing=ours[location],
                volunteers=movement.volunteers,
                extra={
                    "figure": FIGURES[location],
                    "target_p95_ms": TARGET_P95_MS[location],
                    "compared_with_baseline": comparison.compared[location],
                    "identical_to_baseline": comparison.identical[location],
                    "baseline_ratio": ratios[location],
                },
            )
        )
        if exact[location].samples_ms:
            results.append(
                _latency_result(
                    f"ORM shortlist (matching.shortlist), {label}",
                    baseline=True,
                    location=location,
                    timing=exact[location],
                    volunteers=movement.volunteers,
                    extra={},
                )
            )
    notes = _summary_lines(results, movement, comparison)
    results += db_report["results"]
    notes += db_report["notes"]
    if for_me is not None:
        from handsup.needs.bench_for_me import for_me_lines

        notes += for_me_lines(for_me)
    if keep:
        notes.append(f"The {needs:,} benchmark needs were kept (--keep): titled {BENCH_TITLE!r}.")
    return {
        "benchmark": "matching",
        "figures": ["M1", "M2", "M3"] + (["M4"] if for_me else []),
        "volunteers": movement.volunteers,
        "needs": needs,
        "baseline_needs": sum(len(chosen) for chosen in baseline_pks.values()),
        "shortlist_limit": SHORTLIST_LIMIT,
        "data": {
            "seed": movement.seed,
            "reused_seed": movement.reused,
            "seed_seconds": round(movement.seconds, 3),
            "seed_steps": movement.steps,
            "needs_seconds": round(made_seconds, 3),
            "needs_kept": keep,
        },
        "equality": comparison.as_json(),
        "ratios": ratios,
        "results": results,
        "needs_for_me": for_me,
        "db_path_overlap": db_report["overlap"],
        "machine": machine(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "notes": notes,
    }


def _summary_lines(
    results: list[dict[str, Any]], movement: Movement, comparison: Comparison
) -> list[str]:
    """What the command's table can't show: percentiles, targets, equality, the data."""
    lines = []
    if movement.reused:
        lines.append(
            f"Reused the {movement.volunteers:,} volunteers already seeded with seed "
            f"{movement.seed}."
        )
    else:
        lines.append(
            f"Seeded {movement.volunteers:,} volunteers (seed {movement.seed}) in "
            f"{movement.seconds:.1f} s."
        )
    for result in results:
        if "p50_ms" not in result:
            lines.append(
                f"{result['name']}: {result['seconds']:.2f} s for {result['size']:,} people, "
                f"{result['nbytes'] / 1e6:,.1f} MB of arrays."
            )
            continue
        line = (
            f"{result['name']}: p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms, "
            f"p99 {result['p99_ms']:.2f} ms over {result['needs']:,} needs"
        )
        if result["queries_per_call"] is not None:
            line += f", {result['queries_per_call']:g} queries a call"
        line += f", {result['cards_mean']:g} cards a need"
        if "target_p95_ms" in result:
            line += f" (target p95 ≤ {result['target_p95_ms']:g} ms)"
        lines.append(line + ".")
    for location, label in LOCATIONS.items():
        if comparison.compared[location]:
            lines.append(
                f"Top {SHORTLIST_LIMIT}, {label}: the index's equals the baseline's for "
                f"{comparison.identical[location]} of {comparison.compared[location]} needs."
            )
    lines += [
        f"Differs on need {item['need']}: {item['difference']}" for item in comparison.differences
    ]
    fewest = min(
        result["needs"] for result in results if "needs" in result and not result["baseline"]
    )
    if fewest < RELIABLE_SAMPLES:
        lines.append(
            f"Fewer than {RELIABLE_SAMPLES:,} samples per index path ({fewest:,}): "
            "QUALITY.md asks for at least that many (--needs 2000 gives them)."
        )
    lines.append("Load average: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()) + ".")
    return lines
