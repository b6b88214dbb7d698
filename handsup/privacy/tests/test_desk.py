"""The data protection officer's desk: the statutory clock, the extension rule, the
identity check before anything is done, and each kind of request worked through the
pages (a postal erasure, an access request's export, an objection)."""

from __future__ import annotations

import html
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from handsup.accounts.models import User
from handsup.messaging.actions import do_create_message
from handsup.messaging.models import Kind, Unsubscribe
from handsup.messaging.pacing import audience_of_users, preview
from handsup.privacy.desk import (
    RequestRefused,
    do_check_identity,
    do_close,
    do_extend,
    do_log_request,
    do_object,
    do_run_erasure,
    due_date,
    latest_extension,
    open_requests,
)
from handsup.privacy.models import AccessLogEntry, AuditEntry, DataExport, DataRequest

pytestmark = pytest.mark.django_db

DESK = "/dpo/"
NEW = "/dpo/requests/new/"
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def page_of(data_request: DataRequest, suffix: str = "") -> str:
    return f"/dpo/requests/{data_request.public_id}/{suffix}"


def log(
    cast: Any,
    kind: str = DataRequest.Kind.ERASURE,
    *,
    received_on: date | None = None,
    subject: User | None = None,
    details: str = "Vera V, 1 Letter Lane, Manchester",
    today: date | None = None,
) -> DataRequest:
    return do_log_request(
        officer=cast.users["dpo"],
        kind=kind,
        channel=DataRequest.Channel.POST,
        received_on=received_on or timezone.localdate(),
        requester_details=details,
        subject=subject,
        today=today,
    )


def checked(cast: Any, data_request: DataRequest) -> DataRequest:
    do_check_identity(
        officer=cast.users["dpo"], data_request=data_request, note="Called the account's phone"
    )
    return data_request


def text(response: Any) -> str:
    """The page as a person reads it (apostrophes unescaped)."""
    return html.unescape(response.content.decode())


def snapshot(data_request: DataRequest) -> dict[str, Any]:
    fresh = DataRequest.objects.get(pk=data_request.pk)
    return {f.attname: getattr(fresh, f.attname) for f in DataRequest._meta.concrete_fields}


# --- The clock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2027, 1, 31), date(2027, 2, 28)),  # no 31 February: the month's last day
        (date(2028, 1, 31), date(2028, 2, 29)),  # a leap year
        (date(2028, 1, 30), date(2028, 2, 29)),
        (date(2027, 1, 28), date(2027, 2, 28)),
        (date(2028, 2, 29), date(2028, 3, 29)),  # 29 February: same day number next month
        (date(2027, 3, 31), date(2027, 4, 30)),  # 31-day month into a 30-day one
        (date(2027, 4, 30), date(2027, 5, 30)),  # 30-day month into a 31-day one
        (date(2027, 5, 31), date(2027, 6, 30)),
        (date(2027, 8, 31), date(2027, 9, 30)),
        (date(2026, 12, 31), date(2027, 1, 31)),  # over the year's end
        (date(2026, 12, 15), date(2027, 1, 15)),
        (date(2027, 6, 1), date(2027, 7, 1)),
    ],
)
def test_a_request_is_due_one_calendar_month_after_it_arrived(received: date, due: date):
    assert due_date(received) == due


@pytest.mark.parametrize(
    ("received", "latest"),
    [
        (date(2027, 1, 31), date(2027, 4, 30)),
        (date(2027, 11, 30), date(2028, 2, 29)),  # into a leap February
        (date(2026, 11, 30), date(2027, 2, 28)),
        (date(2026, 12, 31), date(2027, 3, 31)),
        (date(2028, 2, 29), date(2028, 5, 29)),
    ],
)
def test_an_extension_goes_no_further_than_three_calendar_months(received: date, latest: date):
    assert latest_extension(received) == latest


