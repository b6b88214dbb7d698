"""Running imports in tests: from bytes, as the organiser of group A unless told."""

from __future__ import annotations

import io
from pathlib import Path

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.imports.actions import do_create_command_line_import, do_run_import
from handsup.imports.models import ImportJob


def run_csv(
    content: bytes | str,
    *,
    actor: User,
    group: Group | None,
    tmp_path: Path,
    lawful_basis: str = ImportJob.LawfulBasis.CONSENT_PAPER,
    dry_run: bool = False,
) -> tuple[ImportJob, str]:
    """Import `content`; return the finished job and the rejected-rows report ("" if none)."""
    data = content.encode() if isinstance(content, str) else content
    job = do_create_command_line_import(
        actor=actor,
        group=group,
        source=io.BytesIO(data),
        lawful_basis=lawful_basis,
        dry_run=dry_run,
    )
    report = tmp_path / f"report-{job.public_id}.csv"
    do_run_import(job=job, source=io.BytesIO(data), report_path=report)
    job.refresh_from_db()
    return job, report.read_text(encoding="utf-8") if report.exists() else ""
