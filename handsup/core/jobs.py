"""Housekeeping jobs on the schedule. Later issues add digests, expiries and retention."""

from __future__ import annotations

import os
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from handsup.core.models import JobRun
from handsup.core.schedule import periodic

FINISHED_TASK_RESULTS_KEPT = timedelta(days=7)
JOB_RUNS_KEPT = timedelta(days=30)


@periodic(every=timedelta(hours=1))
def clear_expired_sessions() -> str:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return f"{deleted} expired sessions removed"


@periodic(every=timedelta(days=1))
def prune_finished_tasks() -> str:
    cutoff = timezone.now() - FINISHED_TASK_RESULTS_KEPT
    deleted, _ = DBTaskResult.objects.filter(finished_at__lt=cutoff).delete()
    return f"{deleted} finished task results removed"


@periodic(every=timedelta(days=1))
def prune_job_runs() -> str:
    deleted, _ = JobRun.objects.filter(period_start__lt=timezone.now() - JOB_RUNS_KEPT).delete()
    return f"{deleted} old job runs removed"


_heartbeat_seconds = float(os.environ.get("HANDSUP_HEARTBEAT_SECONDS", "0") or 0)
if _heartbeat_seconds > 0:
    # Operators can turn this on to watch that workers are alive; the two-worker
    # test uses it with a one-second period.
    @periodic(every=timedelta(seconds=_heartbeat_seconds))
    def heartbeat() -> str:
        return "alive"
