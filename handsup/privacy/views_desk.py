"""The data protection officer's desk: the open requests, nearest deadline first; logging
a request that came by post, phone or email; and each request's steps as forms.

Only data protection officers and platform admins reach these pages (403 for anyone
else, whatever the id); a made-up request id is a 404. Each step's form posts to its own
address and, on bad input or a refusal, the request's page comes back with the message
next to the field and nothing changed. Showing a matched account's name, email or
erasure plan is a read of their data, so it is access-logged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.privacy.access import log_access
from handsup.privacy.desk import (
    CLOSED,
    RequestRefused,
    access_data_request,
    check_received_on,
    closed_requests,
    deadline_of,
    desk_export,
    desk_rows,
    do_check_identity,
    do_close,
    do_extend,
    do_log_request,
    do_match_subject,
    do_run_erasure,
    do_run_export,
    find_account,
    latest_extension,
    objection_applied,
)
from handsup.privacy.dpo_access import dpo_view
from handsup.privacy.erasure import erasure_plan
from handsup.privacy.models import DataExport, DataRequest

RECENTLY_CLOSED = 50
NO_ACCOUNT = gettext_lazy(
    "No account has that email address. Check it with the requester, or leave it empty "
    "and match the request later."
)


# --- Forms ----------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    """The browser's date picker, which reads and writes ISO dates."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class LogRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What they asked for"),
        choices=DataRequest.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Choose what they asked for.")},
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("How it arrived"),
        choices=DataRequest.Channel.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Choose how the request arrived.")},
    )
    received_on = forms.DateField(
        label=gettext_lazy("Date received"),
        help_text=gettext_lazy("The deadline is one calendar month after this day."),
        widget=DateInput,
        error_messages={
            "required": gettext_lazy("Enter the date the request was received."),
            "invalid": gettext_lazy("Enter a real date, like 27/11/2026."),
        },
    )
    requester_details = forms.CharField(
        label=gettext_lazy("How the requester described themselves"),
        help_text=gettext_lazy(
            "A name and address from the letter, say: what you need to match them and to "
            "reply. Cleared when the request is closed."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=2000,
    )
    email = forms.EmailField(
        label=gettext_lazy("Their account's email address (optional)"),
        help_text=gettext_lazy("To match the request to their account now."),
        required=False,
    )

    def clean_received_on(self) -> date:
        received_on: date = self.cleaned_data["received_on"]
        try:
            check_received_on(received_on)
        except RequestRefused as refusal:
            raise forms.ValidationError(refusal.message) from refusal
        return received_on

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        if email and find_account(email) is None:
            raise forms.ValidationError(NO_ACCOUNT)
        return email


class MatchForm(forms.Form):
    prefix = "match"
    email = forms.EmailField(
        label=gettext_lazy("Their account's email address"),
        error_messages={"required": gettext_lazy("Enter the email address of their account.")},
    )

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        if find_account(email) is None:
            raise forms.ValidationError(NO_ACCOUNT)
        return email


class IdentityForm(forms.Form):
    prefix = "identity"
    note = forms.CharField(
        label=gettext_lazy("How you checked their identity"),
        help_text=gettext_lazy(
            "For example: 'called the phone number on their account and they confirmed "
            "the request'. Never copy a document."
        ),
        max_length=300,
        error_messages={
            "required": gettext_lazy(
                "Say how you checked their identity (never copy the document itself)."
            )
        },
    )


class ExtendForm(forms.Form):
    prefix = "extend"
    extended_to = forms.DateField(
        label=gettext_lazy("New deadline"),
        help_text=gettext_lazy("No later than three calendar months after it was received."),
        widget=DateInput,
        error_messages={
            "required": gettext_lazy("Enter the new deadline."),
            "invalid": gettext_lazy("Enter a real date, like 27/02/2027."),
        },
    )
    reason = forms.CharField(
        label=gettext_lazy("Why it needs longer"),
        help_text=gettext_lazy(
            "The law allows longer for complex or numerous requests; we tell the requester "
            "why within the first month."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class EraseForm(forms.Form):
    prefix = "erase"
    confirm = forms.BooleanField(
        label=gettext_lazy("I have read what will be erased, and this can't be undone"),
        error_messages={
            "required": gettext_lazy("Tick the box to say you have read what will be erased.")
        },
    )


class CloseForm(forms.Form):
    prefix = "close"
    status = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            (DataRequest.Status.COMPLETED, gettext_lazy("Completed")),
            (DataRequest.Status.REFUSED, gettext_lazy("Refused")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Choose whether it was completed or refused.")},
    )
    outcome = forms.CharField(
        label=gettext_lazy("What was done"),
        help_text=gettext_lazy("Or why it was refused. Don't name the requester."),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


# --- Access ---------------------------------------------------------------------------------


def _request_or_404(request: AuthenticatedRequest, public_id: str) -> DataRequest:
    try:
        return access_data_request(request.user, public_id)
    except DataRequest.DoesNotExist:
        raise Http404("No such request.") from None


# --- Pages ----------------------------------------------------------------------------------


@dpo_view
@require_GET
def desk(request: AuthenticatedRequest) -> HttpResponse:
    return render(
        request,
        "privacy/desk.html",
        {
            "rows": desk_rows(),
            "closed": list(closed_requests()[:RECENTLY_CLOSED]),
            "recently_closed": RECENTLY_CLOSED,
        },
    )


@dpo_view
@require_http_methods(["GET", "POST"])
def log_request(request: AuthenticatedRequest) -> HttpResponse:
    if request.method == "POST":
        form = LogRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            data_request = do_log_request(
                officer=request.user,
                kind=data["kind"],
                channel=data["channel"],
                received_on=data["received_on"],
                requester_details=data["requester_details"],
                subject=find_account(data["email"]) if data["email"] else None,
            )
            messages.success(request, _("The request is on the desk."))
            return redirect("dpo:request", data_request.public_id)
        return render(request, "privacy/desk_new.html", {"form": form}, status=400)
    form = LogRequestForm(initial={"received_on": timezone.localdate()})
    return render(request, "privacy/desk_new.html", {"form": form})


def _page(
    request: AuthenticatedRequest,
    data_request: DataRequest,
    *,
    status: int = 200,
    refusal: str = "",
    bound: dict[str, forms.Form] | None = None,
) -> HttpResponse:
    """The request's page, with any bound (invalid) form in place of its empty one."""
    subject = data_request.subject
    live_subject = subject if subject is not None and subject.erased_at is None else None
    plan = None
    if live_subject is not None:
        shown = ["full_name", "email"]
        if data_request.kind == DataRequest.Kind.ERASURE and data_request.status not in CLOSED:
            plan = erasure_plan(live_subject)
            shown.append("erasure_plan")
        log_access(actor=request.user, subjects=[live_subject], purpose="dpo_request", fields=shown)
    if data_request.handled_by is not None:
        # The officer who handled it, by name: a read of their data too, unless it's yours.
        log_access(
            actor=request.user,
            subjects=[data_request.handled_by],
            purpose="dpo_request",
            fields=["full_name"],
        )
    forms_on_page: dict[str, forms.Form] = {
        "match_form": MatchForm(),
        "identity_form": IdentityForm(),
        "extend_form": ExtendForm(
            initial={"extended_to": latest_extension(data_request.received_on)}
        ),
        "erase_form": EraseForm(),
        "close_form": CloseForm(),
    }
    forms_on_page.update(bound or {})
    today = timezone.localdate()
    deadline = deadline_of(data_request)
    export = desk_export(data_request) if data_request.kind == DataRequest.Kind.ACCESS else None
    return render(
        request,
        "privacy/desk_request.html",
        {
            "data_request": data_request,
            "subject": live_subject,
            "subject_erased": subject is not None and subject.erased_at is not None,
            "is_open": data_request.status not in CLOSED,
            "deadline": deadline,
            "days_left": (deadline - today).days,
            "may_extend": today <= data_request.due_on,
            # A refused extension comes back with its form, to show why.
            "show_extend_form": today <= data_request.due_on or "extend_form" in (bound or {}),
            "latest_extension": latest_extension(data_request.received_on),
            "plan": plan,
            "export": export,
            "export_ready": export is not None and _downloadable(export),
            "objection_applied": data_request.kind == DataRequest.Kind.OBJECTION
            and objection_applied(data_request),
            "refusal": refusal,
            **forms_on_page,
        },
        status=status,
    )


@dpo_view
@require_GET
def request_page(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    return _page(request, _request_or_404(request, public_id))


def _refused(
    request: AuthenticatedRequest,
    data_request: DataRequest,
    refusal: RequestRefused,
    form_name: str,
    form: forms.Form,
) -> HttpResponse:
    """The page again with the refusal next to its field (or at the top), status 409."""
    data_request.refresh_from_db()
    if refusal.field and refusal.field in form.fields:
        form.add_error(refusal.field, refusal.message)
        return _page(request, data_request, status=409, bound={form_name: form})
    return _page(
        request, data_request, status=409, refusal=refusal.message, bound={form_name: form}
    )


def _step(
    request: AuthenticatedRequest,
    public_id: str,
    *,
    form: forms.Form,
    form_name: str,
    act: Callable[[DataRequest, dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """One step on a request's page: the form checked (400 with it, nothing done), the
    action taken (409 with its refusal, nothing done), then back to the page."""
    data_request = _request_or_404(request, public_id)
    if not form.is_valid():
        return _page(request, data_request, status=400, bound={form_name: form})
    try:
        act(data_request, form.cleaned_data)
    except RequestRefused as refusal:
        return _refused(request, data_request, refusal, form_name, form)
    messages.success(request, done)
    return redirect("dpo:request", data_request.public_id)


@dpo_view
@require_POST
def match_subject(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    def act(data_request: DataRequest, data: dict[str, Any]) -> None:
        subject = find_account(data["email"])
        assert subject is not None  # the form found it
        do_match_subject(officer=request.user, data_request=data_request, subject=subject)

    return _step(
        request,
        public_id,
        form=MatchForm(request.POST),
        form_name="match_form",
        act=act,
        done=_("The request is matched to the account."),
    )


@dpo_view
@require_POST
def check_identity(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    return _step(
        request,
        public_id,
        form=IdentityForm(request.POST),
        form_name="identity_form",
        act=lambda data_request, data: do_check_identity(
            officer=request.user, data_request=data_request, note=data["note"]
        ),
        done=_("Their identity is recorded as checked."),
    )


@dpo_view
@require_POST
def extend(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    return _step(
        request,
        public_id,
        form=ExtendForm(request.POST),
        form_name="extend_form",
        act=lambda data_request, data: do_extend(
            officer=request.user,
            data_request=data_request,
            extended_to=data["extended_to"],
            reason=data["reason"],
        ),
        done=_("The deadline is extended. Tell the requester why."),
    )


@dpo_view
@require_POST
def run_export(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    data_request = _request_or_404(request, public_id)
    try:
        do_run_export(officer=request.user, data_request=data_request)
    except RequestRefused as refusal:
        return _refused(request, data_request, refusal, "close_form", CloseForm())
    messages.success(request, _("Their data is ready: download it and send it to them."))
    return redirect("dpo:request", data_request.public_id)


def _downloadable(export: DataExport) -> bool:
    return (
        export.status == DataExport.Status.READY
        and export.file is not None
        and (export.expires_at is None or export.expires_at > timezone.now())
    )


@dpo_view
@require_GET
def export_download(request: AuthenticatedRequest, public_id: str) -> HttpResponseBase:
    data_request = _request_or_404(request, public_id)
    export = desk_export(data_request)
    if export is None or not _downloadable(export) or data_request.subject is None:
        raise Http404("No download for this request: it has expired, or was never made.")
    assert export.file is not None
    try:
        content = export.file.file.open("rb")
    except OSError:  # deleted from storage a moment before the row
        raise Http404("This download has expired.") from None
    log_access(
        actor=request.user,
        subjects=[data_request.subject],
        purpose="dpo_data_export",
        fields=["data_export"],
    )
    response = FileResponse(
        content, as_attachment=True, filename=export.file.name, content_type="application/zip"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@dpo_view
@require_POST
def run_erasure(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    return _step(
        request,
        public_id,
        form=EraseForm(request.POST),
        form_name="erase_form",
        act=lambda data_request, data: do_run_erasure(
            officer=request.user, data_request=data_request
        ),
        done=_("The account is erased. Reply to the requester, then close."),
    )


@dpo_view
@require_POST
def close(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    response = _step(
        request,
        public_id,
        form=CloseForm(request.POST),
        form_name="close_form",
        act=lambda data_request, data: do_close(
            officer=request.user,
            data_request=data_request,
            status=data["status"],
            outcome=data["outcome"],
        ),
        done=_("The request is closed."),
    )
    # A closed request leaves the desk's list: go back to it.
    return redirect("dpo:desk") if response.status_code == 302 else response


urlpatterns: list[URLPattern] = [
    path("", desk, name="desk"),
    path("requests/new/", log_request, name="log_request"),
    path("requests/<str:public_id>/", request_page, name="request"),
    path("requests/<str:public_id>/match/", match_subject, name="match_subject"),
    path("requests/<str:public_id>/identity/", check_identity, name="check_identity"),
    path("requests/<str:public_id>/extend/", extend, name="extend"),
    path("requests/<str:public_id>/export/", run_export, name="run_export"),
    path("requests/<str:public_id>/export/download/", export_download, name="export_download"),
    path("requests/<str:public_id>/erase/", run_erasure, name="run_erasure"),
    path("requests/<str:public_id>/close/", close, name="close"),
]
