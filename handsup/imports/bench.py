"""Benchmark I1 (QUALITY.md): import N rows set-based, against a per-row `.save()` loop.

`handsup bench import --rows 100000 [--json]` builds its own throwaway group and
organiser, writes a CSV of realistic rows (real postcodes from the loaded places tables,
a few bad emails and in-file duplicates, as real lists have), and times on the
configured database:

* ours, first import: every row new (validate, dedupe, insert, consents, memberships);
* ours, the same file again: every row one of the group's own records, so updated;
* writes alone: ours' writing statements by themselves, for a file like the first
  (already read, checked and classified, untimed), once with the database's
  foreign-key checks and once without, rolled back: the least any import that keeps
  these rows, with these keys and indexes, must spend on this database;
* the baseline: the obvious per-row loop (`geocode` per postcode, `.save()` per row),
  on fewer rows when asked (`--baseline-rows`), its time scaled to N and labelled so.

Everything it made is deleted at the end, set-based.
"""

from __future__ import annotations

import csv
import itertools
import random
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from handsup.accounts.models import User
from handsup.core.benchmarks import machine, step, tidy_tables
from handsup.groups.models import Group, Membership
from handsup.imports.actions import do_create_command_line_import, do_run_import
from handsup.imports.engine import BATCH_ROWS, bigger_sqlite_cache, consents_for
from handsup.imports.loading import NEW, LoadPlan, Staging
from handsup.imports.models import ImportedPerson, ImportJob
from handsup.imports.reading import FileFormat, read_rows
from handsup.imports.validation import PlaceBook, RowChecker
from handsup.people.models import Person, Profile
from handsup.people.names import FIRST_NAMES, SURNAMES
from handsup.places.geo import geocode
from handsup.places.models import Postcode
from handsup.places.postcodes import PlaceError
from handsup.privacy.models import AuditEntry, ConsentEvent, PrivacyNotice, Purpose
from handsup.privacy.register import PurposeCode

BENCH_EMAIL_DOMAIN = "bench.handsup.invalid"
# I1's targets, in seconds for 100k rows.
TARGET_SECONDS = {"postgresql": 5.0, "sqlite": 8.0}


@dataclass
class BenchResult:
    name: str
    baseline: bool
    rows: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class BenchReport:
    rows: int
    results: list[BenchResult]
    notes: list[str]

    def as_json(self) -> dict[str, Any]:
        database = connection.vendor
        return {
            "benchmark": "import",
            "figure": "I1",
            "target_seconds_per_100k": TARGET_SECONDS.get(database),
            "results": [
                {
                    "name": result.name,
                    "baseline": result.baseline,
                    "database": database,
                    "rows": result.rows,
                    "seconds": round(result.seconds, 3),
                    "per_s": round(result.per_s, 1),
                    **result.extra,
                }
                for result in self.results
            ],
            "machine": machine(),
            "notes": self.notes,
        }


