"""Stories in a real browser (issue 13).

1. Vera, a verified volunteer, tells her group's story: Markdown, the M1 district, a
   date, an issue tag, a type of action, a person who agreed to be named, a picture
   with its description. Her first try still names someone who did not agree: the page
   says so and nothing is stored. The curator takes the story from "Curate stories",
   moves it to in review, publishes and features it. The story is then in the Atom feed
   of its issue tag (it parses cleanly), in a volunteer's digest email, and on its page
   for an anonymous reader, with the consented name and the picture but never the name
   held back.
2. The organiser who wrote a published story asks for help to tell it; the draft need
   goes through the normal needs flow (publish, shortlist, ask); Vera says yes; the
   story counts her without naming her until she chooses to be named.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from django.utils import timezone
from playwright.sync_api import FilePayload, expect
from pytest_django.live_server_helper import LiveServer

from handsup.accounts.models import User
from handsup.core.models import PrivateFile
from handsup.messaging.digests import render_digest, run_digests
from handsup.messaging.models import Digest
from handsup.needs.models import Invitation, Need
from handsup.people.models import Skill, SkillCategory
from handsup.places.models import PostcodeDistrict
from handsup.stories.models import Story, StoryCredit, StoryHelpNeed, Tag
from handsup.stories.tests.conftest import make_story, png_bytes, private_media
from tests.browser.journey import Journey
from tests.browser.test_needs_journey import _log_in, _log_in_with_mfa, _make_findable
from tests.browser.test_offline_journey import log_in_as_organiser_a
from tests.fixtures import Cast

pytestmark = pytest.mark.browser

__all__ = ["private_media"]  # a fixture these journeys use: pictures go to a folder of their own

TITLE = "Tenants win a repairs deal in Hulme"
ALT = "Tenants outside the housing office holding a banner"
NEW_ALT = "The tenants' association at the signing, seen from behind"
CONSENTED = "Maria Lopez"
HELD_BACK = "Sam Heldback"
BODY = (
    "After a **rent strike** that lasted six weeks, the landlord agreed to fix the damp "
    "in forty flats.\n\n"
    f"{CONSENTED}, who chairs the tenants' association, said it was the meetings that "
    "did it:\n\n"
    "- a meeting every Tuesday\n"
    "- a letter to every councillor"
)


@pytest.fixture
def m1() -> None:
    """The M1 district, so a story can be placed there (transactional tests flush the
    postcode tables, so it is made here rather than trusted to be loaded)."""
    PostcodeDistrict.objects.get_or_create(
        code="M1", defaults={"area": "M", "eastings": 384_000, "northings": 398_000}
    )


@pytest.fixture
def tags() -> tuple[Tag, Tag]:
    """Housing and Campaign win, as migration 0002 loads them (an earlier transactional
    test may have flushed them)."""
    housing, _ = Tag.objects.get_or_create(
        kind=Tag.Kind.ISSUE, slug="housing", defaults={"name": "Housing"}
    )
    win, _ = Tag.objects.get_or_create(
        kind=Tag.Kind.ACTION, slug="campaign-win", defaults={"name": "Campaign win"}
    )
    return housing, win


@pytest.fixture
def video_editing() -> Skill:
    """The taxonomy's Video editing skill, which a "help tell it" need for a video asks for."""
    category, _ = SkillCategory.objects.get_or_create(
        slug="creative", defaults={"name": "Creative"}
    )
    skill, _ = Skill.objects.get_or_create(
        slug="video-editing", defaults={"name": "Video editing", "category": category}
    )
    return skill


def _banner() -> FilePayload:
    """A small picture, as chosen in the browser's file dialog."""
    return {"name": "banner.png", "mimeType": "image/png", "buffer": png_bytes(40, 30)}


def _crowd() -> FilePayload:
    """The picture the author sends instead, when a curator asks for another."""
    return {"name": "crowd.png", "mimeType": "image/png", "buffer": png_bytes(60, 40)}


