from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from handsup.core.models import JobRun
from handsup.core.schedule import claim_due_jobs, period_start, registered_jobs


def test_period_start_aligns_to_the_period():
    now = datetime(2026, 11, 27, 10, 37, 12, tzinfo=UTC)
    assert period_start(now, timedelta(hours=1)) == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert period_start(now, timedelta(days=1)) == datetime(2026, 11, 27, tzinfo=UTC)


def test_housekeeping_jobs_are_registered():
    names = {name.rsplit(".", 1)[-1] for name in registered_jobs()}
    assert {"clear_expired_sessions", "prune_finished_tasks", "prune_job_runs"} <= names


@pytest.mark.django_db
def test_a_period_is_claimed_once_however_many_workers_tick():
    now = timezone.now()
    first = claim_due_jobs(worker_id="one", now=now)
    second = claim_due_jobs(worker_id="two", now=now)
    assert set(first) == set(registered_jobs())
    assert second == []
    assert JobRun.objects.count() == len(registered_jobs())
    assert set(JobRun.objects.values_list("claimed_by", flat=True)) == {"one"}
    assert DBTaskResult.objects.count() == len(registered_jobs())
