"""The data protection officer's desk: requests (access, erasure, rectification,
objection) however they arrived, each answered by its statutory deadline.

The law's clock (UK GDPR article 12(3), as the ICO reads it): a request is due one
calendar month after the day it was received, on the same day number, or on the month's
last day when it has none (31 January → 28 or 29 February). The deadline may be
extended to three calendar months after receipt, with a recorded reason, but only while
the first month is still running.

Nothing is done about a request until the requester's identity has been checked
(`do_check_identity`), with one exception: an objection stops every message but service
mail as soon as the request is matched to an account (`do_object`), since stopping mail
is the safe direction and the person can resubscribe. Each action refuses with
`RequestRefused` (nothing changed) and a message for the officer, naming the form field
it is about.

The request row stays after it closes (the law asks us to show we answered), but the
requester's own description of themselves (`requester_details`) is cleared then.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models import DateField, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.permissions import works_on_data_protection
from handsup.messaging.actions import do_unsubscribe
from handsup.messaging.models import Unsubscribe
from handsup.privacy.audit import record_audit
from handsup.privacy.erasure import ErasureRefused, do_erase_person, erasure_plan
from handsup.privacy.export import do_build_export
from handsup.privacy.models import AuditEntry, DataExport, DataRequest

OPEN = (DataRequest.Status.RECEIVED, DataRequest.Status.IDENTITY_CHECKED)
CLOSED = (DataRequest.Status.COMPLETED, DataRequest.Status.REFUSED)
EXPORT_BUILT = "privacy.request_export_built"


class RequestRefused(Exception):
    """The desk can't do that to this request; `message` says why, for the officer, and
    `field` names the form field it is about ("" for the request as a whole)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- The clock ------------------------------------------------------------------------------


