"""Needs and introductions in a real browser, with an organiser and a volunteer side by
side: the organiser posts a need, sees a shortlist that leaves out a volunteer at their
budget and one who opted out, asks three people; the volunteer says yes and shares her
phone; the organiser sees her details and logs her hours; another group's organiser gets
404 on the shortlist and the invite URLs; and when the volunteer stops sharing, her
details disappear from the organiser's page at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handsup.accounts.models import User
from handsup.core.personas import persona
from handsup.needs.models import ContactGrant, HoursLog, Invitation, Need
from handsup.needs.tests.conftest import make_volunteer, record_ask
from handsup.people.models import PersonSkill, Skill, SkillCategory
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import AccessLogEntry
from handsup.privacy.register import PurposeCode
from tests.browser.journey import Journey, totp_code
from tests.browser.test_offline_journey import PASSWORD, log_in_as_organiser_a
from tests.fixtures import Cast

pytestmark = pytest.mark.browser

PHONE = "07700 900123"


@pytest.fixture
def skill() -> Skill:
    category, _ = SkillCategory.objects.get_or_create(slug="zz-test", defaults={"name": "Test"})
    made, _ = Skill.objects.get_or_create(
        slug="zz-phone-banking", defaults={"name": "Zany phone banking", "category": category}
    )
    return made


def _make_findable(user: User, skill: Skill) -> None:
    """Vera, the volunteer persona: a remote phone-banker who lets groups find her."""
    person = user.person
    person.verified = True
    person.save(update_fields=["verified"])
    profile = person.profile
    profile.phone = PHONE
    profile.save(update_fields=["phone"])
    PersonSkill.objects.create(person=person, skill=skill, level=3, remote=True)
    do_record_consent(
        user=user, purpose=PurposeCode.FOUND_MOVEMENT, given=True, source="web", recorded_by=user
    )


def _log_in(journey: Journey, user: User) -> None:
    journey.visit("/accounts/login/")
    journey.fill("Email", user.email)
    journey.fill("Password", PASSWORD)
    journey.submit("Log in")


def _log_in_with_mfa(journey: Journey, cast: Cast, key: str) -> None:
    _log_in(journey, cast.users[key])
    journey.fill("Code", totp_code(persona(key).totp_secret))
    journey.submit("Continue")


def _post_as(journey: Journey, path: str, form: dict[str, str | float | bool]) -> int:
    """POST from this person's browser session (their cookies and CSRF token)."""
    token = next(c["value"] for c in journey.page.context.cookies() if c["name"] == "csrftoken")
    response = journey.page.request.post(
        journey.url(path),
        form=form,
        headers={"X-CSRFToken": token, "Referer": journey.url("/")},
        max_redirects=0,
    )
    return response.status


