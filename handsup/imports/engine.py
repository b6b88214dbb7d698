"""The import engine: read, check and load a file of people, or only check it (dry run).

    describe_file(source)           encoding, delimiter, header, guessed mapping, problems
    preview_rows(source, ...)       the first rows with their problems, for the preview page
    run_import(job, source, ...)    the whole file: streamed, checked, loaded all or nothing

`run_import` works in two phases, so that progress can be shown honestly:

1. Reading: the file is read a batch of rows at a time; each batch is checked in Python
   and its good rows are written to the import's staging table (see `loading.py`). Each
   batch commits on its own together with the job's progress counters, which a page
   polls; the staging table is private to this connection, so nothing anyone else can
   see has changed yet. Cancellation is checked between batches.
2. Saving: one transaction classifies the staged rows (duplicates, existing accounts, the
   group's own records) and writes everything set-based, with one audit row for the
   import. A failure or cancellation rolls all of it back. A dry run stops after
   classifying, so its counts are exactly what the import would do.

Rejected rows are written, as they are found, to the caller's report (CSV text, every
cell neutralised against spreadsheet formulas), so memory stays bounded.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TextIO

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from handsup.core.csv_safe import csv_lines
from handsup.imports.columns import (
    FIELDS_BY_NAME,
    guess_mapping,
    mapping_problems,
)
from handsup.imports.loading import (
    DUPLICATE,
    EXISTING,
    LEFT,
    NEW,
    UPDATE,
    Consent,
    LoadPlan,
    Staging,
)
from handsup.imports.models import ImportJob
from handsup.imports.reading import (
    MAX_FIELD_CHARS,
    FileFormat,
    FileProblem,
    RawRow,
    count_lines,
    read_rows,
    sniff_format,
)
from handsup.imports.validation import PlaceBook, RowChecker, RowError
from handsup.privacy.audit import record_audit
from handsup.privacy.models import PrivacyNotice, Purpose
from handsup.privacy.register import PurposeCode

BATCH_ROWS = 5_000
# Problems kept on the job for the page; every one is in the downloadable report.
ROW_ERRORS_KEPT = 500
REPORT_CELL_CHARS = 1_000
IMPORTED_ACTION = "imports.people_imported"
# After adding this many people, PostgreSQL's statistics on the tables they went into are
# refreshed at once (its advice after a bulk load), so the next import's plans fit.
ANALYZE_AFTER_ROWS = 10_000

Progress = Callable[[int, int], None]  # (rows processed, rows expected)


class ImportCancelled(Exception):
    """Someone asked for the import to stop; everything it did has been rolled back."""


@dataclass(frozen=True)
class FileDescription:
    file_format: FileFormat
    mapping: list[str]
    problems: list[str]
    rows_estimate: int


@dataclass(frozen=True)
class PreviewRow:
    number: int
    cells: list[str]
    errors: list[RowError]


@dataclass
class ImportOutcome:
    """What happened to the rows (or, after a dry run, what would)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    invited: int = 0
    rejected: int = 0
    duplicates: int = 0
    row_errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Wall-clock seconds per phase ("reading", "saving"), for the benchmark.
    seconds: dict[str, float] = field(default_factory=dict)

    def as_counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "invited": self.invited,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
        }


def describe_file(source: IO[bytes], *, size: int | None = None) -> FileDescription:
    """What a freshly uploaded file is. Raises FileProblem when it can't be read at all."""
    file_format = sniff_format(source, size=size)
    mapping = guess_mapping(file_format.header)
    problems = mapping_problems(file_format.header, mapping)
    rows_estimate = max(count_lines(source) - 1, 0)
    return FileDescription(
        file_format=file_format, mapping=mapping, problems=problems, rows_estimate=rows_estimate
    )


def preview_rows(
    source: IO[bytes],
    file_format: FileFormat,
    mapping: Sequence[str],
    *,
    limit: int = 10,
    using: str = DEFAULT_DB_ALIAS,
) -> list[PreviewRow]:
    """The first `limit` rows as read, each with the problems the import would report."""
    rows = list(itertools.islice(read_rows(source, file_format), limit))
    checker = RowChecker(file_format.header, mapping, PlaceBook(using))
    _clean, rejected = checker.check(rows)
    errors = {raw.number: problems for raw, problems in rejected}
    return [PreviewRow(raw.number, raw.cells, errors.get(raw.number, [])) for raw in rows]


