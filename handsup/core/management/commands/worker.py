"""`handsup worker`: the background task worker, which also ticks the periodic schedule."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from handsup.core.schedule import claim_due_jobs

logger = logging.getLogger("handsup.schedule")
# The longest wait between tries to reach the database again.
RECONNECT_MAX_SECONDS = 30.0


class Command(BaseCommand):
    help = "Run background tasks and the periodic schedule (any number may run at once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls.")
        parser.add_argument(
            "--tick",
            type=float,
            default=None,
            help="Seconds between schedule checks (default: HANDSUP_SCHEDULE_TICK_SECONDS).",
        )
        parser.add_argument("--no-schedule", action="store_true", help="Run tasks only.")
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options["worker_id"] or get_random_string(16)
        tick = options["tick"] or settings.HANDSUP_SCHEDULE_TICK_SECONDS
        if not options["no_schedule"]:
            threading.Thread(
                target=self._tick_schedule, args=(worker_id, tick), daemon=True, name="schedule"
            ).start()
        self.stderr.write(f"Worker {worker_id} started.")
        worker = Worker(
            queue_names=["*"],
            interval=options["interval"],
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        worker.configure_signals()
        self._run_until_stopped(worker)

    def _run_until_stopped(self, worker: Worker) -> None:
        """Run the task loop; when the database goes away (a restart, a failover), wait
        and go on rather than exit. Tasks a lost connection interrupted are picked up
        again by their own leases (the outbox's) or stay as the task queue left them."""
        delay = 1.0
        while worker.running:
            try:
                worker.run()
            except DatabaseError:
                if not worker.running:
                    break
                logger.exception("worker lost the database; retrying in %.0f s", delay)
                close_old_connections()
                time.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            else:
                break

    def _tick_schedule(self, worker_id: str, tick: float) -> None:
        while True:
            try:
                claimed = claim_due_jobs(worker_id=worker_id)
                if claimed:
                    # Every few seconds for the outbox: debug level, not logged by default.
                    logger.debug("worker %s claimed %s", worker_id, ", ".join(claimed))
            except Exception:
                # A database blip must not kill the schedule; the next tick retries.
                logger.exception("schedule tick failed")
            finally:
                close_old_connections()
            time.sleep(tick)