def test_logging_sets_the_deadline_and_refuses_a_date_in_the_future(cast):
    data_request = log(cast, received_on=date(2027, 1, 31), today=date(2027, 2, 1))
    assert data_request.due_on == date(2027, 2, 28)
    assert data_request.status == DataRequest.Status.RECEIVED
    assert data_request.handled_by == cast.users["dpo"]
    audit = AuditEntry.objects.get(action="privacy.request_logged")
    assert "Letter Lane" not in str(audit.details)

    with pytest.raises(RequestRefused, match="can't be in the future"):
        log(cast, received_on=date(2027, 2, 2), today=date(2027, 2, 1))
    assert DataRequest.objects.count() == 1


# --- The extension rule ---------------------------------------------------------------------


def test_an_extension_is_recorded_with_its_reason(cast):
    data_request = log(cast, received_on=date(2027, 1, 31), today=date(2027, 2, 1))
    do_extend(
        officer=cast.users["dpo"],
        data_request=data_request,
        extended_to=date(2027, 4, 30),
        reason="Many requests from one person",
        today=date(2027, 2, 28),  # the last day of the first month still counts
    )
    data_request.refresh_from_db()
    assert data_request.extended_to == date(2027, 4, 30)
    assert data_request.extension_reason == "Many requests from one person"
    assert AuditEntry.objects.filter(action="privacy.request_extended").count() == 1


@pytest.mark.parametrize(
    ("extended_to", "reason", "today", "message"),
    [
        (date(2027, 4, 30), "  ", date(2027, 2, 10), "Give the reason"),
        (date(2027, 4, 30), "Complex", date(2027, 3, 1), "within it"),  # after the first month
        (date(2027, 5, 1), "Complex", date(2027, 2, 10), "three months"),
        (date(2027, 2, 20), "Complex", date(2027, 2, 10), "after the original"),
    ],
)
def test_a_bad_extension_is_refused_and_nothing_changes(
    cast, extended_to: date, reason: str, today: date, message: str
):
    data_request = log(cast, received_on=date(2027, 1, 31), today=date(2027, 2, 1))
    before = snapshot(data_request)
    with pytest.raises(RequestRefused, match=message):
        do_extend(
            officer=cast.users["dpo"],
            data_request=data_request,
            extended_to=extended_to,
            reason=reason,
            today=today,
        )
    assert snapshot(data_request) == before
    assert not AuditEntry.objects.filter(action="privacy.request_extended").exists()


def test_the_extend_form_shows_the_refusal_next_to_the_field(cast):
    received = timezone.localdate() - timedelta(days=40)
    data_request = log(cast, received_on=received)
    before = snapshot(data_request)
    client = cast.client_for("dpo")

    response = client.post(
        page_of(data_request, "extend/"),
        {"extend-extended_to": latest_extension(received).isoformat(), "extend-reason": ""},
    )
    assert response.status_code == 409
    page = text(response)
    assert "Give the reason for the extension" in page and "There is a problem" in page

    response = client.post(
        page_of(data_request, "extend/"),
        {"extend-extended_to": latest_extension(received).isoformat(), "extend-reason": "Big"},
    )
    assert response.status_code == 409
    assert "an extension can only be given within" in text(response)
    assert snapshot(data_request) == before


# --- Identity before anything ---------------------------------------------------------------


def test_completing_without_an_identity_check_is_refused(cast):
    data_request = log(cast, subject=cast.users["volunteer"])
    before = snapshot(data_request)
    with pytest.raises(RequestRefused, match="before the requester's identity"):
        do_close(
            officer=cast.users["dpo"],
            data_request=data_request,
            status=DataRequest.Status.COMPLETED,
            outcome="Erased",
        )
    assert snapshot(data_request) == before

    response = cast.client_for("dpo").post(
        page_of(data_request, "close/"), {"close-status": "completed", "close-outcome": "Done"}
    )
    assert response.status_code == 409
    assert "can't be marked complete before" in text(response)
    assert snapshot(data_request) == before

    # Refusing needs no identity check: failing it is a reason to refuse.
    do_close(
        officer=cast.users["dpo"],
        data_request=data_request,
        status=DataRequest.Status.REFUSED,
        outcome="Could not confirm who wrote",
    )
    data_request.refresh_from_db()
    assert data_request.status == DataRequest.Status.REFUSED
    assert data_request.requester_details == ""


