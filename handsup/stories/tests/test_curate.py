"""The curators' queue, review page, decisions, featuring and tags; and who may use them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from handsup.messaging.models import Kind, Message, OutboxItem
from handsup.privacy.models import AccessLogEntry, AuditEntry
from handsup.stories import actions
from handsup.stories.models import Story, StoryRevision, Tag
from handsup.stories.tests.conftest import make_story, tag
from handsup.stories.tests.test_submit import story_data

pytestmark = pytest.mark.django_db

QUEUE = reverse("stories:queue")
TAGS = reverse("stories:tags")


def review_url(story: Story) -> str:
    return reverse("stories:review", args=[story.public_id])


def status_url(story: Story) -> str:
    return reverse("stories:status", args=[story.public_id])


def feature_url(story: Story) -> str:
    return reverse("stories:feature", args=[story.public_id])


def told(user: Any, words: str) -> bool:
    """Whether `user` has a service message on its way whose text contains `words`."""
    return OutboxItem.objects.filter(
        user=user, message__kind=Kind.SERVICE, message__body_markdown__contains=words
    ).exists()


# --- Who may curate -----------------------------------------------------------------------


NOT_CURATORS = ["volunteer", "organiser_a", "admin_a", "admin_parent", "dpo", "organiser_b"]


@pytest.mark.parametrize("who", NOT_CURATORS)
def test_nobody_but_curators_can_curate(cast, who):
    story = make_story(cast.users["volunteer_other"])
    housing = tag("issue", "housing")
    client = cast.client_for(who)
    assert client.get(QUEUE).status_code == 403
    assert client.get(TAGS).status_code == 403
    assert client.post(TAGS, {"kind": "issue", "name": "Parks"}).status_code == 403
    assert (
        client.post(reverse("stories:tag", args=[housing.pk]), {"retired": "1"}).status_code == 403
    )
    assert client.get(review_url(story)).status_code == 404
    assert client.post(review_url(story), {"edit-title": "Hacked"}).status_code == 404
    assert client.post(status_url(story), {"status": "published"}).status_code == 404
    assert client.post(feature_url(story), {"feature": "1"}).status_code == 404
    story.refresh_from_db()
    assert story.status == Story.Status.NEW and story.title != "Hacked"
    assert not Tag.objects.filter(name="Parks").exists()
    assert not Tag.objects.get(pk=housing.pk).retired


def test_anonymous_is_sent_to_log_in(cast):
    story = make_story(cast.users["volunteer"])
    client = cast.client_for("anonymous")
    for url in (QUEUE, TAGS, review_url(story)):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("who", ["curator", "platform_admin"])
def test_curators_and_platform_admins_see_the_queue(cast, who):
    make_story(cast.users["volunteer"], title="Waiting story")
    response = cast.client_for(who).get(QUEUE)
    assert response.status_code == 200
    assert "Waiting story" in response.content.decode()


def test_the_navigation_offers_curating_to_curators_only(cast):
    assert (
        "Curate stories" in cast.client_for("curator").get(reverse("stories:mine")).content.decode()
    )
    page = cast.client_for("volunteer").get(reverse("stories:mine")).content.decode()
    assert "Curate stories" not in page and "Stories" in page


# --- The queue ----------------------------------------------------------------------------


def test_the_queue_has_tabs_with_counts_and_oldest_first(cast):
    author = cast.users["volunteer"]
    first = make_story(author, title="First in")
    second = make_story(author, title="Second in")
    make_story(author, status=Story.Status.IN_REVIEW, title="Being read")
    make_story(author, status=Story.Status.PUBLISHED, title="Out there")
    featured = make_story(author, status=Story.Status.PUBLISHED, title="Star story")
    Story.objects.filter(pk=featured.pk).update(featured_at=featured.published_at)
    make_story(author, status=Story.Status.REJECTED, title="Not for us")
    client = cast.client_for("curator")
    page = client.get(QUEUE).content.decode()
    assert "New (2)" in page and "In review (1)" in page and "Published (2)" in page
    assert "Featured (1)" in page and "Rejected (1)" in page and "Needs changes (0)" in page
    assert page.index(first.title) < page.index(second.title)
    assert "Being read" not in page
    featured_page = client.get(QUEUE + "?status=featured").content.decode()
    assert "Star story" in featured_page and "Out there" not in featured_page
    # A made-up tab is the "new" tab, not an error.
    assert client.get(QUEUE + "?status=nonsense").status_code == 200


def test_the_queue_query_count_does_not_grow_with_stories(cast, django_assert_num_queries):
    client = cast.client_for("curator")
    client.get(QUEUE)  # warm the session and the curator's roles
    for n in range(3):
        make_story(cast.users["volunteer"], title=f"Story {n}", group=cast.groups["group_a"])
    with CaptureQueriesContext(connection) as few:
        client.get(QUEUE)
    for n in range(20):
        make_story(
            cast.users["volunteer_other"],
            title=f"More {n}",
            group=cast.groups["group_b"],
            action_type=tag("action", "mutual-aid"),
        )
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(QUEUE)
    assert response.status_code == 200
    assert len(few.captured_queries) <= 8


def test_the_queue_query_count_is_pinned(cast, django_assert_num_queries):
    client = cast.client_for("curator")
    make_story(cast.users["volunteer"], group=cast.groups["group_a"])
    # Session, user (with its roles), the MFA check for a privileged role, the counts,
    # and the stories (with their group and type).
    with django_assert_num_queries(5):
        assert client.get(QUEUE).status_code == 200


# --- The review page, edits and revisions -------------------------------------------------


def test_the_review_page_shows_the_story_and_flags_held_back_people(cast):
    story = make_story(
        cast.users["volunteer"],
        body="**Bold** news. Bob Quiet spoke. <script>alert(1)</script>",
        people=[("Amira Khan", True), ("Bob Quiet", False)],
    )
    response = cast.client_for("curator").get(review_url(story))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)" not in page
    assert "held back: not shown" in page and "still named in the text" in page
    assert "can&#x27;t be published yet" in page
    # The curator is shown the author's name: that read is logged.
    assert AccessLogEntry.objects.filter(
        actor=cast.users["curator"], subject=cast.users["volunteer"], purpose="story_review"
    ).exists()


def test_a_curator_edit_keeps_a_revision(cast, places):
    story = make_story(cast.users["volunteer"], title="Old title", body="Old words.")
    client = cast.client_for("curator")
    data = {
        "edit-title": "New title",
        "edit-body": "Better words.",
        "edit-issues": [tag("issue", "health").pk],
        "edit-action_type": tag("action", "protest").pk,
        "edit-district": "CF14",
        "edit-region": "",
    }
    response = client.post(review_url(story), data)
    assert response.status_code == 302
    story.refresh_from_db()
    assert (story.title, story.body, story.district, story.region) == (
        "New title",
        "Better words.",
        "CF14",
        "wales",
    )
    assert [t.slug for t in story.issues.all()] == ["health"]
    assert story.status == Story.Status.NEW
    revision = StoryRevision.objects.get(story=story)
    assert (revision.title, revision.body, revision.edited_by) == (
        "Old title",
        "Old words.",
        cast.users["curator"],
    )
    assert "Old title" in client.get(review_url(story)).content.decode()
    assert AuditEntry.objects.filter(action="story.edited").exists()


def test_a_bad_curator_edit_changes_nothing(cast, places):
    story = make_story(cast.users["volunteer"], title="Old title")
    data = {"edit-title": "New", "edit-body": "<script>x</script>", "edit-district": "M98"}
    response = cast.client_for("curator").post(review_url(story), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Remove the &lt;script&gt; tag" in page
    assert "M98" in page
    story.refresh_from_db()
    assert story.title == "Old title"
    assert not StoryRevision.objects.exists()


# --- Decisions ----------------------------------------------------------------------------


def test_the_whole_curator_flow(cast, places):
    author = cast.users["volunteer"]
    submitted = cast.client_for("volunteer").post(reverse("stories:new"), story_data())
    assert submitted.status_code == 302
    story = Story.objects.get()
    assert story.status == Story.Status.NEW
    curator = cast.client_for("curator")

    assert curator.post(status_url(story), {"status": "in_review"}).status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.IN_REVIEW

    # Needs changes: a note is required, and the author is told what and why.
    refused = curator.post(status_url(story), {"status": "needs_changes", "note": "  "})
    assert refused.status_code == 400
    assert "Tell the author what to change and why" in refused.content.decode()
    story.refresh_from_db()
    assert story.status == Story.Status.IN_REVIEW
    note = "Please add what the landlord promised, and when."
    assert (
        curator.post(status_url(story), {"status": "needs_changes", "note": note}).status_code
        == 302
    )
    story.refresh_from_db()
    assert (story.status, story.status_note) == (Story.Status.NEEDS_CHANGES, note)
    assert told(author, "what the landlord promised")
    mine = cast.client_for("volunteer").get(reverse("stories:mine")).content.decode()
    assert note in mine

    # Publishing straight from "needs changes" is not a move the queue allows.
    refused = curator.post(status_url(story), {"status": "published"})
    assert refused.status_code == 400
    story.refresh_from_db()
    assert story.status == Story.Status.NEEDS_CHANGES and story.published_at is None

    # The author revises: back to "new", the old words kept.
    revised = cast.client_for("volunteer").post(
        reverse("stories:edit", args=[story.public_id]),
        story_data(body="The landlord promised repairs by June, and kept it."),
    )
    assert revised.status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.NEW
    assert story.revisions.count() == 1

    assert curator.post(status_url(story), {"status": "published"}).status_code == 302
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED and story.published_at is not None
    assert story.status_note == ""
    assert told(author, "is published")
    assert AuditEntry.objects.filter(
        action="story.published", actor=cast.users["curator"], object_public_id=story.public_id
    ).exists()

    assert curator.post(feature_url(story), {"feature": "1"}).status_code == 302
    story.refresh_from_db()
    assert story.featured_at is not None
    assert list(Story.objects.featured()) == [story]

    assert curator.post(feature_url(story), {"feature": "0"}).status_code == 302
    story.refresh_from_db()
    assert story.featured_at is None


def test_rejected_with_a_reason_sent_to_the_author(cast):
    story = make_story(cast.users["volunteer"])
    curator = cast.client_for("curator")
    refused = curator.post(status_url(story), {"status": "rejected", "note": ""})
    assert refused.status_code == 400
    assert "why the story is rejected" in refused.content.decode()
    assert not Message.objects.exists()
    reason = "We couldn't check this happened; send us a news link."
    assert (
        curator.post(status_url(story), {"status": "rejected", "note": reason}).status_code == 302
    )
    story.refresh_from_db()
    assert (story.status, story.status_note) == (Story.Status.REJECTED, reason)
    assert told(cast.users["volunteer"], "send us a news link")
    # A rejected story can't be revised by its author any more.
    edit = cast.client_for("volunteer").get(reverse("stories:edit", args=[story.public_id]))
    assert edit.status_code == 404


def test_publishing_is_refused_while_a_held_back_name_is_in_the_text(cast):
    story = make_story(
        cast.users["volunteer"], body="Bob Quiet organised it.", people=[("Bob Quiet", False)]
    )
    response = cast.client_for("curator").post(status_url(story), {"status": "published"})
    assert response.status_code == 400
    assert "can&#x27;t be published yet" in response.content.decode()
    story.refresh_from_db()
    assert story.status == Story.Status.NEW and story.published_at is None
    with pytest.raises(actions.StoryRuleBroken):
        actions.check_can_publish(story)


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("published", "published"),
        ("rejected", "published"),
        ("new", "new"),
        ("needs_changes", "published"),
        ("new", "made_up"),
    ],
)
def test_invalid_moves_change_nothing(cast, start, to):
    story = make_story(cast.users["volunteer"], status=start)
    before = Story.objects.filter(pk=story.pk).values().get()
    response = cast.client_for("curator").post(status_url(story), {"status": to, "note": "x"})
    assert response.status_code == 400
    assert Story.objects.filter(pk=story.pk).values().get() == before
    assert not AuditEntry.objects.filter(action__startswith="story.").exists()


def test_only_a_published_story_can_be_featured(cast):
    story = make_story(cast.users["volunteer"], status=Story.Status.IN_REVIEW)
    response = cast.client_for("curator").post(feature_url(story), {"feature": "1"})
    assert response.status_code == 400
    story.refresh_from_db()
    assert story.featured_at is None


def test_status_and_feature_are_post_only(cast):
    story = make_story(cast.users["volunteer"], status=Story.Status.PUBLISHED)
    client = cast.client_for("curator")
    assert client.get(status_url(story)).status_code == 405
    assert client.get(feature_url(story)).status_code == 405


def test_nothing_is_published_without_a_curator(cast, places):
    """Every path that writes a story leaves it unpublished; only the curator's move publishes."""
    author = cast.users["volunteer"]
    client = cast.client_for("volunteer")
    # Submitting, even with "status" smuggled into the form.
    client.post(reverse("stories:new"), story_data(status="published", published_at="2026-01-01"))
    story = Story.objects.get()
    # Revising a story that needs changes.
    Story.objects.filter(pk=story.pk).update(status=Story.Status.NEEDS_CHANGES)
    client.post(reverse("stories:edit", args=[story.public_id]), story_data(status="published"))
    # The author trying the curators' own routes.
    client.post(status_url(story), {"status": "published"})
    client.post(feature_url(story), {"feature": "1"})
    # A curator's edit doesn't publish either.
    cast.client_for("curator").post(
        review_url(story),
        {"edit-title": "Edited", "edit-body": "Edited words.", "edit-region": "london"},
    )
    make_story(author)
    assert Story.objects.published().count() == 0
    assert Story.objects.filter(published_at__isnull=False).count() == 0
    # The only way: a curator's decision, which is audited with the curator as actor.
    actions.do_change_story_status(actor=cast.users["curator"], story=story, to="published")
    published = AuditEntry.objects.filter(action="story.published")
    assert Story.objects.published().count() == published.count() == 1
    assert published.get().actor == cast.users["curator"]


