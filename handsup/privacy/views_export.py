"""Download my data: ask for the zip, watch it being built, download it until it expires.

Every export is fetched through `access_data_export`, so someone else's export is a 404
like a made-up id. A GET never changes anything: an export past its date is refused
(410) and left for the retention job to expire and delete.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from handsup.core.http import AuthenticatedRequest
from handsup.privacy.export import ACTIVE, access_data_export, do_request_export
from handsup.privacy.models import DataExport

RECENT = 10


@login_required
@require_http_methods(["GET", "POST"])
def export_page(request: AuthenticatedRequest) -> HttpResponse:
    """What the download holds, the button, and the person's recent exports."""
    if request.method == "POST":
        already = DataExport.objects.filter(user=request.user, status__in=ACTIVE).exists()
        do_request_export(user=request.user)
        if already:
            messages.info(request, _("Your download is already being prepared."))
        else:
            messages.success(
                request, _("We are preparing your download. This page shows how it is going.")
            )
        return redirect(reverse("privacy:export"))
    exports = list(
        DataExport.objects.filter(user=request.user).order_by("-created_at", "-pk")[:RECENT]
    )
    return render(
        request,
        "privacy/export.html",
        {
            "exports": exports,
            "active": any(export.status in ACTIVE for export in exports),
            "now": timezone.now(),
            "days": settings.HANDSUP_EXPORT_DAYS,
        },
    )


def _unavailable(request: AuthenticatedRequest, message: str, status: int) -> HttpResponse:
    return render(request, "privacy/export_unavailable.html", {"message": message}, status=status)


@login_required
def export_download(request: AuthenticatedRequest, public_id: str) -> HttpResponseBase:
    try:
        export = access_data_export(request.user, public_id)
    except Http404:
        return _unavailable(
            request,
            _(
                "No such download. The link may be mistyped, or it may be someone "
                "else's: each download is for the person who asked for it."
            ),
            404,
        )
    expired = export.status == DataExport.Status.EXPIRED or (
        export.expires_at is not None and export.expires_at <= timezone.now()
    )
    if expired:
        return _unavailable(
            request,
            _(
                "This download has expired, and its file has been deleted to keep your "
                "data safe. Nothing else has changed: prepare a new download below."
            ),
            410,
        )
    if export.status != DataExport.Status.READY or export.file is None:
        return _unavailable(
            request,
            _("This download is not ready: see how it is going below."),
            404,
        )
    try:
        content = export.file.file.open("rb")
    except OSError:  # deleted from storage a moment before the row
        return _unavailable(request, _("This download has expired; prepare a new one."), 410)
    response = FileResponse(
        content,
        as_attachment=True,
        filename=export.file.name,
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def export_progress(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """The progress bar alone, for htmx to poll; once finished, the whole page reloads."""
    export = access_data_export(request.user, public_id)
    running = export.status in ACTIVE
    response = render(
        request, "privacy/_export_progress.html", {"export": export, "running": running}
    )
    if not running and getattr(request, "htmx", False):
        response["HX-Refresh"] = "true"
    return response


urlpatterns: list[URLPattern] = [
    path("download/", export_page, name="export"),
    path("download/<str:public_id>/", export_download, name="export_download"),
    path("download/<str:public_id>/progress/", export_progress, name="export_progress"),
]
