"""The periodic schedule that `handsup worker` runs.

`django.tasks` has no scheduler, so each worker also ticks this schedule. A job's run
for one period is claimed by inserting a `JobRun` row whose (job, period_start) key is
unique: however many workers tick at once, exactly one insert succeeds and only that
worker enqueues the job. The job itself then runs as an ordinary background task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from handsup.core.models import JobRun

logger = logging.getLogger("handsup.schedule")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[], str | None]


_jobs: dict[str, PeriodicJob] = {}


def periodic(*, every: timedelta) -> Callable[[Callable[[], str | None]], Callable[[], str | None]]:
    """Register a function to run once per `every` across all workers."""

    def register(func: Callable[[], str | None]) -> Callable[[], str | None]:
        name = f"{func.__module__}.{func.__qualname__}"
        _jobs[name] = PeriodicJob(name=name, every=every, run=func)
        return func

    return register


def registered_jobs() -> dict[str, PeriodicJob]:
    return dict(_jobs)


def period_start(now: datetime, every: timedelta) -> datetime:
    """The start of the period containing `now`, aligned to the Unix epoch."""
    seconds = every.total_seconds()
    aligned = (now.timestamp() // seconds) * seconds
    return datetime.fromtimestamp(aligned, tz=UTC)


def claim_due_jobs(*, worker_id: str, now: datetime | None = None) -> list[str]:
    """Claim and enqueue every job whose current period nobody has claimed yet."""
    now = now or timezone.now()
    claimed: list[str] = []
    for job in _jobs.values():
        start = period_start(now, job.every)
        if JobRun.objects.filter(job=job.name, period_start=start).exists():
            continue
        try:
            with transaction.atomic():
                job_run = JobRun.objects.create(
                    job=job.name, period_start=start, claimed_by=worker_id
                )
                # Enqueued in the same transaction: a crash cannot leave a claimed
                # period with no task to run it.
                run_periodic_job.enqueue(job_run_id=job_run.pk)
        except IntegrityError:
            continue  # another worker claimed this period first
        claimed.append(job.name)
    return claimed


@task(queue_name="scheduled")
def run_periodic_job(job_run_id: int) -> str:
    job_run = JobRun.objects.get(pk=job_run_id)
    job = _jobs.get(job_run.job)
    if job is None:
        outcome = "job no longer registered"
    else:
        outcome = job.run() or "done"
    JobRun.objects.filter(pk=job_run_id).update(
        finished_at=timezone.now(), outcome=outcome[:200], run_count=F("run_count") + 1
    )
    return outcome
