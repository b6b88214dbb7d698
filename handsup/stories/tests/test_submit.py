"""Submitting a story: every field's bad input, the honeypot, the rate limit, the outcome loop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from handsup.core.models import PrivateFile
from handsup.needs.models import Invitation, Need
from handsup.people.models import Person
from handsup.privacy.models import AuditEntry
from handsup.stories import actions
from handsup.stories.models import (
    MAX_IMAGES,
    MAX_LINKS,
    Story,
    StoryImage,
    StoryPerson,
    StoryRevision,
)
from handsup.stories.tests.conftest import jpeg_bytes, make_story, png_bytes, tag

pytestmark = pytest.mark.django_db

NEW = reverse("stories:new")


def story_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Tenants win repairs on the Hulme estate",
        "body": "After a year of letters, the landlord agreed to **fix the damp**.",
        "district": "m1",
        "region": "",
        "happened_on": "2026-03-01",
        "issues": [tag("issue", "housing").pk],
        "action_type": tag("action", "campaign-win").pk,
        "links": "https://example.org/news/hulme\nhttp://example.org/video",
        "group": "",
        "website": "",
        "people-TOTAL_FORMS": "3",
        "people-INITIAL_FORMS": "0",
        "people-MIN_NUM_FORMS": "0",
        "people-MAX_NUM_FORMS": "20",
        "images-TOTAL_FORMS": str(MAX_IMAGES),
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": str(MAX_IMAGES),
    }
    data.update(overrides)
    return data


def picture(name: str = "banner.png", content: bytes | None = None, kind: str = "image/png") -> Any:
    return SimpleUploadedFile(name, content if content is not None else png_bytes(), kind)


def nothing_stored(private_media: Any) -> None:
    assert Story.objects.count() == 0
    assert StoryPerson.objects.count() == 0
    assert StoryImage.objects.count() == 0
    assert PrivateFile.objects.count() == 0
    assert not private_media.exists() or not any(p.is_file() for p in private_media.rglob("*"))


# --- Who may submit -----------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(cast):
    response = cast.client_for("anonymous").get(NEW)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_an_unverified_member_is_told_why_they_cant_submit_yet(cast, places, private_media):
    Person.objects.filter(user=cast.users["volunteer"]).update(verified=False)
    client = cast.client_for("volunteer")
    response = client.get(NEW)
    assert response.status_code == 403
    assert "Confirm your email address first" in response.content.decode()
    response = client.post(NEW, story_data())
    assert response.status_code == 403
    nothing_stored(private_media)


def test_a_verified_member_submits_a_story_with_people_and_a_picture(cast, places, private_media):
    client = cast.client_for("volunteer")
    assert client.get(NEW).status_code == 200
    data = story_data(
        group=cast.groups["group_a"].pk,
        **{
            "people-0-name": "Amira Khan",
            "people-0-role": "tenant",
            "people-0-consented": "on",
            "people-1-name": "Bob Quiet",
            "images-0-image": picture(),
            "images-0-alt_text": "Tenants with a banner outside the town hall",
        },
    )
    response = client.post(NEW, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("stories:submitted")
    story = Story.objects.get()
    assert story.status == Story.Status.NEW  # never published without a curator
    assert story.published_at is None
    assert story.author == cast.users["volunteer"]
    assert story.group == cast.groups["group_a"]
    assert (story.district, story.region) == ("M1", "north_west")
    assert story.eastings is not None and story.northings is not None
    assert story.links == ["https://example.org/news/hulme", "http://example.org/video"]
    assert [t.slug for t in story.issues.all()] == ["housing"]
    assert story.action_type is not None and story.action_type.slug == "campaign-win"
    people = {p.name: p.consented for p in story.people.all()}
    assert people == {"Amira Khan": True, "Bob Quiet": False}
    image = StoryImage.objects.get()
    assert image.file.owner == cast.users["volunteer"]
    assert image.alt_text == "Tenants with a banner outside the town hall"
    assert (image.width, image.height) == (4, 3)
    assert AuditEntry.objects.filter(
        action="story.submitted", object_public_id=story.public_id
    ).exists()
    thanks = client.get(response["Location"])
    assert "Thank you for your story" in thanks.content.decode()


def test_a_region_alone_is_enough(cast, places, private_media):
    response = cast.client_for("volunteer").post(NEW, story_data(district="", region="wales"))
    assert response.status_code == 302
    story = Story.objects.get()
    assert (story.district, story.region, story.eastings) == ("", "wales", None)


def test_a_full_postcode_keeps_only_its_district(cast, places, private_media):
    response = cast.client_for("volunteer").post(NEW, story_data(district="m1 1ae"))
    assert response.status_code == 302
    assert Story.objects.get().district == "M1"


def test_group_preselected_only_from_their_own_groups(cast, places):
    client = cast.client_for("volunteer")
    page = client.get(NEW + "?group=" + cast.groups["group_a"].slug).content.decode()
    assert f'value="{cast.groups["group_a"].pk}" selected' in page
    page = client.get(NEW + "?group=" + cast.groups["group_b"].slug).content.decode()
    assert cast.groups["group_b"].name not in page
    assert " selected>" + cast.groups["group_a"].name not in page


# --- Bad input: a clear message, nothing stored -------------------------------------------


BAD_INPUT = [
    (
        {"body": "Look <script>alert('x')</script> here"},
        "Remove the <script> tag",
    ),
    ({"body": "[click](javascript:alert(1))"}, "isn't allowed"),
    ({"title": "   "}, "This field is required"),
    ({"body": ""}, "This field is required"),
    ({"district": "M98"}, "We can't find the postcode district M98"),
    ({"district": "not a place"}, "doesn't look like a UK postcode"),
    ({"district": "", "region": ""}, "Say where it happened"),
    ({"region": "atlantis", "district": ""}, "Select a valid choice"),
    ({"happened_on": "not a date"}, "Enter a valid date"),
    ({"links": "javascript:alert(1)"}, "isn't a web address we can link to"),
    ({"links": "ftp://example.org/file"}, "isn't a web address we can link to"),
    (
        {"links": "\n".join(f"https://example.org/{n}" for n in range(MAX_LINKS + 1))},
        f"Add at most {MAX_LINKS} links",
    ),
    ({"issues": ["999999"]}, "Select a valid choice"),
    ({"group": "999999"}, "Select a valid choice"),
    ({"people-0-role": "tenant"}, "Give their name, or clear this row"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_is_refused_clearly(cast, places, private_media, overrides, message):
    data = story_data(**{"images-0-image": picture(), "images-0-alt_text": "A banner"})
    data.update(overrides)
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert message.replace("'", "&#x27;").replace("<", "&lt;").replace(">", "&gt;") in page or (
        message in page
    )
    nothing_stored(private_media)


def test_a_script_tag_is_never_rendered_as_a_script(cast, places, private_media):
    response = cast.client_for("volunteer").post(
        NEW, story_data(body="<script>alert('owned')</script>")
    )
    assert response.status_code == 400
    assert "<script>alert" not in response.content.decode()
    nothing_stored(private_media)


def test_a_future_date_is_refused(cast, places, private_media):
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = cast.client_for("volunteer").post(NEW, story_data(happened_on=tomorrow))
    assert response.status_code == 400
    assert "can&#x27;t be in the future" in response.content.decode()
    nothing_stored(private_media)


def test_a_group_they_are_not_in_cant_be_chosen(cast, places, private_media):
    response = cast.client_for("volunteer").post(NEW, story_data(group=cast.groups["group_b"].pk))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    nothing_stored(private_media)


def test_a_retired_tag_cant_be_chosen(cast, places, private_media):
    housing = tag("issue", "housing")
    housing.retired = True
    housing.save()
    response = cast.client_for("volunteer").post(NEW, story_data())
    assert response.status_code == 400
    nothing_stored(private_media)


def test_a_held_back_name_in_the_text_is_refused_beside_the_person(cast, places, private_media):
    data = story_data(
        body="Bob Quiet led the march to the council.",
        **{"people-0-name": "Bob Quiet", "images-0-image": picture(), "images-0-alt_text": "x"},
    )
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        "Bob Quiet is named in your story but hasn&#x27;t agreed to be named: tick the box or "
        "take the name out." in page
    )
    assert 'id="id_people-0-consented_error"' in page
    nothing_stored(private_media)


def test_every_problem_shows_at_once(cast, places, private_media):
    data = story_data(body="Bob Quiet <b>shouted</b>", **{"people-0-name": "Bob Quiet"})
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Remove the HTML tag &lt;b&gt;" in page
    assert "Bob Quiet is named in your story" in page
    nothing_stored(private_media)


def test_a_held_back_surname_alone_still_counts(cast, places, private_media):
    data = story_data(body="Then Quiet spoke to the press.", **{"people-0-name": "Bob Quiet"})
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    nothing_stored(private_media)


def test_a_held_back_name_not_in_the_text_is_kept_but_hidden(cast, places, private_media):
    data = story_data(**{"people-0-name": "Bob Quiet", "people-0-role": "neighbour"})
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 302
    person = StoryPerson.objects.get()
    assert (person.name, person.consented) == ("Bob Quiet", False)


def test_a_huge_image_is_refused(cast, places, private_media):
    huge = picture(content=png_bytes() + b"\0" * (6 * 1024 * 1024))
    data = story_data(**{"images-0-image": huge, "images-0-alt_text": "A banner"})
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    assert "5 MB or smaller" in response.content.decode()
    nothing_stored(private_media)


def test_a_non_image_renamed_png_is_refused(cast, places, private_media):
    fake = picture(content=b"MZ\x90\x00 this is really a program, not a picture")
    data = story_data(**{"images-0-image": fake, "images-0-alt_text": "A banner"})
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    assert "isn&#x27;t a picture we can read" in response.content.decode()
    nothing_stored(private_media)


def test_an_image_without_alt_text_is_refused(cast, places, private_media):
    data = story_data(**{"images-0-image": picture(), "images-0-alt_text": "  "})
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    assert "Describe the picture for people who can&#x27;t see it" in response.content.decode()
    nothing_stored(private_media)


def test_more_than_max_images_is_refused(cast, places, private_media):
    extra = MAX_IMAGES + 1
    data = story_data(**{"images-TOTAL_FORMS": str(extra)})
    for n in range(extra):
        data[f"images-{n}-image"] = picture(f"p{n}.png")
        data[f"images-{n}-alt_text"] = f"Picture {n}"
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    assert f"Add at most {MAX_IMAGES} pictures" in response.content.decode()
    nothing_stored(private_media)


def test_a_failure_while_storing_leaves_no_file_behind(cast, places, private_media, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(actions, "record_audit", broken)
    data = story_data(
        **{
            "images-0-image": picture(),
            "images-0-alt_text": "A banner",
            "images-1-image": picture("b.jpg", jpeg_bytes(), "image/jpeg"),
            "images-1-alt_text": "A crowd",
        }
    )
    client = cast.client_for("volunteer")
    client.raise_request_exception = True
    with pytest.raises(RuntimeError):
        client.post(NEW, data)
    nothing_stored(private_media)


# --- Abuse: the honeypot and the rate limit -----------------------------------------------


def test_the_honeypot_stores_nothing_and_looks_like_success(cast, places, private_media):
    data = story_data(
        website="http://spam.example", **{"images-0-image": picture(), "images-0-alt_text": "x"}
    )
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("stories:submitted")
    nothing_stored(private_media)


def test_the_honeypot_is_hidden_but_labelled(cast, places):
    page = cast.client_for("volunteer").get(NEW).content.decode()
    assert 'class="story-trap"' in page
    assert "Leave this empty" in page


def test_the_rate_limit_keeps_the_form_and_stores_nothing(cast, places, private_media, settings):
    settings.HANDSUP_STORIES_PER_HOUR = 3
    settings.HANDSUP_STORIES_PER_DAY = 10
    client = cast.client_for("volunteer")
    for n in range(3):
        assert client.post(NEW, story_data(title=f"Story {n}")).status_code == 302
    response = client.post(NEW, story_data(title="One too many"))
    assert response.status_code == 429
    page = response.content.decode()
    assert "the most we take" in page
    assert 'value="One too many"' in page  # the form is kept
    assert Story.objects.count() == 3


def test_the_action_checks_the_limit_again(cast, places, private_media, settings):
    settings.HANDSUP_STORIES_PER_HOUR = 1
    author = cast.users["volunteer"]
    make_story(author)
    details = actions.StoryDetails(
        title="Sneaked in",
        body="Words.",
        place=actions.StoryPlace(region="london"),
        issues=(),
        action_type=None,
        happened_on=timezone.localdate(),
        links=(),
    )
    with pytest.raises(actions.StoryRuleBroken):
        actions.do_submit_story(author=author, details=details)
    assert Story.objects.count() == 1


def test_the_daily_limit_counts_earlier_stories(cast, places, private_media, settings):
    settings.HANDSUP_STORIES_PER_HOUR = 100
    settings.HANDSUP_STORIES_PER_DAY = 2
    author = cast.users["volunteer"]
    for _ in range(2):
        story = make_story(author)
        Story.objects.filter(pk=story.pk).update(created_at=timezone.now() - timedelta(hours=5))
    response = cast.client_for("volunteer").post(NEW, story_data())
    assert response.status_code == 429
    assert "today" in response.content.decode()
    assert Story.objects.count() == 2


# --- The outcome loop ---------------------------------------------------------------------


def _filled_need(cast: Any, status: str = Need.Status.FILLED) -> Need:
    return Need.objects.create(
        group=cast.groups["group_a"],
        created_by=cast.users["organiser_a"],
        title="Leaflet the Hulme estate",
        description="We need people to deliver leaflets about the repairs campaign.",
        location_kind=Need.LocationKind.REMOTE,
        schedule_kind=Need.ScheduleKind.ONGOING,
        weekly_slots=1,
        hours=2,
        people_needed=2,
        filled_count=0,
        closes_on=timezone.localdate() + timedelta(days=10),
        status=status,
        closed_at=None if status == Need.Status.OPEN else timezone.now(),
    )


def test_an_organiser_writes_an_outcome_story_from_a_filled_need(cast, places, private_media):
    need = _filled_need(cast)
    now = timezone.now()
    Invitation.objects.create(
        need=need,
        user=cast.users["volunteer"],
        source=Invitation.Source.ASK,
        status=Invitation.Status.ACCEPTED,
        created_at=now - timedelta(days=3),
        expires_at=now + timedelta(days=3),
        answered_at=now - timedelta(days=2),
        helped=True,
    )
    client = cast.client_for("organiser_a")
    url = f"{NEW}?outcome_of={need.public_id}"
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "What came of “Leaflet the Hulme estate”" in text
    assert "1 volunteer said yes, and 1 helped." in text
    # Counts only: nobody who helped is named.
    assert cast.marker("volunteer") not in text
    assert f'value="{cast.groups["group_a"].pk}" selected' in text
    data = story_data(title="What came of the leafleting")
    response = client.post(url, data)
    assert response.status_code == 302
    story = Story.objects.get()
    assert story.outcome_of == need
    assert story.status == Story.Status.NEW


@pytest.mark.parametrize("who", ["volunteer", "organiser_b", "curator"])
def test_only_the_needs_organisers_get_the_outcome_form(cast, places, who):
    need = _filled_need(cast)
    response = cast.client_for(who).get(f"{NEW}?outcome_of={need.public_id}")
    assert response.status_code == 404


def test_an_open_need_has_no_outcome_story_yet(cast, places):
    need = _filled_need(cast, status=Need.Status.OPEN)
    response = cast.client_for("organiser_a").get(f"{NEW}?outcome_of={need.public_id}")
    assert response.status_code == 404


def test_the_people_page_links_to_the_outcome_story(cast, places):
    need = _filled_need(cast)
    url = reverse("needs:people", args=[cast.groups["group_a"].public_id, need.public_id])
    page = cast.client_for("organiser_a").get(url).content.decode()
    assert f"?outcome_of={need.public_id}" in page
    assert "Write an outcome story" in page


# --- The author's stories and revisions ---------------------------------------------------


def test_mine_shows_status_and_the_curators_note(cast):
    author = cast.users["volunteer"]
    make_story(
        author, status=Story.Status.NEEDS_CHANGES, title="Food bank", status_note="Add a date"
    )
    make_story(author, status=Story.Status.REJECTED, title="Rumour", status_note="Not a story")
    make_story(cast.users["volunteer_other"], title="Someone else's")
    page = cast.client_for("volunteer").get(reverse("stories:mine")).content.decode()
    assert "Food bank" in page and "Add a date" in page
    assert "Rumour" in page and "Not a story" in page
    assert "Someone else" not in page


def test_mine_query_count_is_pinned(cast, django_assert_num_queries):
    client = cast.client_for("volunteer")
    for n in range(5):
        make_story(cast.users["volunteer"], title=f"Story {n}", group=cast.groups["group_a"])
    # Session, user, and the stories with their groups.
    with django_assert_num_queries(3):
        assert client.get(reverse("stories:mine")).status_code == 200


def test_a_huge_number_of_claimed_picture_rows_is_refused(cast, places, private_media):
    data = story_data(**{"images-TOTAL_FORMS": "100000"})
    response = cast.client_for("volunteer").post(NEW, data)
    assert response.status_code == 400
    assert "Add at most" in response.content.decode()
    nothing_stored(private_media)


def test_the_author_revises_a_story_that_needs_changes(cast, places):
    author = cast.users["volunteer"]
    story = make_story(
        author,
        status=Story.Status.NEEDS_CHANGES,
        status_note="Say when",
        people=[("Bob Quiet", False)],
    )
    client = cast.client_for("volunteer")
    url = reverse("stories:edit", args=[story.public_id])
    page = client.get(url).content.decode()
    assert 'value="2026-03-01"' in page and "Say when" in page
    data = story_data(
        title="Tenants win repairs, March 2026",
        **{
            "people-TOTAL_FORMS": "1",
            "people-INITIAL_FORMS": "1",
            "people-0-name": "Bob Quiet",
            "people-0-consented": "on",
        },
    )
    response = client.post(url, data)
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.NEW
    assert story.title == "Tenants win repairs, March 2026"
    assert story.people.get().consented is True
    revision = StoryRevision.objects.get(story=story)
    assert revision.title == "Tenants win repairs on the Hulme estate"
    assert revision.edited_by == author


def test_the_author_cant_revise_once_a_curator_has_it(cast):
    story = make_story(cast.users["volunteer"], status=Story.Status.IN_REVIEW)
    response = cast.client_for("volunteer").get(reverse("stories:edit", args=[story.public_id]))
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["volunteer_other", "organiser_a", "anonymous"])
def test_nobody_else_can_revise(cast, who):
    story = make_story(cast.users["volunteer"])
    response = cast.client_for(who).get(reverse("stories:edit", args=[story.public_id]))
    if who == "anonymous":
        assert response.status_code == 302 and "login" in response["Location"]
    else:
        assert response.status_code == 404


def test_a_revision_naming_someone_held_back_is_refused(cast, places):
    story = make_story(cast.users["volunteer"], people=[("Bob Quiet", False)])
    data = story_data(
        body="Bob Quiet was there.",
        **{"people-TOTAL_FORMS": "1", "people-INITIAL_FORMS": "1", "people-0-name": "Bob Quiet"},
    )
    response = cast.client_for("volunteer").post(
        reverse("stories:edit", args=[story.public_id]), data
    )
    assert response.status_code == 400
    story.refresh_from_db()
    assert "Bob Quiet" not in story.body
    assert not StoryRevision.objects.exists()