def sample_postcodes(count: int = 5_000, seed: int = 1) -> list[str]:
    """Located postcodes spread over the loaded areas (empty when none are loaded)."""
    total = Postcode.objects.filter(eastings__isnull=False).count()
    if not total:
        return []
    rng = random.Random(seed)
    codes: list[str] = []
    step = max(total // 10, 1)
    for start in range(0, total, step):
        offset = min(start + rng.randrange(step), max(total - count // 10, 0))
        codes += (
            Postcode.objects.filter(eastings__isnull=False)
            .order_by("code")
            .values_list("code", flat=True)[offset : offset + count // 10]
        )
    return codes


def write_bench_csv(
    path: Path, rows: int, postcodes: list[str], *, seed: int = 1, tag: str = "a"
) -> None:
    """Rows as an organiser's spreadsheet has them: mostly good, a few bad or repeated."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["First name", "Surname", "Email", "Postcode", "Mobile", "Skills"])
        previous = ""
        for index in range(rows):
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            email = _ascii(f"{first}.{last}.{tag}{index}@{BENCH_EMAIL_DOMAIN}".lower())
            roll = rng.random()
            if roll < 0.01:
                email = email.replace("@", " at ")  # a typo the checks catch
            elif roll < 0.02 and previous:
                email = previous  # the same person twice in one list
            elif roll < 0.03:
                email = ""
            place = ""
            if postcodes:
                kind = rng.random()
                if kind < 0.85:
                    place = rng.choice(postcodes)
                elif kind < 0.90:
                    place = rng.choice(postcodes).split(" ")[0]
            phone = f"07700 9{rng.randrange(100_000):05d}" if rng.random() < 0.6 else ""
            skills = rng.choice(["", "", "leafleting", "driving, Welsh", "web design"])
            writer.writerow([first, last, email, place, phone, skills])
            previous = email


def _ascii(text: str) -> str:
    """Zoë's address is usually zoe@: mailbox names are ASCII in practice."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _queued_job(source: BinaryIO, *, actor: User, group: Group) -> ImportJob:
    return do_create_command_line_import(
        actor=actor,
        group=group,
        source=source,
        lawful_basis=ImportJob.LawfulBasis.CONSENT_PAPER,
        dry_run=False,
    )


def run_ours(path: Path, *, actor: User, group: Group, label: str) -> BenchResult:
    started = time.perf_counter()
    with path.open("rb") as source:
        job = _queued_job(source, actor=actor, group=group)
        outcome = do_run_import(job=job, source=source, report_path=path.with_suffix(".rej"))
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    if outcome is None or job.status != ImportJob.Status.DONE:
        raise RuntimeError(f"The benchmark import did not finish: {job.status} {job.failure}")
    return BenchResult(
        name=label,
        baseline=False,
        rows=outcome.rows,
        seconds=seconds,
        extra={
            "created": outcome.created,
            "updated": outcome.updated,
            "rejected": outcome.rejected,
            "duplicates": outcome.duplicates,
            "phase_seconds": {k: round(v, 2) for k, v in outcome.seconds.items()},
        },
    )


def rows_in_touched_tables() -> int:
    return sum(model.objects.count() for model in TOUCHED_TABLES)


def run_writes_alone(path: Path, *, actor: User, group: Group) -> list[BenchResult]:
    """Time only the writing: ours' load statements (`Staging.load`) for rows already
    read, checked, staged and classified (all that untimed), with the engine's settings.

    Twice, each rolled back: with the database's foreign-key checks, which PostgreSQL
    otherwise runs at the commit (so they are made immediate here, or the rollback would
    skip them), and without them (PostgreSQL: left deferred, so the rollback skips them;
    SQLite: `foreign_keys` off, which it can only be outside a transaction). Between
    the two, the tables are vacuumed, so the second doesn't wade through the first's
    dead rows.
    """
    with path.open("rb") as source:
        job = _queued_job(source, actor=actor, group=group)
        file_format = FileFormat(
            encoding=job.encoding, delimiter=job.delimiter or ",", header=list(job.columns)
        )
        checker = RowChecker(file_format.header, list(job.mapping), PlaceBook())
        staging = Staging(connection, job.pk)
        results: list[BenchResult] = []
        with bigger_sqlite_cache(connection):
            staging.create()
            try:
                for batch in itertools.batched(read_rows(source, file_format), BATCH_ROWS):
                    staging.add(checker.check(batch)[0])
                staging.finish_loading()
                plan = LoadPlan(
                    group_id=group.pk,
                    job_id=job.pk,
                    recorded_by_id=actor.pk,
                    notice_id=getattr(PrivacyNotice.objects.current(), "pk", None),
                    consents=consents_for(job),
                    now=timezone.now(),
                )
                for key_checks in (False, True):
                    results.append(_time_the_writes(staging, plan, key_checks=key_checks))
                    tidy_tables(TOUCHED_TABLES, vacuum=True)
            finally:
                staging.drop()
    return results


def _time_the_writes(staging: Staging, plan: LoadPlan, *, key_checks: bool) -> BenchResult:
    postgresql = connection.vendor == "postgresql"
    tables = {f'"{model._meta.db_table}"' for model in TOUCHED_TABLES}
    written = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal written
        result = execute(sql, params, many, context)
        if sql.startswith("INSERT INTO ") and sql.split(" ", 3)[2] in tables:
            written += max(context["cursor"].rowcount, 0)
        return result

    # SQLite checks keys as each row is written, unless they are off (outside a
    # transaction only: inside one, as in a test, this changes nothing and says so).
    switched_off = not key_checks and connection.disable_constraint_checking()
    checked = key_checks or (not postgresql and not switched_off)
    try:
        with transaction.atomic():
            staging.classify(group_id=plan.group_id)
            new = staging.counts().get(NEW, 0)
            if postgresql and key_checks:
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            with connection.execute_wrapper(count):
                started = time.perf_counter()
                staging.load(plan)
                seconds = time.perf_counter() - started
            transaction.set_rollback(True)  # all of it goes as the block ends
    finally:
        if switched_off:
            connection.enable_constraint_checking()
    return BenchResult(
        name="writes alone, " + ("with key checks" if checked else "without key checks"),
        baseline=False,
        rows=new,
        seconds=seconds,
        extra={"floor": True, "key_checks": checked, "rows_written": written},
    )


def run_baseline(path: Path, *, actor: User, group: Group, scale_to: int) -> BenchResult:
    """The obvious import: a row at a time, a query per check, `.save()` per object.

    Given every advantage it fairly can: one transaction, the same checks in spirit
    (email shape, postcode lookup, existing account), no progress reporting.
    """
    notice = PrivacyNotice.objects.current()
    purposes = {p.code: p for p in Purpose.objects.all()}
    rows = 0
    started = time.perf_counter()
    with transaction.atomic(), path.open(encoding="utf-8", newline="") as source:
        for record in csv.DictReader(source):
            rows += 1
            email = record["Email"].strip().lower()
            name = f"{record['First name']} {record['Surname']}".strip()
            try:
                if email:
                    validate_email(email)
            except ValidationError:
                continue
            place = None
            if record["Postcode"]:
                try:
                    place = geocode(record["Postcode"])
                except PlaceError:
                    continue
            if email and User.objects.filter(email=email).exists():
                continue
            user = User(email=email or f"unclaimed-{rows}@baseline.invalid", full_name=name)
            user.set_unusable_password()
            user.save()
            person = Person(
                user=user,
                display_name=name,
                postcode=place.code if place and place.code != place.district else "",
                district=place.district if place else "",
                eastings=place.point.eastings if place else None,
                northings=place.point.northings if place else None,
            )
            person.save()
            Profile(person=person, phone=record["Mobile"], talents=record["Skills"]).save()
            Membership(user=user, group=group).save()
            ImportedPerson(user=user, group=group).save()
            for code, needed in (
                (PurposeCode.GROUP_EMAIL, email),
                (PurposeCode.GROUP_PHONE, record["Mobile"]),
            ):
                if needed and notice is not None:
                    ConsentEvent(
                        user=user,
                        purpose=purposes[code],
                        group=group,
                        given=True,
                        source=ConsentEvent.Source.IMPORT,
                        recorded_by=actor,
                        notice_version=notice,
                        wording=purposes[code].text,
                    ).save()
    seconds = time.perf_counter() - started
    result = BenchResult(
        name=f"per-row .save() baseline ({rows:,} rows)",
        baseline=True,
        rows=rows,
        seconds=seconds,
    )
    if scale_to != rows and rows:
        result.extra["scaled_to_rows"] = scale_to
        result.extra["scaled_seconds"] = round(seconds * scale_to / rows, 1)
    return result


def run_import_bench(
    *, rows: int, baseline_rows: int | None = None, seed: int = 1, keep: bool = False
) -> BenchReport:
    notes: list[str] = []
    postcodes = sample_postcodes(seed=seed)
    if not postcodes:
        notes.append(
            "No postcodes are loaded (run `handsup places load`): rows carry no postcodes, "
            "so postcode checks were not measured."
        )
    baseline_rows = min(rows, baseline_rows or rows)
    stamp = f"{int(time.time())}{random.randrange(1000):03d}"
    group = Group.objects.create(
        name=f"Import bench {stamp}", slug=f"import-bench-{stamp}", kind=Group.Kind.CAMPAIGN
    )
    actor = User.objects.create_user(f"organiser-{stamp}@{BENCH_EMAIL_DOMAIN}", None)
    Membership.objects.create(user=actor, group=group, role=Membership.Role.ORGANISER)
    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory(prefix="handsup-bench-") as folder:
        ours_file = Path(folder) / "volunteers.csv"
        step(f"Writing a CSV of {rows:,} rows")
        write_bench_csv(ours_file, rows, postcodes, seed=seed, tag=f"a{stamp}")
        notes.append(f"CSV of {rows:,} rows: {ours_file.stat().st_size / 1e6:.1f} MB.")
        try:
            before = rows_in_touched_tables()
            step("Timing ours: a first import")
            results.append(run_ours(ours_file, actor=actor, group=group, label="import (new)"))
            results[-1].extra["rows_written"] = rows_in_touched_tables() - before
            step("Timing ours: the same file again")
            results.append(
                run_ours(ours_file, actor=actor, group=group, label="re-import (updates)")
            )
            # The same seed makes the same mix of rows (bad, repeated, with and without
            # phones), with other addresses: all new people again.
            writes_file = Path(folder) / "writes.csv"
            write_bench_csv(writes_file, rows, postcodes, seed=seed, tag=f"w{stamp}")
            step("Timing the writes alone, with the database's key checks and without")
            floor = run_writes_alone(writes_file, actor=actor, group=group)
            results += floor
            notes.append(_writes_note(results[0], floor))
            baseline_file = Path(folder) / "baseline.csv"
            write_bench_csv(baseline_file, baseline_rows, postcodes, seed=seed, tag=f"b{stamp}")
            step(f"Timing the per-row baseline on {baseline_rows:,} rows")
            results.append(run_baseline(baseline_file, actor=actor, group=group, scale_to=rows))
        finally:
            if not keep:
                step("Removing the benchmark's people")
                remove_bench_rows(group, actor)
                # Else the next run writes into bloated tables and indexes, and measures
                # that (seen: 25 s against 17 s).
                tidy_tables(TOUCHED_TABLES, vacuum=True)
    return BenchReport(rows=rows, results=results, notes=notes)


def _writes_note(ours: BenchResult, floor: list[BenchResult]) -> str:
    without, checked = floor
    text = (
        f"Writing alone ({checked.extra['rows_written']:,} rows for {checked.rows:,} new "
        f"people, already read, checked and classified): {checked.seconds:.2f} s with the "
        f"database's foreign-key checks"
    )
    if without.extra["key_checks"]:
        text += " (SQLite can't turn them off inside a transaction, so both runs had them)"
    else:
        text += f", {without.seconds:.2f} s without"
    return text + f"; the whole import (new) took {ours.seconds:.2f} s."


# The tables a run fills and empties again.
TOUCHED_TABLES = (User, Person, Profile, Membership, ImportedPerson, ConsentEvent)


def remove_bench_rows(group: Group, actor: User) -> None:
    """Delete what a bench run made, set-based (a cascade through the ORM would take
    longer than the benchmark)."""
    member_ids = "SELECT user_id FROM groups_membership WHERE group_id = %s AND user_id <> %s"
    person_ids = f"SELECT id FROM people_person WHERE user_id IN ({member_ids})"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        AuditEntry.objects.filter(group=group).delete()
        ImportJob.objects.filter(group=group).delete()
        params = [group.pk, actor.pk]
        for statement in (
            f"DELETE FROM privacy_consentevent WHERE user_id IN ({member_ids})",  # noqa: S608
            f"DELETE FROM people_profile WHERE person_id IN ({person_ids})",  # noqa: S608
            f"DELETE FROM people_person WHERE user_id IN ({member_ids})",  # noqa: S608
            f"DELETE FROM imports_importedperson WHERE user_id IN ({member_ids})",  # noqa: S608
        ):
            cursor.execute(statement, params)
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_doomed AS "
            "SELECT user_id AS id FROM groups_membership WHERE group_id = %s",
            [group.pk],
        )
        cursor.execute("DELETE FROM groups_membership WHERE group_id = %s", [group.pk])
        cursor.execute("DELETE FROM accounts_user WHERE id IN (SELECT id FROM bench_doomed)")
        cursor.execute("DROP TABLE bench_doomed")
        group.delete()