def test_the_identity_check_needs_a_note_and_nothing_runs_before_it(cast):
    data_request = log(cast, subject=cast.users["volunteer"])
    with pytest.raises(RequestRefused, match="Say how you checked"):
        do_check_identity(officer=cast.users["dpo"], data_request=data_request, note=" ")
    with pytest.raises(RequestRefused, match="identity first"):
        do_run_erasure(officer=cast.users["dpo"], data_request=data_request)
    assert User.objects.get(pk=cast.users["volunteer"].pk).erased_at is None

    response = cast.client_for("dpo").post(
        page_of(data_request, "identity/"), {"identity-note": ""}
    )
    assert response.status_code == 400
    assert "Say how you checked their identity" in text(response)
    data_request.refresh_from_db()
    assert data_request.identity_checked_at is None


# --- A postal erasure request, through the pages --------------------------------------------


def test_the_postal_erasure_journey(cast):
    volunteer = cast.users["volunteer"]
    client = cast.client_for("dpo")
    assert client.get(DESK).status_code == 200

    # A letter arrives: the officer logs it, and matches the account by its email address.
    form = text(client.get(NEW))
    assert f'value="{timezone.localdate().isoformat()}"' in form
    response = client.post(
        NEW,
        {
            "kind": "erasure",
            "channel": "post",
            "received_on": timezone.localdate().isoformat(),
            "requester_details": "Vera V\n1 Letter Lane\nManchester",
            "email": volunteer.email.upper(),
        },
    )
    assert response.status_code == 302
    data_request = DataRequest.objects.get()
    assert response["Location"] == page_of(data_request)
    assert data_request.subject == volunteer and data_request.channel == "post"
    assert data_request.due_on == due_date(timezone.localdate())

    # The request's page names the account (access-logged) and shows the erasure plan,
    # with nothing to run until their identity has been checked.
    page = text(client.get(page_of(data_request)))
    assert cast.marker("volunteer") in page and "1 Letter Lane" in page
    assert "Check their identity first" in page and "button--warning" not in page
    assert AccessLogEntry.objects.filter(actor=cast.users["dpo"], subject=volunteer).exists()

    response = client.post(
        page_of(data_request, "identity/"),
        {"identity-note": "Wrote to the account's email address; they confirmed"},
    )
    assert response.status_code == 302
    page = text(client.get(page_of(data_request)))
    assert "Erase their account" in page

    # Erasure asks for the box to be ticked, then runs.
    response = client.post(page_of(data_request, "erase/"), {})
    assert response.status_code == 400
    assert User.objects.get(pk=volunteer.pk).erased_at is None
    response = client.post(page_of(data_request, "erase/"), {"erase-confirm": "on"})
    assert response.status_code == 302
    erased = User.objects.get(pk=volunteer.pk)
    assert erased.erased_at is not None and erased.full_name == ""
    page = text(client.get(page_of(data_request)))
    assert "Their account has been erased" in page

    response = client.post(
        page_of(data_request, "close/"),
        {"close-status": "completed", "close-outcome": "Account erased; letter sent"},
    )
    assert response.status_code == 302 and response["Location"] == DESK

    # The request stays, pointing at the emptied account, without the requester's words.
    data_request.refresh_from_db()
    assert data_request.status == DataRequest.Status.COMPLETED
    assert data_request.subject_id == volunteer.pk
    assert data_request.requester_details == ""
    assert data_request.closed_at is not None
    assert data_request.identity_checked_by == cast.users["dpo"]
    desk = text(client.get(DESK))
    assert "No open requests." in desk and data_request.public_id in desk
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "privacy.request_logged",
        "privacy.request_identity_checked",
        "privacy.request_erasure_run",
        "privacy.person_erased",
        "privacy.request_closed",
    } <= actions
    for entry in AuditEntry.objects.filter(action__startswith="privacy.request_"):
        assert "Letter Lane" not in str(entry.details)


