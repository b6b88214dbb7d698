"""`handsup retention [--dry-run] [--as-of YYYY-MM-DD]`: run retention now and print its
report (the daily schedule runs the same rules; see `handsup/privacy/retention.py`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from handsup.privacy.retention import RetentionSettingsError, report_lines, run_retention


def _as_of(text: str) -> datetime:
    """The given day, at the current time of day (so "today" means now)."""
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--as-of wants a date like 2027-03-31, not {text!r}.") from error
    now = timezone.localtime()
    return now.replace(year=day.year, month=day.month, day=day.day)


class Command(BaseCommand):
    help = "Apply the retention rules now (or show what they would do) and print the report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Change nothing: report what the rules would do.",
        )
        parser.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Apply the rules as of this day (a later day only with --dry-run).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = _as_of(options["as_of"]) if options["as_of"] else None
        dry_run = bool(options["dry_run"])
        if now is not None and now > timezone.now() and not dry_run:
            raise CommandError(
                "A later day than today would erase people before their time: use "
                "--dry-run to see what retention would do then. Nothing was changed."
            )
        try:
            run = run_retention(now=now, dry_run=dry_run)
        except RetentionSettingsError as error:
            raise CommandError(str(error)) from error
        self.stdout.write("\n".join(report_lines(run)))
