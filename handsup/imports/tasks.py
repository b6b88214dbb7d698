"""The background task that runs a queued import (see `actions.do_run_import`)."""

from __future__ import annotations

from django.tasks import task

from handsup.imports.models import ImportJob


@task()
def run_import_job(job_public_id: str) -> str:
    """Run the queued import or dry run; the page polls the job's progress meanwhile."""
    from handsup.imports.actions import do_run_import

    job = ImportJob.objects.filter(public_id=job_public_id).first()
    if job is None:
        return "no such import"
    do_run_import(job=job)
    job.refresh_from_db(fields=["status"])
    return job.status
