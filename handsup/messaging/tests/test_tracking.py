"""Bounces and complaints from the mail provider (django-anymail's tracking signal and
its webhook): the address is suppressed, pacing says why, the sender's history counts
them, the person's ledger page says so, and confirming the address lifts it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from anymail.signals import AnymailTrackingEvent, tracking
from django.core import mail
from django.test import Client, override_settings
from django.urls import include, path

from handsup.messaging.delivery import message_id_header
from handsup.messaging.models import (
    AddressSuppression,
    Kind,
    LedgerEntry,
    Message,
    OutboxItem,
)
from handsup.messaging.pacing import audience_of_users, preview
from handsup.messaging.tests.helpers import draft
from handsup.privacy.models import AuditEntry
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

# For the webhook test: anymail's URLs, as `ANYMAIL_WEBHOOKS` mounts them in production.
urlpatterns = [path("anymail/", include("anymail.urls"))]

UPDATE = {"subject": "Leafleting on Saturday", "body": "Meet at **10am**.", "audience": "all"}
BOUNCED_AT = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


def _send_update(cast: Cast) -> Message:
    """An organiser of group A sends an update to every member, through the composer."""
    client = cast.client_for("organiser_a")
    public_id = cast.groups["group_a"].public_id
    response = client.post(f"/groups/manage/{public_id}/updates/new/", {**UPDATE, "action": "send"})
    assert response.status_code == 302
    return Message.objects.get(subject=UPDATE["subject"])


def _event(event_type: str, recipient: str, **fields: object) -> AnymailTrackingEvent:
    return AnymailTrackingEvent(
        event_type=event_type,
        timestamp=BOUNCED_AT,
        recipient=recipient,
        **fields,
    )


def _signal(event: AnymailTrackingEvent, esp_name: str = "Mailgun") -> None:
    tracking.send(sender=object, event=event, esp_name=esp_name)


def _history(cast: Cast) -> str:
    client = cast.client_for("organiser_a")
    public_id = cast.groups["group_a"].public_id
    return client.get(f"/groups/manage/{public_id}/updates/").content.decode()


def test_a_hard_bounce_suppresses_the_address_and_shows_everywhere(cast: Cast) -> None:
    message = _send_update(cast)
    vera = cast.users["volunteer"]
    assert OutboxItem.objects.filter(message=message, user=vera).exists()
    # Mailgun reports our own Message-ID (without the angle brackets) as `message_id`.
    _signal(
        _event(
            "bounced",
            vera.email.upper(),  # the provider's spelling; we match case-insensitively
            message_id=message_id_header(message.pk, vera.pk).strip("<>"),
            mta_response="550 5.1.1 The email account that you tried to reach does not exist",
            esp_event={"event": "failed", "severity": "permanent"},
        )
    )

    suppression = AddressSuppression.objects.get(user=vera)
    assert (suppression.cause, suppression.reason, suppression.provider) == (
        "bounced",
        "address_bounced",
        "Mailgun",
    )
    assert suppression.address == vera.email.lower() and suppression.at == BOUNCED_AT
    assert suppression.message_id == message.pk and suppression.cleared_at is None
    assert "does not exist" in suppression.detail
    assert AuditEntry.objects.filter(action="messaging.address_suppressed").count() == 1

    row = OutboxItem.objects.get(message=message, user=vera)
    assert row.feedback == "bounced"
    message.refresh_from_db()
    assert (message.bounced_count, message.complained_count) == (1, 0)
    history = _history(cast)
    assert "Bounced" in history and '<td class="numeric">1</td>' in history

    # Pacing now suppresses mail to that address, with the reason, and queues nothing.
    later = draft(Kind.GROUP_UPDATE, cast.groups["group_a"])
    counts = preview(later, audience_of_users([vera]))
    assert counts.reasons("suppressed") == {"address_bounced": 1}
    service = draft(Kind.SERVICE)
    assert preview(service, audience_of_users([vera])).reasons("suppressed") == {
        "address_bounced": 1
    }

    page = cast.client_for("volunteer").get("/me/messages/").content.decode()
    assert f"Your address {vera.email} bounced on 4 March 2026; we've stopped emailing it." in (
        page
    )
    assert "Update your address" in page and "does not exist" in page


def test_the_next_message_is_suppressed_in_the_ledger_with_its_reason(cast: Cast) -> None:
    vera = cast.users["volunteer"]
    _signal(_event("complained", vera.email), esp_name="SendGrid")
    message = _send_update(cast)
    entry = LedgerEntry.objects.get(message=message, user=vera)
    assert (entry.decision, entry.reason) == ("suppressed", "complained")
    assert not OutboxItem.objects.filter(message=message, user=vera).exists()
    # Everyone else in the group still gets it.
    assert OutboxItem.objects.filter(message=message).exclude(user=vera).exists()
    page = cast.client_for("volunteer").get("/me/messages/").content.decode()
    assert "You reported our email as spam: we stopped emailing you" in page  # the ledger
    assert f"You reported our email to {vera.email} as spam on 4 March 2026" in page


def test_a_complaint_found_by_the_message_id_inside_the_raw_event(cast: Cast) -> None:
    """SendGrid's own id is `sg_message_id`; our Message-ID is in `smtp-id`."""
    message = _send_update(cast)
    vera = cast.users["volunteer"]
    ours = message_id_header(message.pk, vera.pk)
    event = _event(
        "complained",
        vera.email,
        message_id="Ab12Cd.filter0001.1-2.0",
        esp_event={"event": "spamreport", "smtp-id": ours, "email": vera.email},
    )
    _signal(event, esp_name="SendGrid")
    _signal(event, esp_name="SendGrid")  # providers may post the same event twice
    assert AddressSuppression.objects.filter(user=vera).count() == 1
    assert OutboxItem.objects.get(message=message, user=vera).feedback == "complained"
    message.refresh_from_db()
    assert (message.bounced_count, message.complained_count) == (0, 1)
    assert "Spam reports" in _history(cast)