# --- Tags ---------------------------------------------------------------------------------


def test_tags_are_listed_by_kind_with_story_counts(cast, django_assert_num_queries):
    housing = tag("issue", "housing")
    make_story(cast.users["volunteer"], issues=[housing])
    make_story(cast.users["volunteer"], issues=[housing], action_type=tag("action", "protest"))
    client = cast.client_for("curator")
    client.get(TAGS)
    # Session, user, the MFA check, and the tags with their counts.
    with django_assert_num_queries(4):
        response = client.get(TAGS)
    page = response.content.decode()
    assert "Issue" in page and "Type of action" in page
    row = page[page.index(">Housing<") :]
    assert '<td class="numeric">2</td>' in row[:400]


def test_a_curator_adds_renames_retires_and_restores_a_tag(cast):
    client = cast.client_for("curator")
    response = client.post(TAGS, {"kind": "issue", "name": "Parks and green spaces"})
    assert response.status_code == 302
    parks = Tag.objects.get(kind="issue", slug="parks-and-green-spaces")
    assert parks.name == "Parks and green spaces"

    url = reverse("stories:tag", args=[parks.pk])
    assert client.post(url, {"name": "Parks"}).status_code == 302
    parks.refresh_from_db()
    assert (parks.name, parks.slug) == ("Parks", "parks-and-green-spaces")

    assert client.post(url, {"retired": "1"}).status_code == 302
    parks.refresh_from_db()
    assert parks.retired
    form_page = cast.client_for("volunteer").get(reverse("stories:new")).content.decode()
    assert ">Parks<" not in form_page

    assert client.post(url, {"retired": "0"}).status_code == 302
    parks.refresh_from_db()
    assert not parks.retired
    actions_logged = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"story.tag_added", "story.tag_renamed", "story.tag_retired", "story.tag_restored"} <= (
        actions_logged
    )


