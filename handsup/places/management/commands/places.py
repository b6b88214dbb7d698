"""`handsup places load|status`: the GB postcode tables."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from handsup.places.loading import CodePointDataMissing, load_postcodes
from handsup.places.models import Postcode, PostcodeDistrict


class Command(BaseCommand):
    help = "Load GB postcodes from Code-Point Open (load), or say what is loaded (status)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = actions.add_parser(
            "load",
            help="Replace the postcode tables from the Code-Point Open files (idempotent).",
        )
        load.add_argument(
            "--areas",
            default="",
            help="Comma-separated postcode areas to (re)load, e.g. M,SW,CF,IV "
            "(default: all of Great Britain, replacing everything).",
        )
        load.add_argument("--no-progress", action="store_true", help="Never show a progress bar.")
        actions.add_parser("status", help="Count the loaded postcodes and districts.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "status":
            self.stdout.write(
                f"{Postcode.objects.count():,} postcodes in "
                f"{PostcodeDistrict.objects.count():,} districts."
            )
            return
        areas = [area for area in options["areas"].split(",") if area.strip()] or None
        try:
            report = load_postcodes(
                areas=areas, show_progress=False if options["no_progress"] else None
            )
        except (CodePointDataMissing, ValueError) as error:
            raise CommandError(str(error)) from error
        scope = "all areas" if report.replaced_everything else ", ".join(report.areas)
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {report.postcodes:,} postcodes ({report.located:,} located) in "
                f"{report.districts:,} districts from {scope} in {report.seconds:.1f} s."
            )
        )
