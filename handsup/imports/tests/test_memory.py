"""Memory stays bounded however large the file: it is streamed a batch at a time."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from handsup.imports import engine
from handsup.imports.bench import write_bench_csv
from handsup.imports.models import ImportJob

pytestmark = pytest.mark.django_db

POSTCODES = ["M1 1AE", "CF10 1AA", "SW1A 1AA", "EC1A 1BB", "M1"]


def _file_import_peak(cast, path: Path, tmp_path: Path) -> tuple[int, ImportJob]:
    """Peak traced memory of importing `path`, read from disk as the worker does."""
    from handsup.imports.actions import do_create_command_line_import, do_run_import

    with path.open("rb") as source:
        job = do_create_command_line_import(
            actor=cast.users["organiser_a"],
            group=cast.groups["group_a"],
            source=source,
            lawful_basis=ImportJob.LawfulBasis.CONSENT_PAPER,
            dry_run=True,
        )
        tracemalloc.start()
        try:
            do_run_import(job=job, source=source, report_path=tmp_path / "r.csv")
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    job.refresh_from_db()
    return peak, job


def test_memory_does_not_grow_with_the_file(cast, places, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_ROWS", 1_000)
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_bench_csv(small, 2_000, POSTCODES, tag="s")
    write_bench_csv(large, 12_000, POSTCODES, tag="l")
    small_peak, small_job = _file_import_peak(cast, small, tmp_path)
    large_peak, large_job = _file_import_peak(cast, large, tmp_path)
    assert small_job.rows_total == 2_000 and large_job.rows_total == 12_000
    assert large_job.status == ImportJob.Status.VALIDATED
    # Six times the rows, and the peak barely moves: it is one batch's worth.
    assert large_peak < small_peak * 1.5 + 256 * 1024, (small_peak, large_peak)
    assert large_peak < 8 * 1024 * 1024, large_peak


@pytest.mark.slow
def test_a_50_mb_file_imports_in_bounded_memory(cast, places, tmp_path):
    """About three minutes: run with `pytest -m slow`."""
    path = tmp_path / "big.csv"
    rows = 650_000
    write_bench_csv(path, rows, POSTCODES, tag="b")
    assert path.stat().st_size > 50_000_000
    from handsup.imports.actions import do_create_command_line_import, do_run_import

    with path.open("rb") as source:
        job = do_create_command_line_import(
            actor=cast.users["organiser_a"],
            group=cast.groups["group_a"],
            source=source,
            lawful_basis=ImportJob.LawfulBasis.CONSENT_PAPER,
            dry_run=False,
        )
        # The Python heap, not the process: the test database may itself be in memory.
        # (`/usr/bin/time -v handsup import volunteers …` measures the whole process.)
        tracemalloc.start()
        try:
            do_run_import(job=job, source=source, report_path=tmp_path / "r.csv")
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.rows_total == rows
    assert job.created_count > rows * 0.9
    assert peak < 16 * 1024 * 1024, peak