@pytest.mark.parametrize("name", ["Housing", "housing", "HOUSING!", "   ", "!!!"])
def test_duplicate_or_empty_tag_names_are_refused(cast, name):
    before = Tag.objects.count()
    response = cast.client_for("curator").post(TAGS, {"kind": "issue", "name": name})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert Tag.objects.count() == before


def test_the_same_name_may_be_both_an_issue_and_an_action(cast):
    response = cast.client_for("curator").post(TAGS, {"kind": "action", "name": "Housing"})
    assert response.status_code == 302
    assert Tag.objects.filter(slug="housing").count() == 2


def test_renaming_onto_another_tags_name_is_refused(cast):
    health = tag("issue", "health")
    response = cast.client_for("curator").post(
        reverse("stories:tag", args=[health.pk]), {"name": "Housing"}
    )
    assert response.status_code == 400
    assert "already a tag" in response.content.decode()
    health.refresh_from_db()
    assert health.name == "Health"


def test_a_missing_tag_is_404(cast):
    response = cast.client_for("curator").post(
        reverse("stories:tag", args=[999999]), {"retired": "1"}
    )
    assert response.status_code == 404


def test_the_review_page_shows_the_pictures_to_curators(cast, places, private_media):
    from handsup.stories.tests.test_submit import picture

    data = story_data(**{"images-0-image": picture(), "images-0-alt_text": "Banner at the march"})
    assert cast.client_for("volunteer").post(reverse("stories:new"), data).status_code == 302
    story = Story.objects.get()
    image = story.images.get()
    curator = cast.client_for("curator")
    page = curator.get(review_url(story)).content.decode()
    src = reverse("stories:image", args=[story.public_id, image.pk])
    assert f'src="{src}" alt="Banner at the march"' in page
    assert curator.get(src).status_code == 200
    # Not published yet: nobody else sees it.
    assert cast.client_for("volunteer_other").get(src).status_code == 404