def _fill_story(journey: Journey, cast: Cast, body: str) -> None:
    page = journey.page
    page.get_by_label("Is it a story of one of your groups?").select_option(
        label=cast.groups["group_a"].name
    )
    journey.fill("Title", TITLE)
    journey.fill("What happened", body)
    journey.fill("Where: postcode district", "m1")
    journey.fill("When it happened", (timezone.localdate() - timedelta(days=30)).isoformat())
    page.get_by_label("Housing", exact=True).check()
    page.get_by_label("Campaign win", exact=True).check()
    page.locator("#id_people-0-name").fill(CONSENTED)
    page.locator("#id_people-0-role").fill("chair of the tenants' association")
    page.locator("#id_people-0-consented").check()
    page.locator("#id_people-1-name").fill(HELD_BACK)
    page.locator("#id_people-1-role").fill("a neighbour")
    expect(page.locator("#id_people-1-consented")).not_to_be_checked()
    journey.fill("Links to media", "https://example.org/news/hulme-repairs")
    page.locator("#id_images-0-image").set_input_files(files=_banner())
    page.locator("#id_images-0-alt_text").fill(ALT)


def test_submit_curate_publish_then_feed_digest_and_story_page(
    cast: Cast,
    new_journey: Callable[..., Journey],
    m1: None,
    tags: tuple[Tag, Tag],
    private_media: Path,
    settings: Any,
    live_server: LiveServer,
) -> None:
    settings.SITE_URL = live_server.url
    vera = cast.users["volunteer"]
    assert vera.person.verified

    # Vera finds the form from the stories index.
    author = new_journey()
    _log_in(author, vera)
    author.visit("/stories/")
    author.click("Tell your group's story")
    page = author.page
    expect(page.get_by_role("heading", name="Tell a story", level=1)).to_be_visible()

    # First try: the text names someone who hasn't agreed to it. Nothing is kept.
    _fill_story(author, cast, f"{BODY}\n\n{HELD_BACK} lent us the hall.")
    author.submit("Send the story")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text(
        f"{HELD_BACK} is named in your story but hasn't agreed to be named: tick the box "
        "or take the name out."
    )
    assert Story.objects.count() == 0
    assert PrivateFile.objects.count() == 0
    assert not any(path.is_file() for path in private_media.rglob("*"))

    # She takes the name out of the text (the row stays, unticked: held back) and
    # chooses the picture again, as the page asks.
    expect(page.get_by_label("Title", exact=True)).to_have_value(TITLE)
    author.fill("What happened", BODY)
    expect(page.locator("#id_people-1-name")).to_have_value(HELD_BACK)
    page.locator("#id_images-0-image").set_input_files(files=_banner())
    author.submit("Send the story")
    expect(page.get_by_role("heading", name="Thank you for your story")).to_be_visible()

    story = Story.objects.get()
    housing, win = tags
    assert story.title == TITLE and story.author == vera
    assert story.status == Story.Status.NEW and story.published_at is None
    assert story.group == cast.groups["group_a"]
    assert (story.district, story.region) == ("M1", "north_west")
    assert list(story.issues.all()) == [housing] and story.action_type == win
    assert {(p.name, p.consented) for p in story.people.all()} == {
        (CONSENTED, True),
        (HELD_BACK, False),
    }
    [image] = story.images.all()
    assert image.alt_text == ALT and (image.width, image.height) == (40, 30)
    assert len([path for path in private_media.rglob("*") if path.is_file()]) == 1

    # Nobody else can read it before a curator publishes it.
    reader = new_journey()
    missing = reader.page.goto(reader.url(f"/stories/{story.public_id}/"))
    assert missing is not None and missing.status == 404
    reader.check()

    # The curator works the queue: in review, published, featured.
    curator = new_journey()
    _log_in_with_mfa(curator, cast, "curator")
    curator.click("Curate stories")
    expect(curator.page.get_by_role("heading", name="Stories to curate")).to_be_visible()
    curator.click(TITLE)
    review = curator.page
    expect(review.get_by_role("heading", level=1)).to_have_text(f"Review “{TITLE}”")
    expect(review.get_by_role("img", name=ALT)).to_be_visible()
    expect(review.locator("main")).to_contain_text("held back: not shown")
    review.get_by_label("In review", exact=True).check()
    curator.submit("Save the decision")
    expect(review.locator(".notifications")).to_contain_text(f"“{TITLE}” is in review.")

    # The curator asks for another picture; Vera replaces it from her stories.
    review.get_by_label("Needs changes", exact=True).check()
    curator.fill("Note to the author", "Please use a picture where nobody's face shows.")
    curator.submit("Save the decision")
    expect(review.locator(".notifications")).to_be_visible()
    story.refresh_from_db()
    assert story.status == Story.Status.NEEDS_CHANGES
    old_file = str(image.file.file.name)
    author.visit("/stories/mine/")
    author.click(f"Change “{TITLE}”")
    expect(page.locator("main")).to_contain_text("nobody's face shows")
    expect(page.get_by_role("img", name=ALT)).to_be_visible()
    page.get_by_label("Remove this picture").check()
    page.locator("#id_images-0-image").set_input_files(files=_crowd())
    page.locator("#id_images-0-alt_text").fill(NEW_ALT)
    author.submit("Save and send back")
    expect(page.locator(".notifications")).to_contain_text("are saved and back with our curators")
    [image] = story.images.all()
    assert image.alt_text == NEW_ALT and (image.width, image.height) == (60, 40)
    stored = [path for path in private_media.rglob("*") if path.is_file()]
    assert len(stored) == 1 and not str(stored[0]).endswith(old_file)

    # Back in the queue as new: the curator takes it into review and publishes it.
    curator.visit(f"/curate/stories/{story.public_id}/")
    expect(review.get_by_role("img", name=NEW_ALT)).to_be_visible()
    review.get_by_label("In review", exact=True).check()
    curator.submit("Save the decision")
    expect(review.locator(".notifications")).to_contain_text(f"“{TITLE}” is in review.")
    review.get_by_label("Published", exact=True).check()
    curator.submit("Save the decision")
    expect(review.locator(".notifications")).to_contain_text(f"“{TITLE}” is published.")
    curator.submit("Feature it")
    expect(review.locator(".notifications")).to_contain_text(f"“{TITLE}” is featured.")
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.published_at is not None and story.featured_at is not None

    # An anonymous reader sees the story, the consented name and the picture; never
    # the name held back.
    reader.visit(f"/stories/{story.public_id}/")
    main = reader.page.locator("main")
    expect(reader.page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(main.locator(".story-body strong")).to_have_text("rent strike")
    expect(main.locator(".story-people")).to_contain_text(CONSENTED)
    expect(main).to_contain_text("Manchester (M1)")
    expect(main).not_to_contain_text(HELD_BACK)
    picture = reader.page.get_by_role("img", name=NEW_ALT)
    expect(picture).to_be_visible()
    src = picture.get_attribute("src")
    assert src is not None
    served = reader.page.request.get(reader.url(src))
    assert served.status == 200
    assert served.headers["content-type"] == "image/png"

    # From its issue tag to that tag's Atom feed, which parses cleanly and holds it.
    reader.click("Housing")
    feed_link = reader.page.get_by_role("link", name="Follow these stories (Atom feed)")
    href = feed_link.get_attribute("href")
    assert href is not None and "issue=housing" in href
    response = reader.page.request.get(reader.url(href))
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.body())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.feed.title == "Stories from Hands Up: Housing"
    assert [entry.title for entry in feed.entries] == [TITLE]
    assert feed.entries[0].link.endswith(f"/stories/{story.public_id}/")
    assert HELD_BACK not in response.text()

    # The digests run: a volunteer who has been here a while gets it in hers.
    owen = cast.users["volunteer_other"]
    User.objects.filter(pk=owen.pk).update(date_joined=timezone.now() - timedelta(days=90))
    run_digests(now=timezone.now())
    digest = Digest.objects.get(user=owen)
    [section] = [s for s in digest.sections if s["name"] == "stories"]
    assert [item["title"] for item in section["items"]] == [TITLE]
    email = render_digest(digest, name=owen.full_name)
    assert "STORIES FROM THE MOVEMENT" in email.text
    assert TITLE in email.text and TITLE in email.html
    assert f"/stories/{story.public_id}/" in email.text
    assert HELD_BACK not in email.text


