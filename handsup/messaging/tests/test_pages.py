"""The messaging pages as organisers, admins and volunteers use them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handsup.messaging.models import CampaignPeriod, LedgerEntry, Message, OutboxItem, Unsubscribe
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

UPDATE = {"subject": "Leafleting on Saturday", "body": "Meet at **10am**.", "audience": "all"}


def _compose_url(cast: Cast) -> str:
    return f"/groups/manage/{cast.groups['group_a'].public_id}/updates/new/"


def _quiet_now(cast: Cast, key: str) -> None:
    """Give the persona quiet hours around this moment, in their time zone."""
    profile = cast.users[key].person.profile
    wall = datetime.now(UTC).astimezone(ZoneInfo(profile.time_zone))
    profile.quiet_from = (wall - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    profile.quiet_until = (wall + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    profile.save()


def test_the_preview_counts_and_writes_nothing(cast: Cast) -> None:
    _quiet_now(cast, "volunteer")
    client = cast.client_for("organiser_a")
    response = client.post(_compose_url(cast), {**UPDATE, "action": "preview"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "What will happen if you send it now" in page
    assert "Held until their quiet hours end" in page
    assert "<strong>10am</strong>" in page  # the rendered preview
    assert not Message.objects.exists() and not LedgerEntry.objects.exists()


def test_sending_decides_for_everyone_and_the_history_shows_it(cast: Cast) -> None:
    _quiet_now(cast, "volunteer")
    client = cast.client_for("organiser_a")
    response = client.post(_compose_url(cast), {**UPDATE, "action": "send"})
    assert response.status_code == 302
    message = Message.objects.get()
    vera = cast.users["volunteer"]
    held = LedgerEntry.objects.get(message=message, user=vera)
    assert (held.decision, held.reason) == ("held", "quiet_hours")
    shy = LedgerEntry.objects.get(message=message, user=cast.users["volunteer_no_consent"])
    assert shy.decision == "suppressed"
    assert OutboxItem.objects.filter(message=message, user=vera).exists()  # held, not dropped
    history = client.get(response["Location"]).content.decode()
    assert "Leafleting on Saturday" in history


def test_over_budget_folds_and_the_volunteer_sees_why(cast: Cast) -> None:
    client = cast.client_for("organiser_a")
    client.post(_compose_url(cast), {**UPDATE, "action": "send"})
    client.post(_compose_url(cast), {**UPDATE, "subject": "And another thing", "action": "send"})
    second = Message.objects.get(subject="And another thing")
    vera = cast.users["volunteer"]
    entry = LedgerEntry.objects.get(message=second, user=vera)
    assert entry.decision == "folded"
    page = cast.client_for("volunteer").get("/me/messages/").content.decode()
    assert "And another thing" in page
    assert entry.get_decision_display() in page and entry.get_reason_display() in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"body": "<script>alert(1)</script>"}, "script"),
        ({"body": "![x](https://tracker.example/pixel.png)"}, "image"),
        ({"audience": "area", "area": "ZE9"}, "Nobody is in this audience"),
        ({"audience": "area", "area": ""}, "Type the postcode area or district."),
        ({"audience": "skill"}, "Choose the skill"),
        ({"subject": ""}, "This field is required."),
    ],
)
def test_bad_updates_are_explained_and_nothing_is_sent(cast: Cast, changes, message) -> None:
    client = cast.client_for("organiser_a")
    response = client.post(_compose_url(cast), {**UPDATE, **changes, "action": "send"})
    assert response.status_code == 400
    assert message.lower() in response.content.decode().lower()
    assert not Message.objects.exists() and not LedgerEntry.objects.exists()


def test_another_groups_organiser_cannot_write_to_a(cast: Cast) -> None:
    response = cast.client_for("organiser_b").post(_compose_url(cast), {**UPDATE, "action": "send"})
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_campaign_periods_refuse_an_end_before_the_start(cast: Cast) -> None:
    url = f"/groups/manage/{cast.groups['group_a'].public_id}/campaigns/"
    client = cast.client_for("admin_a")
    response = client.post(
        url, {"name": "By-election", "starts_at": "2026-12-10T09:00", "ends_at": "2026-12-01T09:00"}
    )
    assert response.status_code == 400
    assert "must end after it starts" in response.content.decode()
    assert not CampaignPeriod.objects.exists()


def test_a_campaign_period_is_shown_to_the_groups_volunteers(cast: Cast) -> None:
    url = f"/groups/manage/{cast.groups['group_a'].public_id}/campaigns/"
    now = datetime.now(UTC)
    response = cast.client_for("admin_a").post(
        url,
        {
            "name": "By-election",
            "starts_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    assert CampaignPeriod.objects.get().group == cast.groups["group_a"]
    page = cast.client_for("volunteer").get("/me/messages/").content.decode()
    assert "Campaign period: By-election" in page
    assert "asks a week during campaigns" in page
    other = cast.client_for("volunteer_other").get("/me/messages/").content.decode()
    assert "By-election" not in other


def test_unsubscribing_from_the_ledger_page_and_back(cast: Cast) -> None:
    client = cast.client_for("volunteer")
    group = cast.groups["group_a"]
    response = client.post("/me/messages/", {"scope": "group", "group": group.public_id})
    assert response.status_code == 302
    stop = Unsubscribe.objects.get(user=cast.users["volunteer"])
    assert stop.group == group
    # A group the volunteer is not in can't be named.
    client.post("/me/messages/", {"scope": "group", "group": cast.groups["group_b"].public_id})
    assert Unsubscribe.objects.filter(user=cast.users["volunteer"]).count() == 1
    client.post("/me/messages/", {"resubscribe": str(stop.pk)})
    assert not Unsubscribe.objects.filter(user=cast.users["volunteer"]).exists()


def test_platform_admin_changes_the_contact_limits_within_reason(cast: Cast) -> None:
    from handsup.messaging.models import ContactLimits

    client = cast.client_for("platform_admin")
    page = client.get("/platform/contact-limits/")
    assert page.status_code == 200
    current = {
        name: getattr(ContactLimits.current(), name)
        for name in page.context["form"].fields  # type: ignore[index]
    }
    response = client.post("/platform/contact-limits/", {**current, "asks_per_week_normal": "2"})
    assert response.status_code == 302
    assert ContactLimits.current().asks_per_week_normal == 2
    response = client.post("/platform/contact-limits/", {**current, "asks_per_day": "-1"})
    assert response.status_code == 400
    assert ContactLimits.current().asks_per_day == current["asks_per_day"]
    assert cast.client_for("admin_a").get("/platform/contact-limits/").status_code == 404


def test_dead_letters_are_shown_without_names_and_can_be_retried(cast: Cast) -> None:
    from django.utils import timezone

    from handsup.messaging.actions import do_create_message
    from handsup.messaging.models import Kind, OutboxItem

    message = do_create_message(
        author=cast.users["organiser_a"],
        kind=Kind.GROUP_UPDATE,
        group=cast.groups["group_a"],
        subject="Bounced update",
    )
    vera = cast.users["volunteer"]
    OutboxItem.objects.create(
        message=message,
        user=vera,
        address=vera.email,
        status=OutboxItem.Status.DEAD,
        due_at=timezone.now(),
        attempts=5,
        last_error=f"Refused: 550 5.1.1 <{vera.email}>: no such mailbox",
    )
    type(message).objects.filter(pk=message.pk).update(failed_count=1)
    client = cast.client_for("platform_admin")
    page = client.get("/platform/dead-letters/").content.decode()
    assert "Bounced update" in page and "no such mailbox" in page
    assert vera.email not in page
    response = client.post("/platform/dead-letters/", {"message": message.public_id})
    assert response.status_code == 302
    row = OutboxItem.objects.get(message=message)
    assert (row.status, row.attempts, row.last_error) == ("queued", 0, "")
    message.refresh_from_db()
    assert message.failed_count == 0
    assert cast.client_for("organiser_a").get("/platform/dead-letters/").status_code == 404