def test_logging_refuses_an_unknown_email_and_a_future_date_keeping_what_was_typed(cast):
    response = cast.client_for("dpo").post(
        NEW,
        {
            "kind": "access",
            "channel": "phone",
            "received_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
            "requester_details": "Caller from Salford",
            "email": "nobody@example.invalid",
        },
    )
    assert response.status_code == 400
    page = text(response)
    assert "can't be in the future" in page and "No account has that email address" in page
    assert "Caller from Salford" in page
    assert not DataRequest.objects.exists()


def test_the_last_admin_of_a_group_is_not_erased_and_the_officer_is_told_why(cast):
    admin = cast.users["admin_a"]
    data_request = checked(cast, log(cast, subject=admin))
    before = snapshot(data_request)
    with pytest.raises(RequestRefused, match="only admin of"):
        do_run_erasure(officer=cast.users["dpo"], data_request=data_request)

    response = cast.client_for("dpo").post(page_of(data_request, "erase/"), {"erase-confirm": "on"})
    assert response.status_code == 409
    page = text(response)
    assert "can't be erased yet" in page and cast.groups["group_a"].name in page
    assert User.objects.get(pk=admin.pk).erased_at is None
    assert snapshot(data_request) == before


def test_a_request_matched_later_by_email(cast):
    data_request = log(cast, DataRequest.Kind.RECTIFICATION)
    client = cast.client_for("dpo")
    response = client.post(page_of(data_request, "match/"), {"match-email": "no@example.invalid"})
    assert response.status_code == 400
    assert "No account has that email address" in text(response)
    response = client.post(
        page_of(data_request, "match/"), {"match-email": cast.users["volunteer_other"].email}
    )
    assert response.status_code == 302
    data_request.refresh_from_db()
    assert data_request.subject == cast.users["volunteer_other"]


# --- An access request: the export ----------------------------------------------------------


