"""The record of processing (`processing_record.py`), as a page and as a CSV.

For the data protection officer and platform admins. The record describes what the
platform does, not anyone: it holds no personal data, so reading it is not access-logged.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone

from handsup.core.csv_safe import csv_lines
from handsup.core.http import AuthenticatedRequest
from handsup.privacy.dpo_access import dpo_view
from handsup.privacy.processing_record import HEADER, data_categories, record_of_processing


@dpo_view
def record(request: AuthenticatedRequest) -> HttpResponse:
    return render(
        request,
        "privacy/record.html",
        {"rows": record_of_processing(), "sections": data_categories(), "header": HEADER},
    )


@dpo_view
def record_csv(request: AuthenticatedRequest) -> HttpResponse:
    # Purposes' names and wording are typed by platform admins: neutralised like any CSV.
    body = "".join(csv_lines(HEADER, (row.cells() for row in record_of_processing())))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    filename = f"record-of-processing-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("record/", record, name="record"),
    path("record.csv", record_csv, name="record_csv"),
]
