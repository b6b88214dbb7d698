"""Download-my-data's background work: building a requested export, and deleting
expired ones (see `export.py`)."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from handsup.core.schedule import periodic
from handsup.privacy.models import DataExport


@task()
def build_data_export(export_public_id: str) -> str:
    """Build the queued export; its page polls the progress meanwhile."""
    from handsup.privacy.export import do_build_export

    export = DataExport.objects.filter(public_id=export_public_id).select_related("user").first()
    if export is None:
        return "no such export"
    return do_build_export(export=export).status


@periodic(every=timedelta(hours=1))
def delete_expired_data_exports() -> str:
    """Expire downloads past their date and delete their files."""
    from handsup.privacy.export import expire_data_exports

    return expire_data_exports()
