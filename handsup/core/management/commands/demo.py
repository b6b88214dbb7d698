"""`handsup demo`: everything `make demo` needs, then serve and run a worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Migrate, load demo data, print the demo logins, then serve with a worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare the demo only; start nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("Demo mode is off: run with HANDSUP_DEMO=1 (make demo does).")
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        for step in demo_preparation_steps():
            step(self)
        call_command("demo_data", stdout=self.stdout)
        self.stdout.write(f"Ready in {time.monotonic() - started:.1f} s.")
        if options["no_serve"]:
            return
        address = f"{options['host']}:{options['port']}"
        self.stdout.write(self.style.SUCCESS(f"Serving Hands Up on http://{address}/"))
        self.stdout.write(f"Demo mail: http://{address}/demo/sent-mail/  (Ctrl+C stops)")
        # Group mail goes over real SMTP to a local server in this process, which keeps
        # what arrives for the demo mail page; the worker delivers the outbox to it.
        from handsup.messaging.smtp_sink import DemoMailHandler, start_sink

        sink, _handler = start_sink(DemoMailHandler())
        worker = subprocess.Popen(
            [sys.executable, "-m", "handsup.cli", "worker"],
            env={**os.environ, "HANDSUP_DEMO_SMTP_PORT": str(sink.port)},
        )
        try:
            call_command("runserver", address, use_reloader=False, skip_checks=True)
        finally:
            worker.terminate()
            worker.wait(timeout=10)
            sink.stop()


def demo_preparation_steps() -> list[Any]:
    """Extension point: later issues add steps (e.g. loading postcodes when empty)."""
    from handsup.core.demo_steps import DEMO_STEPS

    return list(DEMO_STEPS)
