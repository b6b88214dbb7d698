"""`handsup bench import|…`: the benchmarks of QUALITY.md, on the configured database.

Each benchmark is a subcommand with its own options; all print a readable table, or
with `--json` one JSON object with a `results` list and the machine. Add one by writing
an `add_*_arguments` and a `run_*` below and listing it in `BENCHMARKS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from handsup.core.benchmarks import steps_to

Runner = Callable[[dict[str, Any]], dict[str, Any]]


def add_import_arguments(parser: CommandParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="Rows in the file (100000).")
    parser.add_argument(
        "--baseline-rows",
        type=int,
        default=None,
        help="Rows for the per-row .save() baseline (default: 5000 or --rows if fewer); "
        "its time is also scaled to --rows, and labelled so.",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", action="store_true", help="Keep the imported rows instead of removing them."
    )


def run_import(options: dict[str, Any]) -> dict[str, Any]:
    from handsup.imports.bench import run_import_bench

    if options["rows"] < 1:
        raise CommandError("--rows must be at least 1.")
    baseline_rows = options["baseline_rows"] or min(options["rows"], 5_000)
    report = run_import_bench(
        rows=options["rows"],
        baseline_rows=baseline_rows,
        seed=options["seed"],
        keep=options["keep"],
    )
    return report.as_json()


def add_messaging_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--recipients", type=int, default=500_000, help="Members the update goes to (500000)."
    )
    parser.add_argument(
        "--baseline-recipients",
        type=int,
        default=None,
        help="Recipients for the per-row loop baseline (default: 5000 or --recipients if "
        "fewer); its time is also scaled to --recipients, and labelled so.",
    )
    parser.add_argument(
        "--delivery-recipients",
        type=int,
        default=None,
        help="Q2: messages delivered to a local SMTP server, ours (1 worker, and 2 on "
        "PostgreSQL) and Django's send_mass_mail (default: --recipients, at most 20000; "
        "0 skips it).",
    )


def run_messaging(options: dict[str, Any]) -> dict[str, Any]:
    from handsup.messaging.bench import messaging_report

    if options["recipients"] < 1:
        raise CommandError("--recipients must be at least 1.")
    if (options["delivery_recipients"] or 0) < 0:
        raise CommandError("--delivery-recipients must be 0 or more.")
    return messaging_report(
        options["recipients"],
        options["baseline_recipients"],
        delivery_recipients=options["delivery_recipients"],
    )


def add_matching_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--volunteers",
        type=int,
        default=1_000_000,
        help="Seeded volunteers (1000000); those already seeded with --seed are reused.",
    )
    parser.add_argument(
        "--needs",
        type=int,
        default=1_000,
        help="Needs timed on the index, half in person and half remote (1000).",
    )
    parser.add_argument(
        "--baseline-needs",
        type=int,
        default=None,
        help="Needs timed with the ORM baseline, half of each kind (default: 50, or "
        "--needs if fewer); each is also compared with the index's answer.",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="The seed of `handsup seed` (0, as its default)."
    )
    parser.add_argument(
        "--keep", action="store_true", help="Keep the benchmark's needs instead of removing them."
    )
    parser.add_argument(
        "--open-needs",
        type=int,
        default=0,
        help='M4: open needs to make for "needs for me" from the open-needs index (0: skip).',
    )
    parser.add_argument(
        "--for-me-people",
        type=int,
        default=200,
        help='M4: volunteers whose "needs for me" are timed on the index (200).',
    )
    parser.add_argument(
        "--for-me-baseline-people",
        type=int,
        default=5,
        help="M4: of those, how many the database path times and compares (5).",
    )


def run_matching(options: dict[str, Any]) -> dict[str, Any]:
    from handsup.needs.bench import matching_report

    if options["volunteers"] < 1:
        raise CommandError("--volunteers must be at least 1.")
    if options["needs"] < 1:
        raise CommandError("--needs must be at least 1.")
    if options["baseline_needs"] is not None and options["baseline_needs"] < 0:
        raise CommandError("--baseline-needs must be 0 or more.")
    if options["seed"] < 0:
        raise CommandError("--seed must be zero or more.")
    if min(options["open_needs"], options["for_me_people"], options["for_me_baseline_people"]) < 0:
        raise CommandError(
            "--open-needs, --for-me-people and --for-me-baseline-people must be 0 or more."
        )
    return matching_report(
        volunteers=options["volunteers"],
        needs=options["needs"],
        baseline_needs=options["baseline_needs"],
        seed=options["seed"],
        keep=options["keep"],
        open_needs=options["open_needs"],
        for_me_people=options["for_me_people"],
        for_me_baseline_people=options["for_me_baseline_people"],
    )


def add_web_arguments(parser: CommandParser) -> None:
    from handsup.needs.bench_web import add_web_arguments as add

    add(parser)


def run_web(options: dict[str, Any]) -> dict[str, Any]:
    from handsup.needs.bench_web import run_web as run

    return run(options)


BENCHMARKS: dict[str, tuple[str, Callable[[CommandParser], None], Runner]] = {
    "import": ("I1: import a CSV of volunteers", add_import_arguments, run_import),
    "messaging": (
        "Q1: pace and queue one group update to N people; Q2: deliver it over SMTP",
        add_messaging_arguments,
        run_messaging,
    ),
    "matching": (
        "M1, M2: the top-50 shortlist for a need, from the index and from the ORM",
        add_matching_arguments,
        run_matching,
    ),
    "web": (
        "W1: the needs-for-me page under load (wrk), index on and off",
        add_web_arguments,
        run_web,
    ),
}


class Command(BaseCommand):
    help = "Run a benchmark of QUALITY.md on the configured database."

    def add_arguments(self, parser: CommandParser) -> None:
        benchmarks = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
        for name, (summary, add_arguments, _run) in BENCHMARKS.items():
            sub = benchmarks.add_parser(name, help=summary)
            sub.add_argument("--json", action="store_true", help="Print one JSON object.")
            sub.add_argument(
                "--quiet",
                action="store_true",
                help="Don't say on stderr what the benchmark is doing as it goes.",
            )
            add_arguments(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        _summary, _add, run = BENCHMARKS[options["benchmark"]]
        if options["quiet"]:
            result = run(options)
        else:
            with steps_to(self.stderr):
                result = run(options)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(format_table(result))


def format_table(result: dict[str, Any]) -> str:
    rows = [("path", "baseline", "rows", "seconds", "rows/s", "note")]
    for item in result["results"]:
        note = ""
        if "scaled_seconds" in item:
            note = f"≈ {item['scaled_seconds']:,} s for {item['scaled_to_rows']:,} rows (scaled)"
        elif "rows_written" in item:
            note = f"{item['rows_written']:,} rows written"
        rows.append(
            (
                item["name"],
                "yes" if item["baseline"] else "no",
                f"{item['rows']:,}",
                f"{item['seconds']:.2f}",
                f"{item['per_s']:,.0f}",
                note,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    machine = result["machine"]
    lines.append("")
    lines.append(
        f"{machine['database_version']}, Python {machine['python']}, {machine['cores']} cores"
    )
    target = result.get("target_seconds_per_100k")
    if target:
        lines.append(f"Target ({result.get('figure')}): ≤ {target:g} s per 100,000 rows.")
    lines += result.get("notes", [])
    return "\n".join(lines)