def add_calendar_months(day: date, months: int) -> date:
    """The same day number `months` later, or that month's last day when it has none."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received_on: date) -> date:
    """When a request received on `received_on` must be answered: one calendar month."""
    return add_calendar_months(received_on, 1)


def latest_extension(received_on: date) -> date:
    """The furthest an extended deadline may go: three calendar months after receipt."""
    return add_calendar_months(received_on, 3)


def deadline_of(data_request: DataRequest) -> date:
    return data_request.extended_to or data_request.due_on


# --- Reads ----------------------------------------------------------------------------------


def open_requests() -> QuerySet[DataRequest]:
    """Requests still to answer, the nearest deadline (extended or not) first."""
    return (
        DataRequest.objects.filter(status__in=OPEN)
        .annotate(deadline=Coalesce("extended_to", "due_on", output_field=DateField()))
        .order_by("deadline", "received_on", "pk")
    )


def closed_requests() -> QuerySet[DataRequest]:
    """Answered requests, the most recently closed first."""
    return DataRequest.objects.filter(status__in=CLOSED).order_by("-closed_at", "-pk")


@dataclass(frozen=True)
class DeskRow:
    request: DataRequest
    deadline: date
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_left)


def desk_rows(*, today: date | None = None) -> list[DeskRow]:
    """The open requests with days left (negative: overdue), in deadline order."""
    today = today or timezone.localdate()
    rows = []
    for data_request in open_requests():
        deadline = deadline_of(data_request)
        rows.append(
            DeskRow(request=data_request, deadline=deadline, days_left=(deadline - today).days)
        )
    return rows


def access_data_request(user: Any, public_id: str) -> DataRequest:
    """The request, for someone who works the desk; anyone else, and a made-up id, get
    `DataRequest.DoesNotExist` alike."""
    if not works_on_data_protection(user):
        raise DataRequest.DoesNotExist
    return DataRequest.objects.select_related("subject", "identity_checked_by", "handled_by").get(
        public_id=public_id
    )


def find_account(email: str) -> User | None:
    """The live account that signs in with `email` (its main or another confirmed
    address), or None."""
    email = email.strip()
    if not email:
        return None
    live = User.objects.filter(erased_at__isnull=True)
    found = live.filter(email__iexact=email).first()
    if found is None:
        found = live.filter(
            pk__in=EmailAddress.objects.filter(email__iexact=email).values("user_id")
        ).first()
    return found


def desk_export(data_request: DataRequest) -> DataExport | None:
    """The latest export the desk built for this request, if any."""
    built = (
        AuditEntry.objects.filter(
            action=EXPORT_BUILT,
            object_type=DataRequest._meta.label_lower,
            object_public_id=data_request.public_id,
        )
        .order_by("-pk")
        .values_list("details", flat=True)
        .first()
    )
    if not built or data_request.subject_id is None:
        return None
    return (
        DataExport.objects.filter(public_id=built.get("export", ""), user=data_request.subject_id)
        .select_related("file")
        .first()
    )


# --- Checks ---------------------------------------------------------------------------------


def _day(day: date) -> str:
    return date_format(day, "j F Y")


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def check_received_on(received_on: date, *, today: date | None = None) -> None:
    if received_on > _today(today):
        raise RequestRefused(_("The date received can't be in the future."), field="received_on")


def _check_open(data_request: DataRequest) -> None:
    if data_request.status not in OPEN:
        raise RequestRefused(_("This request is closed: nothing more can be done to it."))


def _check_ready(data_request: DataRequest, kind: str) -> User:
    """An open request of `kind`, identity checked and matched to a live account."""
    _check_open(data_request)
    if data_request.kind != kind:
        raise RequestRefused(_("That step is not for this kind of request."))
    if data_request.identity_checked_at is None:
        raise RequestRefused(
            _("Check the requester's identity first: nothing is done before that.")
        )
    subject = data_request.subject
    if subject is None:
        raise RequestRefused(
            _("Match the request to an account first (by its email address)."), field="email"
        )
    if subject.erased_at is not None:
        raise RequestRefused(_("The account has been erased."))
    return subject


def check_extension(
    data_request: DataRequest, *, extended_to: date, reason: str, today: date | None = None
) -> None:
    """An extension needs a reason, is given within the first month, and goes beyond the
    original deadline but no further than three months after receipt."""
    _check_open(data_request)
    if not reason.strip():
        raise RequestRefused(
            _("Give the reason for the extension: the law asks us to record it."),
            field="reason",
        )
    if _today(today) > data_request.due_on:
        raise RequestRefused(
            _(
                "The first month ended on %(due)s: an extension can only be given within "
                "it. Answer the request as soon as you can."
            )
            % {"due": _day(data_request.due_on)},
            field="extended_to",
        )
    latest = latest_extension(data_request.received_on)
    if extended_to > latest:
        raise RequestRefused(
            _(
                "An extension can go no further than three months after the request was "
                "received: %(latest)s at the latest."
            )
            % {"latest": _day(latest)},
            field="extended_to",
        )
    if extended_to <= data_request.due_on:
        raise RequestRefused(
            _("The new deadline must be after the original one, %(due)s.")
            % {"due": _day(data_request.due_on)},
            field="extended_to",
        )


# --- Actions --------------------------------------------------------------------------------


def _audit(officer: User, action: str, data_request: DataRequest, **details: Any) -> None:
    # Codes and dates only: never the requester's words.
    record_audit(actor=officer, action=action, obj=data_request, details=details)


@transaction.atomic
def do_log_request(
    *,
    officer: User,
    kind: str,
    channel: str,
    received_on: date,
    requester_details: str = "",
    subject: User | None = None,
    today: date | None = None,
) -> DataRequest:
    """Put a request on the desk, due one calendar month after it was received. An
    objection matched to an account stops their messages at once."""
    check_received_on(received_on, today=today)
    data_request = DataRequest.objects.create(
        kind=kind,
        channel=channel,
        received_on=received_on,
        due_on=due_date(received_on),
        requester_details=requester_details.strip(),
        subject=subject,
        handled_by=officer,
    )
    _audit(
        officer,
        "privacy.request_logged",
        data_request,
        kind=kind,
        channel=channel,
        received_on=received_on.isoformat(),
        matched=subject is not None,
    )
    if subject is not None and kind == DataRequest.Kind.OBJECTION:
        do_object(officer=officer, data_request=data_request)
    return data_request


@transaction.atomic
def do_match_subject(*, officer: User, data_request: DataRequest, subject: User) -> None:
    """Say whose data the request is about (found by their email address)."""
    _check_open(data_request)
    if subject.erased_at is not None:
        raise RequestRefused(_("That account has been erased."), field="email")
    data_request.subject = subject
    data_request.handled_by = officer
    data_request.save(update_fields=["subject", "handled_by"])
    _audit(officer, "privacy.request_matched", data_request)
    if data_request.kind == DataRequest.Kind.OBJECTION:
        do_object(officer=officer, data_request=data_request)


@transaction.atomic
def do_check_identity(*, officer: User, data_request: DataRequest, note: str) -> None:
    """Record that the requester is who they say, and how that was checked."""
    _check_open(data_request)
    if not note.strip():
        raise RequestRefused(
            _("Say how you checked their identity (never copy the document itself)."),
            field="note",
        )
    if data_request.identity_checked_at is not None:
        raise RequestRefused(_("Their identity has already been checked."))
    data_request.identity_checked_at = timezone.now()
    data_request.identity_checked_by = officer
    data_request.identity_check_note = note.strip()
    data_request.status = DataRequest.Status.IDENTITY_CHECKED
    data_request.handled_by = officer
    data_request.save(
        update_fields=[
            "identity_checked_at",
            "identity_checked_by",
            "identity_check_note",
            "status",
            "handled_by",
        ]
    )
    _audit(officer, "privacy.request_identity_checked", data_request)


@transaction.atomic
def do_extend(
    *,
    officer: User,
    data_request: DataRequest,
    extended_to: date,
    reason: str,
    today: date | None = None,
) -> None:
    """Extend the deadline (see `check_extension`); refuses with nothing changed."""
    check_extension(data_request, extended_to=extended_to, reason=reason, today=today)
    data_request.extended_to = extended_to
    data_request.extension_reason = reason.strip()
    data_request.handled_by = officer
    data_request.save(update_fields=["extended_to", "extension_reason", "handled_by"])
    _audit(officer, "privacy.request_extended", data_request, to=extended_to.isoformat())


@transaction.atomic
def do_run_export(*, officer: User, data_request: DataRequest) -> DataExport:
    """Build the subject's data export now, owned by them; the officer downloads it from
    the desk (access-logged) and sends it on."""
    subject = _check_ready(data_request, DataRequest.Kind.ACCESS)
    export = DataExport.objects.create(user=subject)
    export = do_build_export(export=export)
    if export.status != DataExport.Status.READY:
        raise RequestRefused(export.failure or _("The export could not be built."))
    data_request.handled_by = officer
    data_request.save(update_fields=["handled_by"])
    _audit(officer, EXPORT_BUILT, data_request, export=export.public_id)
    return export


@transaction.atomic
def do_run_erasure(*, officer: User, data_request: DataRequest) -> int:
    """Erase the subject (collect, then act: refused while the plan has blockers);
    returns how many rows went. Their other requests lose the requester's details now;
    this one keeps them until it is closed, for the reply."""
    subject = _check_ready(data_request, DataRequest.Kind.ERASURE)
    plan = erasure_plan(subject)
    if plan.blockers:
        raise RequestRefused(
            _("The account can't be erased yet. %(why)s") % {"why": plan.blockers[0].message}
        )
    try:
        report = do_erase_person(user=subject, actor=officer)
    except ErasureRefused as refusal:
        raise RequestRefused(str(refusal)) from refusal
    DataRequest.objects.filter(subject=subject).exclude(pk=data_request.pk).update(
        requester_details=""
    )
    data_request.handled_by = officer
    data_request.save(update_fields=["handled_by"])
    _audit(officer, "privacy.request_erasure_run", data_request, rows=report.total)
    return report.total


@transaction.atomic
def do_object(*, officer: User, data_request: DataRequest) -> None:
    """Stop every message to the subject but service mail, at once: the same
    "unsubscribe from everything" a person can choose, which pacing applies to every
    kind of message except service mail."""
    _check_open(data_request)
    if data_request.kind != DataRequest.Kind.OBJECTION:
        raise RequestRefused(_("That step is not for this kind of request."))
    subject = data_request.subject
    if subject is None:
        raise RequestRefused(
            _("Match the request to an account first (by its email address)."), field="email"
        )
    do_unsubscribe(user=subject, scope=Unsubscribe.Scope.EVERYTHING, via="dpo")
    _audit(officer, "privacy.request_objection_applied", data_request, scope="everything")


def objection_applied(data_request: DataRequest) -> bool:
    return data_request.subject_id is not None and (
        Unsubscribe.objects.filter(
            user=data_request.subject_id, scope=Unsubscribe.Scope.EVERYTHING
        ).exists()
    )


@transaction.atomic
def do_close(*, officer: User, data_request: DataRequest, status: str, outcome: str) -> None:
    """Close the request as completed (identity checked first) or refused, with what was
    done in words; the requester's own description of themselves is cleared."""
    _check_open(data_request)
    if status not in CLOSED:
        raise RequestRefused(
            _("Choose whether the request was completed or refused."), field="status"
        )
    if not outcome.strip():
        raise RequestRefused(
            _("Say what was done (or why it was refused), without naming the requester."),
            field="outcome",
        )
    if status == DataRequest.Status.COMPLETED and data_request.identity_checked_at is None:
        raise RequestRefused(
            _(
                "A request can't be marked complete before the requester's identity has "
                "been checked. Check it first, or refuse the request."
            ),
            field="status",
        )
    data_request.status = status
    data_request.outcome = outcome.strip()
    data_request.closed_at = timezone.now()
    data_request.requester_details = ""
    data_request.handled_by = officer
    data_request.save(
        update_fields=["status", "outcome", "closed_at", "requester_details", "handled_by"]
    )
    _audit(officer, "privacy.request_closed", data_request, status=status)
