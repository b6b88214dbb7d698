"""A volunteer's privacy rights in a real browser, with her organiser alongside: Vera says
yes to a need and shares her details; she reviews "Your data", stops sharing from it (the
organiser's people page no longer shows her details), prepares and downloads her data,
and deletes her account after signing in again; her former organiser then sees only
"A former volunteer"."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handsup.accounts.models import User
from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
from handsup.needs.answers import invitation_expiry
from handsup.needs.models import ContactGrant, Invitation, Need
from handsup.people.models import Skill, SkillCategory
from handsup.privacy.export import do_build_export
from handsup.privacy.models import DataExport
from tests.browser.journey import Journey
from tests.browser.test_offline_journey import PASSWORD, log_in_as_organiser_a
from tests.fixtures import Cast

pytestmark = pytest.mark.browser

TITLE = "Fold the newsletters"


def _skill() -> Skill:
    # Made here: an earlier browser test may have flushed the taxonomy the migrations load.
    category, _ = SkillCategory.objects.get_or_create(slug="zz-test", defaults={"name": "Test"})
    made, _ = Skill.objects.get_or_create(
        slug="zz-folding", defaults={"name": "Zealous folding", "category": category}
    )
    return made


def _need_asking(cast: Cast, vera: User) -> Need:
    """An open, remote need of group A, and an ask of Vera about it."""
    need = do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=NeedDetails(
            title=TITLE,
            description="Fold and stuff the summer newsletter.",
            skills=(SkillWanted(skill=_skill(), min_level=1, required=True),),
            location_kind=Need.LocationKind.REMOTE,
            place=None,
            radius_km=None,
            schedule_kind=Need.ScheduleKind.ONGOING,
            weekly_slots=0b11,
            hours=Decimal(2),
            people_needed=2,
            closes_on=timezone.localdate() + timedelta(days=20),
            visibility=Need.Visibility.MEMBERS,
        ),
        publish=True,
    )
    now = timezone.now()
    Invitation.objects.create(
        need=need,
        user=vera,
        source=Invitation.Source.ASK,
        invited_by=cast.users["organiser_a"],
        created_at=now,
        expires_at=invitation_expiry(need, now),
    )
    return need


def _log_in(journey: Journey, user: User) -> None:
    journey.visit("/accounts/login/")
    journey.fill("Email", user.email)
    journey.fill("Password", PASSWORD)
    journey.submit("Log in")


def test_a_volunteer_reviews_revokes_downloads_and_deletes(
    cast: Cast, new_journey, settings, live_server
) -> None:
    settings.SITE_URL = live_server.url
    vera = cast.users["volunteer"]
    name, email = vera.full_name, vera.email
    group = cast.groups["group_a"]
    need = _need_asking(cast, vera)
    people_page = f"/groups/manage/{group.public_id}/needs/{need.public_id}/people/"

    # Vera says yes, sharing her name and email with the group.
    volunteer = new_journey()
    _log_in(volunteer, vera)
    volunteer.visit(f"/needs/{need.public_id}/answer/?answer=yes")
    volunteer.submit("Send my answer")
    grant = ContactGrant.objects.get(user=vera, need=need)
    assert grant.revoked_at is None

    # Her organiser sees her details.
    organiser = new_journey()
    log_in_as_organiser_a(cast, organiser)
    organiser.visit(people_page)
    organiser_main = organiser.page.locator("main")
    expect(organiser_main).to_contain_text(vera.email)

    # She reviews "Your data", from her own page.
    volunteer.visit("/me/")
    volunteer.click(volunteer.page.get_by_role("link", name=re.compile(r"^Your data:")))
    page = volunteer.page
    expect(page.get_by_role("heading", name="Your data", level=1)).to_be_visible()
    seen = page.get_by_role("table", name="Groups that have seen your details, newest first")
    expect(seen).to_contain_text(group.name)
    expect(seen).to_contain_text("Saw your contact details for a need you said yes to")
    expect(seen).not_to_contain_text(cast.users["organiser_a"].full_name)
    asks = page.get_by_role("table", name=re.compile(r"^Needs a group asked you about"))
    expect(asks).to_contain_text(TITLE)
    expect(asks).to_contain_text("You said yes")
    holders = page.get_by_role("table", name=re.compile(r"^Groups that can see your contact"))
    expect(holders).to_contain_text(TITLE)
    expect(page.get_by_role("table", name="Your consents now")).to_contain_text(
        "This group may email me"
    )
    expect(page.get_by_role("table", name=re.compile(r"^Groups you belong to"))).to_contain_text(
        "It deletes your details within"
    )

    # She stops sharing from the ledger; the organiser's page hides her details at once.
    volunteer.submit(re.compile(r"^Stop sharing with .* for “Fold the newsletters”"))
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    expect(page.locator(".notifications")).to_contain_text("can no longer see your details")
    organiser.visit(people_page)
    expect(organiser_main).not_to_contain_text(vera.email)
    expect(organiser_main).to_contain_text("withdrew their contact details")
    volunteer.visit("/my-data/")
    expect(page.locator("section[aria-labelledby=holders]")).to_contain_text(
        "No group can see your contact details now."
    )

    # She prepares her download; the worker builds it; the page reloads by itself.
    volunteer.click("Download your data")
    volunteer.submit("Prepare my download")
    do_build_export(export=DataExport.objects.get(user=vera))
    download_link = page.get_by_role("link", name="Download (zip)")
    expect(download_link).to_be_visible(timeout=10_000)
    volunteer.check()
    with page.expect_download() as download:
        download_link.click()
    path = download.value.path()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        assert "data.json" in archive.namelist()
        data = json.loads(archive.read("data.json"))
    assert email in json.dumps(data)

    # She deletes her account, signing in again to confirm it is her.
    volunteer.visit("/my-data/")
    volunteer.click("Delete your account")
    page.get_by_label("I understand this can't be undone").check()
    volunteer.submit("Delete my account")
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    volunteer.fill("Password", PASSWORD)
    volunteer.submit("Confirm")
    expect(page.get_by_role("heading", level=1)).to_contain_text("deleted")
    vera.refresh_from_db()
    assert vera.erased

    # Her former organiser sees only "A former volunteer".
    organiser.visit(people_page)
    expect(organiser_main).to_contain_text("A former volunteer")
    expect(organiser_main).not_to_contain_text(name)
    expect(organiser_main).not_to_contain_text(email)
