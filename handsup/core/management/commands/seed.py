"""`handsup seed`: the synthetic movement, built by every app's seed steps.

See `handsup.core.seeding` for how an app adds its data.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from handsup.core.seeding import SeedContext, SeedError, reset_seed, run_seed, seed_steps


class Command(BaseCommand):
    help = (
        "Build a deterministic synthetic movement: --volunteers N people at real GB "
        "postcodes (run `handsup places load` first), plus whatever each app seeds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--volunteers", type=int, default=None, help="How many people to create."
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="Random seed: the same seed gives the same rows."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="First delete everything an earlier seed made (alone: only delete).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument("--no-progress", action="store_true", help="Never show progress bars.")

    def handle(self, *args: Any, **options: Any) -> None:
        volunteers = options["volunteers"]
        if volunteers is None and not options["reset"]:
            raise CommandError("Say how many people to seed: --volunteers N (or --reset).")
        if volunteers is not None and volunteers < 0:
            raise CommandError("--volunteers must be zero or more.")
        if options["seed"] < 0:
            raise CommandError("--seed must be zero or more.")
        context = SeedContext(
            seed=options["seed"],
            volunteers=volunteers or 0,
            using=options["database"],
            show_progress=False if options["no_progress"] else None,
        )
        started = time.monotonic()
        steps = ", ".join(step.name for step in seed_steps())
        self.stdout.write(f"Seed steps: {steps} (database: {context.vendor})")
        try:
            if options["reset"]:
                reset_seed(context, out=self.stdout)
            if volunteers is not None:
                run_seed(context, out=self.stdout)
        except SeedError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f} s."))