def test_post_shortlist_ask_accept_introduce_log_hours_and_revoke(
    cast: Cast, new_journey, skill: Skill, settings, live_server
) -> None:
    settings.SITE_URL = live_server.url
    group = cast.groups["group_a"]
    vera = cast.users["volunteer"]
    _make_findable(vera, skill)
    others = [
        make_volunteer(skills={skill: (2, True)}, offset_m=None, marker=f"Other{n}")
        for n in range(2)
    ]
    at_budget = make_volunteer(skills={skill: (4, True)}, offset_m=None, marker="AtBudget")
    record_ask(at_budget, cast.groups["group_b"], timezone.now() - timedelta(hours=2))
    opted_out = make_volunteer(skills={skill: (4, True)}, offset_m=None, found=None)

    # The organiser posts a remote, ongoing need.
    organiser = new_journey()
    log_in_as_organiser_a(cast, organiser)
    organiser.visit(f"/groups/manage/{group.public_id}/needs/new/")
    page = organiser.page
    organiser.fill("Title", "Ring round for the AGM")
    organiser.fill("What the help is", "Call members to remind them about the AGM.")
    page.select_option("select[name=skill_0]", str(skill.pk))
    page.select_option("select[name=level_0]", "2")
    page.check("input[name=location_kind][value=remote]")
    page.check("input[name=schedule_kind][value=ongoing]")
    page.check("#slot-2")  # Monday evening
    organiser.fill("Hours of effort for each person", "2")
    organiser.fill("People needed", "3")
    organiser.fill("Closing date", (timezone.localdate() + timedelta(days=20)).isoformat())
    organiser.submit("Publish now")
    need = Need.objects.get(title="Ring round for the AGM")
    assert need.status == Need.Status.OPEN
    manage = f"/groups/manage/{group.public_id}/needs/{need.public_id}"

    # Three cards: Vera and the two others; never the one at her budget or the opted out.
    organiser.visit(f"{manage}/shortlist/")
    cards = page.locator("li.card")
    expect(cards).to_have_count(3)
    text = page.locator("main").inner_text()
    for user in [vera, *others, at_budget, opted_out]:
        assert user.full_name not in text and user.email not in text
    assert AccessLogEntry.objects.filter(purpose="shortlist").count() == 3
    boxes = page.get_by_role("checkbox", name=re.compile(r"^Ask Volunteer "))
    expect(boxes).to_have_count(3)
    for index in range(3):
        boxes.nth(index).check()
    organiser.submit("Check who can be asked")
    expect(page.locator("main")).to_contain_text("3")
    organiser.submit("Send the asks")
    expect(page.locator(".notifications")).to_contain_text("Asked 3 people")
    invited = set(Invitation.objects.filter(need=need).values_list("user_id", flat=True))
    assert invited == {vera.pk, *(u.pk for u in others)}

    # Another group's organiser can't see the shortlist or use the invite URLs.
    intruder = new_journey()
    _log_in_with_mfa(intruder, cast, "organiser_b")
    response = intruder.page.goto(intruder.url(f"{manage}/shortlist/"))
    assert response is not None and response.status == 404
    intruder.check()
    for path in (f"{manage}/invite/", f"{manage}/invite/send/"):
        assert _post_as(intruder, path, {"person": "0" * 64}) == 404

    # Vera says yes from her own browser, and shares her phone.
    volunteer = new_journey()
    _log_in(volunteer, vera)
    volunteer.visit(f"/needs/{need.public_id}/answer/?answer=yes")
    expect(volunteer.page.get_by_label("Yes, I can help")).to_be_checked()
    volunteer.page.check("input[name=share_phone]")
    volunteer.submit("Send my answer")
    grant = ContactGrant.objects.get(user=vera, need=need)
    assert grant.share_phone and grant.revoked_at is None
    need.refresh_from_db()
    assert need.filled_count == 1

    # The organiser now sees her details (access-logged) and logs her hours.
    organiser.visit(f"{manage}/people/")
    main = page.locator("main")
    expect(main).to_contain_text(vera.full_name)
    expect(main).to_contain_text(vera.email)
    expect(main).to_contain_text(PHONE)
    assert AccessLogEntry.objects.filter(
        purpose="introduction_details", subject=vera, actor=cast.users["organiser_a"]
    ).exists()
    hours_form = page.locator("form", has=page.get_by_role("button", name="Log hours"))
    hours_form.get_by_label("Hours").fill("2.5")
    hours_form.get_by_label("Day").fill(timezone.localdate().isoformat())
    organiser.submit("Log hours")
    logged = HoursLog.objects.get(invitation__user=vera, invitation__need=need)
    assert str(logged.hours) == "2.5"

    # She stops sharing; the organiser's page hides her details at once.
    volunteer.visit("/me/introductions/")
    volunteer.submit(re.compile(r"^Stop sharing"))
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    organiser.visit(f"{manage}/people/")
    expect(main).not_to_contain_text(vera.email)
    expect(main).not_to_contain_text(PHONE)
    expect(main).to_contain_text("withdrew their contact details")