def test_soft_bounces_and_other_events_change_nothing(cast: Cast) -> None:
    message = _send_update(cast)
    vera = cast.users["volunteer"]
    ours = message_id_header(message.pk, vera.pk)
    for event_type in ("deferred", "delivered", "opened", "queued", "unknown"):
        _signal(_event(event_type, vera.email, message_id=ours))
    assert not AddressSuppression.objects.exists()
    assert OutboxItem.objects.get(message=message, user=vera).feedback == ""
    later = draft(Kind.GROUP_UPDATE, cast.groups["group_a"])
    assert preview(later, audience_of_users([vera])).suppressed == 0


def test_a_rejection_suppresses_and_an_unknown_address_is_ignored(cast: Cast) -> None:
    vera = cast.users["volunteer"]
    _signal(_event("rejected", "nobody-we-know@example.org", message_id="whatever"))
    assert not AddressSuppression.objects.exists()
    _signal(_event("rejected", vera.email, reject_reason="invalid", description="Invalid"))
    suppression = AddressSuppression.objects.get()
    assert (suppression.cause, suppression.reason, suppression.message_id) == (
        "rejected",
        "address_bounced",
        None,  # no Message-ID of ours in the event: suppressed, counted on no message
    )
    assert suppression.detail == "Invalid"


def test_confirming_the_address_lifts_the_suppression(cast: Cast) -> None:
    vera = cast.users["volunteer"]
    _signal(_event("bounced", vera.email))
    client = cast.client_for("volunteer")
    assert "bounced on" in client.get("/me/messages/").content.decode()

    # The page's button sends a confirmation link to the address...
    response = client.post("/me/messages/", {"confirm_address": "1"})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[vera.email]]
    # ...and clicking it (allauth's confirmation) starts our mail again.
    address = EmailAddress.objects.get(user=vera, email__iexact=vera.email)
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)
    suppression = AddressSuppression.objects.get(user=vera)
    assert suppression.cleared_at is not None
    assert AuditEntry.objects.filter(action="messaging.address_unsuppressed").count() == 1
    assert "bounced on" not in client.get("/me/messages/").content.decode()
    later = draft(Kind.GROUP_UPDATE, cast.groups["group_a"])
    assert preview(later, audience_of_users([vera])).suppressed == 0

    # A bounce after that is a new suppression (the old one stays as history).
    _signal(_event("bounced", vera.email))
    assert AddressSuppression.objects.filter(user=vera, cleared_at__isnull=True).count() == 1
    assert AddressSuppression.objects.filter(user=vera).count() == 2


def test_a_changed_address_is_not_suppressed(cast: Cast) -> None:
    vera = cast.users["volunteer"]
    _signal(_event("bounced", vera.email))
    vera.email = "vera.new@example.org"
    vera.save()
    later = draft(Kind.GROUP_UPDATE, cast.groups["group_a"])
    assert preview(later, audience_of_users([vera])).suppressed == 0
    assert "bounced on" not in cast.client_for("volunteer").get("/me/messages/").content.decode()


# --- The webhook, as a provider posts it ------------------------------------------------------


SECRET = "handsup-hook:s3cret-for-tests"


def _basic_auth(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.mark.urls("handsup.messaging.tests.test_tracking")
@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_postmarks_bounce_webhook_suppresses_the_address(cast: Cast) -> None:
    """Postmark's bounce webhook, posted as Postmark does (JSON, HTTP basic auth)."""
    vera = cast.users["volunteer"]
    payload = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": vera.email,
        "From": "no-reply@handsup.invalid",
        "BouncedAt": "2026-03-04T09:30:00Z",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Leafleting on Saturday",
        "MessageStream": "outbound",
    }
    url = "/anymail/postmark/tracking/"
    # No session, no CSRF token: the provider's only credential is the basic auth.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    body = json.dumps(payload)
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 400  # no credentials: nothing recorded
    assert not AddressSuppression.objects.exists()
    response = client.post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=_basic_auth(SECRET)
    )
    assert response.status_code == 200
    suppression = AddressSuppression.objects.get(user=vera)
    assert (suppression.cause, suppression.provider, suppression.at) == (
        "bounced",
        "Postmark",
        BOUNCED_AT,
    )
    assert "does not exist" in suppression.detail  # the MTA's reply, not the summary