def test_a_help_need_is_filled_through_the_needs_flow_and_the_story_shows_it(
    cast: Cast,
    new_journey: Callable[..., Journey],
    video_editing: Skill,
    settings: Any,
    live_server: LiveServer,
) -> None:
    settings.SITE_URL = live_server.url
    group = cast.groups["group_a"]
    vera = cast.users["volunteer"]
    _make_findable(vera, video_editing)
    story = make_story(
        cast.users["organiser_a"],
        status=Story.Status.PUBLISHED,
        group=group,
        title="The food bank that feeds three hundred families",
        body="Every Saturday, volunteers sort and hand out food at the church hall.",
    )
    story_page = f"/stories/{story.public_id}/"

    # The organiser who wrote it asks for help to tell it, from the story's page.
    organiser = new_journey()
    log_in_as_organiser_a(cast, organiser)
    organiser.visit(story_page)
    organiser.click("Ask volunteers for help to tell this story")
    page = organiser.page
    expect(page.get_by_role("heading", name="Help tell this story", level=1)).to_be_visible()
    page.get_by_label("Video editing", exact=True).check()
    organiser.fill("What's wanted, in a few words", "Cut our phone footage into a short video.")
    organiser.fill("How many people", "1")
    organiser.fill("Hours of effort for each person", "4")
    expect(page.get_by_label(group.name, exact=True)).to_be_checked()
    organiser.submit("Save the need as a draft")

    # It is an ordinary draft need of the group: its edit page, then publish it.
    help_need = StoryHelpNeed.objects.get(story=story)
    need = help_need.need
    assert help_need.kind == StoryHelpNeed.Kind.VIDEO
    assert need.status == Need.Status.DRAFT and need.group == group
    assert need.location_kind == Need.LocationKind.REMOTE and need.people_needed == 1
    assert page.url.endswith(f"/groups/manage/{group.public_id}/needs/{need.public_id}/edit/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit “{need.title}”")
    expect(page.locator(".notifications")).to_contain_text("is saved as a draft")
    organiser.click(f"Needs of {group.name}")
    organiser.submit(re.compile(r"^Publish"))
    need.refresh_from_db()
    assert need.status == Need.Status.OPEN

    # The shortlist finds Vera (remote video editor); the organiser asks her.
    organiser.click(page.get_by_role("link", name=re.compile(r"^Shortlist")))
    boxes = page.get_by_role("checkbox", name=re.compile(r"^Ask Volunteer "))
    expect(boxes).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text(vera.full_name)
    boxes.first.check()
    organiser.submit("Check who can be asked")
    organiser.submit("Send the asks")
    expect(page.locator(".notifications")).to_contain_text("Asked 1 person")
    invitation = Invitation.objects.get(need=need)
    assert invitation.user == vera and invitation.status == Invitation.Status.PENDING

    # Vera says yes through the need's answer page.
    volunteer = new_journey()
    _log_in(volunteer, vera)
    volunteer.visit(f"/needs/{need.public_id}/answer/?answer=yes")
    expect(volunteer.page.get_by_label("Yes, I can help")).to_be_checked()
    volunteer.submit("Send my answer")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    need.refresh_from_db()
    assert need.filled_count == 1

    # An anonymous reader sees she helped, counted but not named.
    reader = new_journey()
    reader.visit(story_page)
    count = reader.page.locator(".story-help__count")
    expect(count).to_have_text("Told with help from 1 volunteer.")
    expect(reader.page.locator("main")).not_to_contain_text(vera.full_name)

    # She chooses to be named on the story; then her name shows, to everyone.
    volunteer.visit(story_page)
    helper = volunteer.page.locator(".story-help__credit")
    expect(helper).to_contain_text("You are counted, but your name isn't shown")
    volunteer.submit("Show my name as a helper")
    expect(volunteer.page.locator(".notifications")).to_contain_text(
        "Your name is shown on the story as one of its helpers."
    )
    assert StoryCredit.objects.filter(story=story, user=vera).exists()
    reader.visit(story_page)
    expect(count).to_have_text(f"Told with help from 1 volunteer: {vera.full_name}.")