def run_import(
    job: ImportJob,
    source: IO[bytes],
    *,
    report: TextIO,
    dry_run: bool,
    progress: Progress | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> ImportOutcome:
    """Check every row of `source` and (unless `dry_run`) load the good ones.

    `job` supplies the group, importer, lawful basis, format and mapping; its progress
    counters are updated as batches are read. Rejected rows go to `report` as CSV.
    Raises FileProblem when the file or mapping can't be used, ImportCancelled when
    `job.cancel_requested_at` is set before the end; either way nothing is imported.
    """
    file_format = FileFormat(
        encoding=job.encoding, delimiter=job.delimiter or ",", header=list(job.columns)
    )
    if not file_format.header:
        file_format = sniff_format(source)
    mapping = list(job.mapping) or guess_mapping(file_format.header)
    problems = mapping_problems(file_format.header, mapping)
    if problems:
        raise FileProblem(" ".join(problems))
    consents = () if dry_run else consents_for(job)
    notice = PrivacyNotice.objects.using(using).current()
    if consents and notice is None:
        raise FileProblem(_("Publish a privacy notice before importing people's consent."))
    places = PlaceBook(using)
    outcome = ImportOutcome()
    if not places.loaded:
        outcome.notes.append(
            _(
                "Postcode data isn't loaded, so postcodes were only checked for their shape "
                "and nobody is placed on the map yet."
            )
        )
    rows_expected = job.rows_total or max(count_lines(source) - 1, 0)
    checker = RowChecker(file_format.header, mapping, places)
    writer = _ReportWriter(report, file_format.header, mapping, outcome)
    connection = connections[using]
    staging = Staging(connection, job.pk)
    started = time.perf_counter()
    with bigger_sqlite_cache(connection):
        staging.create()
        try:
            for batch in _batches(read_rows(source, file_format), BATCH_ROWS):
                clean, rejected = checker.check(batch)
                for raw, errors in rejected:
                    writer.rejected(raw, errors)
                outcome.rows += len(batch)
                rows_expected = max(rows_expected, outcome.rows)
                with transaction.atomic(using=using):
                    if connection.vendor == "postgresql":
                        # Progress is advisory: no need to wait for it to reach disk.
                        with connection.cursor() as cursor:
                            cursor.execute("SET LOCAL synchronous_commit TO OFF")
                    staging.add(clean)
                    ImportJob.objects.using(using).filter(pk=job.pk).update(
                        rows_processed=outcome.rows, rows_total=rows_expected
                    )
                if progress is not None:
                    progress(outcome.rows, rows_expected)
                _stop_if_cancelled(job, using)
            ImportJob.objects.using(using).filter(pk=job.pk).update(
                rows_processed=outcome.rows,
                rows_total=outcome.rows,
                stage=ImportJob.Stage.SAVING,
            )
            staging.finish_loading()
            outcome.seconds["reading"] = time.perf_counter() - started
            with transaction.atomic(using=using):
                if connection.vendor == "postgresql" and not dry_run:
                    # Safe for an all-or-nothing import: a crash before the commit
                    # reaches disk loses the whole transaction, never part of it, and
                    # the job is marked done only by a later (waited-for) commit, which
                    # writes this one's log first. It spares the wait for the disk.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                group_id = job.group_id
                staging.classify(group_id=group_id)
                if not dry_run:
                    _stop_if_cancelled(job, using)
                    staging.load(
                        LoadPlan(
                            group_id=group_id,
                            job_id=job.pk,
                            recorded_by_id=job.created_by_id,
                            notice_id=notice.pk if notice else None,
                            consents=consents,
                            now=timezone.now(),
                        )
                    )
                if not dry_run and job.group is not None:
                    # Existing accounts are never changed: their owners are invited.
                    from handsup.groups.actions import do_invite_existing

                    do_invite_existing(
                        group=job.group,
                        user_ids=staging.existing_user_ids(),
                        invited_by=job.created_by,
                    )
                counts = staging.counts()
                _count(outcome, counts, dry_run=dry_run)
                if not dry_run:
                    _stop_if_cancelled(job, using)
                    record_audit(
                        actor=job.created_by,
                        action=IMPORTED_ACTION,
                        obj=job,
                        group=job.group,
                        details={**outcome.as_counts(), "lawful_basis": job.lawful_basis},
                    )
            if not dry_run and outcome.created >= ANALYZE_AFTER_ROWS:
                staging.refresh_statistics()
            outcome.seconds["saving"] = time.perf_counter() - started - outcome.seconds["reading"]
            for row_no, kind, first_row, values in staging.set_aside():
                writer.set_aside(row_no, kind, first_row, values)
        finally:
            staging.drop()
    if checker.erased_left_out:
        outcome.notes.append(
            ngettext(
                "%(count)d row was left out: the person it names asked us to erase their "
                "data, so they can only come back by joining themselves.",
                "%(count)d rows were left out: the people they name asked us to erase their "
                "data, so they can only come back by joining themselves.",
                checker.erased_left_out,
            )
            % {"count": checker.erased_left_out}
        )
    encodings = {file_format.encoding.removesuffix("-sig")}
    if "cp1252" in encodings:
        outcome.notes.append(_("The file was read as Windows-1252 (not UTF-8)."))
    return outcome


@contextmanager
def bigger_sqlite_cache(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """SQLite's default page cache (2 MB) thrashes while a dozen indexes fill at once.

    (Unlike `seeding.bulk_loading`, the garbage collector stays on: an import runs for
    as long as the file is big, and its memory must stay bounded all that time.)
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA main.cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA main.cache_size = -65536")  # 64 MiB, the most it may use
        # The staging table lives in SQLite's temporary database: on disk, with a
        # bounded cache, so a 50 MB file doesn't become 150 MB of memory.
        if not connection.in_atomic_block:  # SQLite refuses to change it inside one
            cursor.execute("PRAGMA temp_store = FILE")
        cursor.execute("PRAGMA temp.cache_size = -16384")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA main.cache_size = {previous}")


def _count(outcome: ImportOutcome, counts: dict[str, int], *, dry_run: bool) -> None:
    outcome.created = counts.get(NEW, 0)
    outcome.updated = counts.get(UPDATE, 0)
    outcome.invited = counts.get(EXISTING, 0)
    outcome.duplicates = counts.get(DUPLICATE, 0)
    outcome.rejected += counts.get(LEFT, 0)


def consents_for(job: ImportJob) -> tuple[Consent, ...]:
    """The consents the stated lawful basis stands for, by scope and by what a row holds."""
    if not job.records_consent:
        return ()
    if job.group_id is None:
        wanted = [(PurposeCode.FOUND_MOVEMENT, "")]
    else:
        wanted = [(PurposeCode.GROUP_EMAIL, "email"), (PurposeCode.GROUP_PHONE, "phone")]
    purposes = {p.code: p for p in Purpose.objects.filter(code__in=[code for code, _ in wanted])}
    return tuple(
        Consent(purpose_id=purposes[code].pk, wording=purposes[code].text, needs=needs)
        for code, needs in wanted
        if code in purposes
    )


def _stop_if_cancelled(job: ImportJob, using: str) -> None:
    if ImportJob.objects.using(using).filter(pk=job.pk, cancel_requested_at__isnull=False).exists():
        raise ImportCancelled(job.public_id)


def _batches(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


class _ReportWriter:
    """Writes rejected rows as CSV: the row number, the row as read, and its problems."""

    def __init__(
        self, out: TextIO, header: Sequence[str], mapping: Sequence[str], outcome: ImportOutcome
    ) -> None:
        self.out = out
        self.width = len(header)
        self.header = list(header)
        self.mapping = list(mapping)
        self.outcome = outcome
        self.lines = _Lines()
        self.rows = csv_lines([_("Row"), *header, _("Problems")], self.lines)
        out.write(next(self.rows))

    def rejected(self, raw: RawRow, errors: list[RowError]) -> None:
        self.outcome.rejected += 1
        room = ROW_ERRORS_KEPT - len(self.outcome.row_errors)
        if room > 0:
            self.outcome.row_errors.extend(errors[:room])
        cells = [_shorten(cell) for cell in raw.cells[: self.width]]
        cells += [""] * (self.width - len(cells))
        self._write(raw.number, cells, errors)

    def set_aside(self, row_no: int, kind: str, first_row: int | None, values: list[str]) -> None:
        email, name, postcode, phone, talents = values
        by_field = {
            "email": email,
            "name": name,
            "first_name": name,
            "postcode": postcode,
            "phone": phone,
            "talents": talents,
        }
        if "name" in self.mapping:
            by_field["first_name"] = ""
        cells = [by_field.get(target, "") for target in self.mapping]
        label = (
            self.header[self.mapping.index("email")]
            if "email" in self.mapping
            else str(FIELDS_BY_NAME["email"].label)
        )
        if kind == DUPLICATE:
            message = _("The same email address is in row %(row)d; only that row is used.") % {
                "row": first_row or 0
            }
            error = RowError(row_no, label, message)
        else:
            error = RowError(
                row_no, "", _("This person has left the group, so they are not added again.")
            )
        if len(self.outcome.row_errors) < ROW_ERRORS_KEPT:
            self.outcome.row_errors.append(error)
        self._write(row_no, cells, [error])

    def _write(self, number: int, cells: list[str], errors: list[RowError]) -> None:
        problems = "; ".join(
            f"{error.field}: {error.message}" if error.field else error.message for error in errors
        )
        self.lines.put([number, *cells, problems])
        self.out.write(next(self.rows))


class _Lines:
    """A one-row queue feeding `csv_lines`, so each row is written as soon as it is put."""

    def __init__(self) -> None:
        self.row: list[object] = []

    def put(self, row: list[object]) -> None:
        self.row = row

    def __iter__(self) -> Iterator[list[object]]:
        while True:
            yield self.row


def _shorten(cell: str) -> str:
    if len(cell) <= REPORT_CELL_CHARS:
        return cell
    return cell[:REPORT_CELL_CHARS] + "…"


__all__ = [
    "MAX_FIELD_CHARS",
    "FileDescription",
    "FileProblem",
    "ImportCancelled",
    "ImportOutcome",
    "PreviewRow",
    "describe_file",
    "preview_rows",
    "run_import",
]
