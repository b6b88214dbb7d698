"""`handsup import volunteers FILE --group SLUG`: import a CSV of people from the server.

The same engine, checks and report as the web pages. The rejected rows are written
beside the file (or to --report), as CSV, formulas neutralised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from handsup.accounts.models import User
from handsup.core.seeding import progress_bar
from handsup.groups.models import Group
from handsup.imports.actions import (
    do_create_command_line_import,
    do_run_import,
    import_policy,
)
from handsup.imports.models import ImportJob


class Command(BaseCommand):
    help = "Import people from a CSV file (volunteers)."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
        volunteers = kinds.add_parser("volunteers", help="People willing to help, into a group.")
        volunteers.add_argument("file", type=Path, help="The CSV file.")
        volunteers.add_argument(
            "--group", default="", help="The group's short name; leave out for movement-wide."
        )
        volunteers.add_argument(
            "--lawful-basis",
            default=ImportJob.LawfulBasis.CONSENT_PAPER,
            choices=ImportJob.LawfulBasis.values,
            help="Why we may hold these people's details (default: consent_paper).",
        )
        volunteers.add_argument(
            "--by",
            default="",
            help="Email of the organiser importing (required, except for a dry run): "
            "each consent records who imported it.",
        )
        volunteers.add_argument(
            "--dry-run", action="store_true", help="Check every row; change nothing."
        )
        volunteers.add_argument(
            "--report", type=Path, default=None, help="Where to write the rejected rows."
        )
        volunteers.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        group = None
        if options["group"]:
            group = Group.objects.filter(slug=options["group"]).first()
            if group is None:
                raise CommandError(f"No group with the short name {options['group']!r}.")
        actor = None
        if options["by"]:
            actor = User.objects.filter(email=options["by"].strip().lower()).first()
            if actor is None:
                raise CommandError(f"No account with the email {options['by']!r}.")
            if not import_policy.may_import(actor, group):
                where = group.name if group else "the whole movement"
                raise CommandError(f"{options['by']} may not import people into {where}.")
        elif not options["dry_run"]:
            raise CommandError("Say who is importing with --by EMAIL (or use --dry-run).")
        report_path: Path = options["report"] or path.with_name(path.stem + ".rejected.csv")
        with path.open("rb") as source:
            job = do_create_command_line_import(
                actor=actor,
                group=group,
                source=source,
                lawful_basis=options["lawful_basis"],
                dry_run=options["dry_run"],
            )
            if job.file_errors:
                raise CommandError(" ".join(job.file_errors))
            bar = progress_bar(job.rows_total, "Reading", unit="rows")
            if options["no_progress"]:
                bar.disable = True

            def show(processed: int, expected: int) -> None:
                bar.total = expected
                bar.update(processed - bar.n)

            try:
                do_run_import(job=job, source=source, progress=show, report_path=report_path)
            finally:
                bar.close()
        job.refresh_from_db()
        self.stdout.write(self.describe(job, report_path))
        if job.status in {ImportJob.Status.FAILED, ImportJob.Status.CANCELLED}:
            raise CommandError(job.failure or job.get_status_display())

    def describe(self, job: ImportJob, report_path: Path) -> str:
        verb = "would be" if job.dry_run else "were"
        lines = [
            f"{job.get_status_display()}: {job.rows_total:,} rows read.",
            f"  {job.created_count:,} people {verb} added",
            f"  {job.updated_count:,} of the group's own records {verb} updated",
            f"  {job.invited_count:,} rows have an account already (invitations only)",
            f"  {job.duplicate_count:,} rows repeat an email address from earlier in the file",
            f"  {job.rejected_count:,} rows rejected",
        ]
        lines += [f"Note: {note}" for note in job.notes]
        for error in job.row_errors[:20]:
            field = f"{error['field']}: " if error["field"] else ""
            lines.append(f"  row {error['row']}: {field}{error['message']}")
        if job.rejected_count + job.duplicate_count > 20:
            lines.append("  …")
        if job.rejected_count or job.duplicate_count:
            lines.append(f"Rejected rows written to {report_path}")
        return "\n".join(lines)
