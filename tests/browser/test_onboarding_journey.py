"""Putting your hand up on a phone: four steps at 375 px, each page axe-checked, counting
form submissions and page weight and timing the whole journey; then editing availability
from the profile."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Request, expect

from handsup.people.models import Person, PersonSkill, Profile, Skill, SkillCategory
from handsup.places.models import Postcode, PostcodeDistrict
from handsup.privacy.models import ConsentEvent
from tests.browser.journey import Journey
from tests.browser.test_accounts_journeys import expect_heading

pytestmark = pytest.mark.browser

MAX_SUBMISSIONS = 4
MAX_PAGE_BYTES = 150_000
MAX_SECONDS = 120  # "two minutes on a phone"; the browser alone is far quicker

# Everything the current document loaded: itself and every subresource, uncompressed.
PAGE_WEIGHT_JS = """() => {
  const entries = [
    ...performance.getEntriesByType("navigation"),
    ...performance.getEntriesByType("resource"),
  ];
  return entries.reduce((sum, e) => sum + (e.decodedBodySize || e.transferSize || 0), 0);
}"""


def page_weight(journey: Journey) -> int:
    return int(journey.page.evaluate(PAGE_WEIGHT_JS))


@pytest.fixture
def places_and_skills() -> None:
    # Another journey on the same worker may have placed M1 already.
    PostcodeDistrict.objects.update_or_create(
        code="M1", defaults={"area": "M", "eastings": 384000, "northings": 398000}
    )
    Postcode.objects.update_or_create(
        code="M1 1AE", defaults={"district_code": "M1", "eastings": 384200, "northings": 398100}
    )
    category, _ = SkillCategory.objects.get_or_create(slug="zz-test", defaults={"name": "Test"})
    for slug, name, synonyms in [
        ("zz-video", "Zany video editing", "video\nfilming"),
        ("zz-leaflets", "Zany leafleting", "flyers"),
    ]:
        Skill.objects.get_or_create(
            slug=slug, defaults={"name": name, "category": category, "synonyms": synonyms}
        )


def test_put_your_hand_up_on_a_phone_then_edit_availability(
    new_journey, places_and_skills: None
) -> None:
    journey = new_journey(width=375, height=740)
    posts: list[str] = []

    def count_submissions(request: Request) -> None:
        if request.method == "POST" and request.resource_type == "document":
            posts.append(request.url)

    journey.page.on("request", count_submissions)
    weights: dict[str, int] = {}
    started = time.monotonic()

    journey.visit("/hand-up/")
    expect_heading(journey, "Put your hand up")
    weights["1 you"] = page_weight(journey)
    journey.fill("Your name", "Phoebe Phone")
    journey.fill("Email address", "phoebe@example.org")
    journey.fill("Choose a password", "a-long-and-unusual-passphrase")
    journey.fill("Postcode, or just its first part", "M1 1AE")
    journey.submit("Continue")

    expect_heading(journey, "What can you do?")
    # The type-ahead (htmx) shows matches as you type, synonyms included, with no submission.
    journey.fill("Search for a skill", "flyers")
    expect(journey.page.locator("#skill-results")).to_contain_text("Zany leafleting")
    assert posts == [journey.url("/hand-up/")]
    # Pressing Search works as a plain form would, for anyone without JavaScript.
    journey.fill("Search for a skill", "video")
    before_search = len(posts)
    journey.submit("Search")
    weights["2 skills"] = page_weight(journey)
    searches = len(posts) - before_search
    journey.page.get_by_label("Zany video editing", exact=True).check()
    journey.page.get_by_label("Your level at Zany video editing").select_option("3")
    journey.page.get_by_label("I can do Zany video editing remotely").check()
    journey.submit("Continue")

    expect_heading(journey, "When can you help?")
    weights["3 when"] = page_weight(journey)
    journey.page.get_by_label("Saturday morning").check()
    journey.page.get_by_label("Wednesday evening").check()
    journey.fill("Hours a week, normally", "3")
    journey.fill("Hours a week, during campaigns", "6")
    journey.submit("Continue")

    expect_heading(journey, "How should groups ask you?")
    weights["4 contact"] = page_weight(journey)
    journey.page.get_by_label("Only my groups", exact=False).check()
    journey.submit("Finish")
    expect_heading(journey, "Your profile")
    elapsed = time.monotonic() - started
    weights["profile"] = page_weight(journey)

    # Searching is a submission only for someone without JavaScript (htmx answers the
    # type-ahead otherwise); the steps themselves are the four that count.
    step_submissions = len(posts) - searches
    print(f"\nonboarding: {elapsed:.1f} s, {step_submissions} steps + {searches} search")
    print("page weights (bytes): " + ", ".join(f"{k}: {v}" for k, v in weights.items()))
    assert step_submissions <= MAX_SUBMISSIONS, posts
    assert step_submissions == 4
    assert all(weight < MAX_PAGE_BYTES for weight in weights.values()), weights
    assert elapsed < MAX_SECONDS

    person = Person.objects.get(user__email="phoebe@example.org")
    held = PersonSkill.objects.get(person=person)
    assert (held.skill.slug, held.level, held.remote) == ("zz-video", 3, True)
    profile = Profile.objects.get(person=person)
    assert profile.availability == (1 << (5 * 3)) | (1 << (2 * 3 + 2))
    assert ConsentEvent.objects.filter(
        user=person.user, purpose__code="found_my_groups", given=True
    ).exists()

    # Editing availability later, from the profile.
    journey.click("Change your availability")
    expect_heading(journey, "When can you help?")
    expect(journey.page.get_by_label("Saturday morning")).to_be_checked()
    journey.page.get_by_label("Sunday afternoon").check()
    journey.fill("Hours a week, during campaigns", "1")
    journey.submit("Save availability")
    expect(journey.page.locator(".error-message")).to_contain_text("can't be fewer")
    expect(journey.page.get_by_label("Sunday afternoon")).to_be_checked()
    journey.fill("Hours a week, during campaigns", "8")
    journey.submit("Save availability")
    expect_heading(journey, "Your profile")
    profile.refresh_from_db()
    assert profile.availability & (1 << (6 * 3 + 1))
    assert profile.hours_campaign == 8