def test_an_access_request_builds_an_export_only_the_desk_downloads(cast):
    volunteer = cast.users["volunteer"]
    data_request = checked(cast, log(cast, DataRequest.Kind.ACCESS, subject=volunteer))
    client = cast.client_for("dpo")
    assert client.get(page_of(data_request, "export/download/")).status_code == 404

    response = client.post(page_of(data_request, "export/"))
    assert response.status_code == 302
    export = DataExport.objects.get(user=volunteer)
    assert export.status == DataExport.Status.READY
    assert "Download their data" in text(client.get(page_of(data_request)))

    before = AccessLogEntry.objects.filter(purpose="dpo_data_export").count()
    response = client.get(page_of(data_request, "export/download/"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert "data.json" in archive.namelist()
        assert cast.marker("volunteer") in archive.read("data.json").decode()
    assert (
        AccessLogEntry.objects.filter(
            purpose="dpo_data_export", actor=cast.users["dpo"], subject=volunteer
        ).count()
        == before + 1
    )

    # The platform admin works the desk too; nobody else gets the zip.
    assert (
        cast.client_for("platform_admin").get(page_of(data_request, "export/download/")).status_code
        == 200
    )
    for key in ("volunteer", "organiser_a", "admin_a", "curator", "volunteer_other"):
        response = cast.client_for(key).get(page_of(data_request, "export/download/"))
        assert response.status_code == 403, key


# --- An objection ---------------------------------------------------------------------------


def test_an_objection_stops_every_message_but_service_mail_at_once(cast):
    volunteer = cast.users["volunteer"]
    group = cast.groups["group_a"]
    audience = audience_of_users([volunteer])

    def message(kind: str) -> Any:
        return do_create_message(
            author=None,
            kind=kind,
            group=None if kind in (Kind.SERVICE, Kind.DIGEST) else group,
            subject="Canvassing on Saturday",
            body_text="Hi",
        )

    update = message(Kind.GROUP_UPDATE)
    assert preview(update, audience, now=NOON).reasons("suppressed") == {}

    # Logged by phone and matched to the account: their messages stop before anything else.
    data_request = log(cast, DataRequest.Kind.OBJECTION, subject=volunteer)
    assert Unsubscribe.objects.filter(user=volunteer, scope="everything").exists()
    for kind in (Kind.GROUP_UPDATE, Kind.ASK, Kind.MOVEMENT_NEWS, Kind.DIGEST):
        counts = preview(message(kind), audience, now=NOON)
        assert counts.reasons("suppressed") == {"unsubscribed": 1}, kind
    service = preview(message(Kind.SERVICE), audience, now=NOON)
    assert service.sent == 1 and service.reasons("sent") == {"service": 1}

    audit = AuditEntry.objects.get(action="privacy.request_objection_applied")
    assert audit.actor == cast.users["dpo"]
    assert AuditEntry.objects.filter(action="messaging.unsubscribed", details__via="dpo").exists()
    page = text(cast.client_for("dpo").get(page_of(data_request)))
    assert "is stopped" in page

    # Applying it again changes nothing.
    do_object(officer=cast.users["dpo"], data_request=data_request)
    assert Unsubscribe.objects.filter(user=volunteer).count() == 1


# --- The desk -------------------------------------------------------------------------------


def test_the_desk_lists_the_nearest_deadline_first_and_flags_the_overdue(
    cast, django_assert_num_queries
):
    today = timezone.localdate()
    later = log(cast, DataRequest.Kind.ACCESS, received_on=today - timedelta(days=2))
    overdue = log(cast, DataRequest.Kind.ERASURE, received_on=today - timedelta(days=45))
    extended = log(cast, DataRequest.Kind.OBJECTION, received_on=today - timedelta(days=10))
    DataRequest.objects.filter(pk=extended.pk).update(
        extended_to=latest_extension(extended.received_on), extension_reason="Complex"
    )
    soon = log(cast, DataRequest.Kind.RECTIFICATION, received_on=today - timedelta(days=20))
    closed = log(cast, DataRequest.Kind.ACCESS, received_on=today - timedelta(days=60))
    do_close(officer=cast.users["dpo"], data_request=closed, status="refused", outcome="Withdrawn")

    assert list(open_requests()) == [overdue, soon, later, extended]

    client = cast.client_for("dpo")
    client.get(DESK)
    # The session, the user with their roles, the MFA check, open and closed requests.
    with django_assert_num_queries(5):
        page = text(client.get(DESK))
    order = [page.index(r.public_id) for r in (overdue, soon, later, extended)]
    assert order == sorted(order)
    assert "Overdue by" in page and "(extended)" in page
    assert page.index("Closed requests") < page.index(closed.public_id)


@pytest.mark.parametrize(
    "key",
    [
        "anonymous",
        "volunteer",
        "volunteer_no_consent",
        "volunteer_other",
        "organiser_a",
        "admin_a",
        "organiser_b",
        "admin_parent",
        "curator",
        "organiser_no_mfa",
    ],
)
def test_only_the_officer_and_platform_admins_reach_the_desk(cast, key: str):
    data_request = log(cast, subject=cast.users["volunteer"])
    client = cast.client_for(key)
    for url in (DESK, NEW, page_of(data_request)):
        response = client.get(url)
        assert response.status_code in {302, 403, 404}, (key, url, response.status_code)
        assert cast.marker("volunteer") not in text(response)
    response = client.post(page_of(data_request, "identity/"), {"identity-note": "me"})
    assert response.status_code in {302, 403, 404}
    data_request.refresh_from_db()
    assert data_request.identity_checked_at is None


def test_officers_find_the_desk_among_their_tools(cast):
    assert 'href="/dpo/"' in text(cast.client_for("dpo").get("/me/"))
    assert 'href="/dpo/"' in text(cast.client_for("platform_admin").get("/platform/"))
    assert 'href="/dpo/"' not in text(cast.client_for("curator").get("/me/"))


def test_a_made_up_request_id_is_a_404_for_the_officer(cast):
    assert cast.client_for("dpo").get("/dpo/requests/not-a-real-id-00/").status_code == 404
    assert cast.client_for("platform_admin").get(DESK).status_code == 200
