"""The import pages: upload → preview and mapping → dry run → import → report.

Every page fetches the job through `access_import_job`, so another group's import is a
404 like a missing one. The work itself runs in the background worker; the job page
polls `progress` with htmx (or reloads itself without JavaScript) until it finishes.
"""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.access import access_group
from handsup.groups.models import Group
from handsup.imports import actions
from handsup.imports.actions import access_import_job, import_policy
from handsup.imports.columns import FIELDS
from handsup.imports.engine import FileProblem, PreviewRow, preview_rows
from handsup.imports.models import ImportJob
from handsup.imports.reading import FileFormat
from handsup.privacy.access import log_access

MAX_UPLOAD_BYTES = 60 * 1024 * 1024
PREVIEW_ROWS = 10
RUNNING = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Your list, as a CSV file"),
        help_text=gettext_lazy(
            "Save your spreadsheet as CSV first. One row per person, with a header row: "
            "email, name (or first and last name), postcode, phone, skills. At most 60 MB."
        ),
        error_messages={
            "required": gettext_lazy("Choose the CSV file to upload."),
            "empty": gettext_lazy("That file is empty."),
        },
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("That file is %(size)d MB; the most we take is 60 MB. Split it in two.")
                % {"size": upload.size // (1024 * 1024)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("That file is empty."))
        return upload


class StartForm(forms.Form):
    lawful_basis = forms.ChoiceField(
        label=gettext_lazy("Why may your group hold these people's details?"),
        choices=[("", gettext_lazy("Choose one")), *ImportJob.LawfulBasis.choices],
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "You must be able to show this if asked. Each person's record says it came from "
            "your import, on this basis, recorded by you."
        ),
    )


def _field_choices() -> list[tuple[str, str]]:
    return [("", _("Ignore this column")), *((f.name, str(f.label)) for f in FIELDS)]


def _job_url(job: ImportJob) -> str:
    return reverse("imports:job", args=[job.public_id])


# --- Upload ---------------------------------------------------------------------------------


def _upload(request: AuthenticatedRequest, group: Group | None) -> HttpResponse:
    if not import_policy.may_import(request.user, group):
        raise Http404("No such group.")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = actions.do_upload_import(
            actor=request.user, group=group, upload=upload, name=upload.name or "import.csv"
        )
        return redirect(_job_url(job))
    recent = list(
        import_policy.jobs_for(request.user).filter(group=group).select_related("created_by")[:20]
    )
    # The list names who ran each import: a read of those colleagues' names.
    log_access(
        actor=request.user,
        subjects=[job.created_by_id for job in recent if job.created_by_id],
        purpose="import_list",
        fields=["full_name"],
        group=group,
    )
    return render(
        request,
        "imports/upload.html",
        {"group": group, "form": form, "recent": recent},
        status=400 if form.is_bound else 200,
    )


@login_required
def upload_for_group(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "view")
    return _upload(request, group)


@login_required
def upload_movement_wide(request: AuthenticatedRequest) -> HttpResponse:
    return _upload(request, None)


# --- One import -----------------------------------------------------------------------------


def _preview(job: ImportJob) -> list[PreviewRow]:
    """The first rows with the problems the import would report, read from the file."""
    if job.source_file is None or not job.columns or job.status in RUNNING:
        return []
    file_format = FileFormat(
        encoding=job.encoding, delimiter=job.delimiter, header=list(job.columns)
    )
    try:
        with job.source_file.file.open("rb") as source:
            return preview_rows(
                cast(BinaryIO, source), file_format, job.mapping, limit=PREVIEW_ROWS
            )
    except FileProblem:
        return []


@login_required
def job_page(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    job = access_import_job(request.user, public_id)
    # The preview and the report show the importer's own file back to them, not
    # anyone's record in Hands Up, so they are not reads for the access log.
    preview = _preview(job)
    mapped = {name for name in job.mapping if name}
    columns = [
        {
            "index": index,
            "header": header,
            "field": job.mapping[index] if index < len(job.mapping) else "",
        }
        for index, header in enumerate(job.columns)
    ]
    return render(
        request,
        "imports/job.html",
        {
            "job": job,
            "group": job.group,
            "columns": columns,
            "choices": _field_choices(),
            "preview": preview,
            "mapped": mapped,
            "start_form": StartForm(),
            "running": job.status in RUNNING,
        },
    )


@login_required
@require_POST
def set_mapping(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    job = access_import_job(request.user, public_id)
    if job.status in RUNNING:
        messages.error(request, _("This import is running; wait for it to finish."))
        return redirect(_job_url(job))
    valid = {name for name, _label in _field_choices()}
    mapping = []
    for index in range(len(job.columns)):
        chosen = request.POST.get(f"column_{index}", "")
        mapping.append(chosen if chosen in valid else "")
    problems = actions.do_set_mapping(actor=request.user, job=job, mapping=mapping)
    if problems:
        messages.error(request, _("The columns need another look: see the problems below."))
    else:
        messages.success(request, _("Columns saved. Check the preview, then do a dry run."))
    return redirect(_job_url(job))


@login_required
@require_POST
def start(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    job = access_import_job(request.user, public_id)
    dry_run = request.POST.get("dry_run") == "1"
    if job.status in RUNNING:
        messages.error(request, _("This import is already running."))
        return redirect(_job_url(job))
    if job.file_errors:
        messages.error(request, _("Fix the problems with the file or its columns first."))
        return redirect(_job_url(job))
    if job.source_file is None:
        messages.error(request, _("The uploaded file has been deleted; upload it again."))
        return redirect(_job_url(job))
    lawful_basis = ""
    if not dry_run:
        form = StartForm(request.POST)
        if not form.is_valid():
            messages.error(
                request, _("Say why your group may hold these people's details, then import.")
            )
            return redirect(_job_url(job))
        lawful_basis = form.cleaned_data["lawful_basis"]
    actions.do_start_import(actor=request.user, job=job, dry_run=dry_run, lawful_basis=lawful_basis)
    return redirect(_job_url(job))


@login_required
@require_POST
def cancel(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    job = access_import_job(request.user, public_id)
    if job.status in RUNNING:
        actions.do_cancel_import(actor=request.user, job=job)
        messages.success(request, _("Stopping. Nothing from this import will be kept."))
    return redirect(_job_url(job))


@login_required
def progress(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """The progress bar alone, for htmx to poll; once finished, the whole page reloads."""
    job = access_import_job(request.user, public_id)
    response = render(request, "imports/_progress.html", {"job": job, "running": True})
    if job.status not in RUNNING and getattr(request, "htmx", False):
        response["HX-Refresh"] = "true"
    return response


@login_required
def rejected_rows(request: AuthenticatedRequest, public_id: str) -> FileResponse:
    job = access_import_job(request.user, public_id)
    if job.report_file is None:
        raise Http404("No rejected rows.")
    return FileResponse(
        job.report_file.file.open("rb"),
        as_attachment=True,
        filename=f"rejected-rows-{job.public_id}.csv",
        content_type="text/csv; charset=utf-8",
    )
