"""The Atom feeds: every filter combination parses cleanly with feedparser and holds the
stories the index shows for the same filters, without the author's name or markup."""

from __future__ import annotations

from datetime import timedelta

import feedparser
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from handsup.stories.feeds import FEED_LENGTH
from handsup.stories.models import Story

from .reading import make_story

pytestmark = pytest.mark.django_db

FEED = reverse("stories:feed")


@pytest.fixture
def stories(cast):
    author = cast.users["volunteer"]
    now = timezone.now()
    group = cast.groups["group_a"]
    return {
        "housing_wales": make_story(
            author,
            title="Welsh tenants win repairs",
            body="Tenants in **Cardiff** <b>won</b> & celebrated <script>alert(1)</script>.",
            group=group,
            issues=("housing", "cost-of-living"),
            action="campaign-win",
            region="wales",
            published_at=now - timedelta(days=1),
        ),
        "health_nw": make_story(
            author,
            title="Manchester clinic saved",
            issues=("health",),
            action="protest",
            region="north_west",
            published_at=now - timedelta(days=2),
        ),
        "housing_nw": make_story(
            author,
            title="Manchester rent strike",
            issues=("housing",),
            action="protest",
            region="north_west",
            published_at=now - timedelta(days=3),
        ),
        "unpublished": make_story(
            author, title="Not out yet", issues=("housing",), status=Story.Status.IN_REVIEW
        ),
    }


def parse(client, query: str = ""):  # type: ignore[no-untyped-def]
    response = client.get(FEED + query)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["housing_wales", "health_nw", "housing_nw"]),
        ("?issue=housing", ["housing_wales", "housing_nw"]),
        ("?action=protest", ["health_nw", "housing_nw"]),
        ("?region=north_west", ["health_nw", "housing_nw"]),
        ("?issue=housing&region=north_west", ["housing_nw"]),
        ("?issue=housing&action=campaign-win&region=wales", ["housing_wales"]),
        ("?issue=health&region=wales", []),
        ("?issue=&action=&region=", ["housing_wales", "health_nw", "housing_nw"]),
    ],
)
def test_every_feed_variant_parses_and_holds_the_expected_stories(cast, stories, query, expected):
    parsed = parse(cast.client_for("anonymous"), query)
    assert [entry.title for entry in parsed.entries] == [stories[key].title for key in expected]
    assert parsed.feed.title.startswith("Stories from Hands Up")
    # The feed's own link points at the index with the same filters.
    assert parsed.feed.link.endswith(
        reverse("stories:index") + query.replace("?issue=&action=&region=", "")
    )


def test_an_entry_has_its_link_id_dates_summary_author_and_categories(cast, stories):
    story = stories["housing_wales"]
    [entry] = parse(cast.client_for("anonymous"), "?region=wales").entries
    page = reverse("stories:story", args=[story.public_id])
    assert entry.link.endswith(page)
    assert entry.id == settings.SITE_URL + page
    assert entry.updated_parsed is not None and entry.published_parsed is not None
    assert entry.author == cast.groups["group_a"].name
    assert sorted(tag.term for tag in entry.tags) == ["Campaign win", "Cost of living", "Housing"]
    # Plain text: the author's markup is shown as text, never as HTML.
    assert "<script" not in entry.summary and "<b>" not in entry.summary
    assert "Cardiff" in entry.summary and "**" not in entry.summary
    assert "&lt;b&gt;won&lt;/b&gt;" in entry.summary


def test_an_entry_never_names_the_person_who_wrote_it(cast, stories):
    response = cast.client_for("anonymous").get(FEED)
    body = response.content.decode()
    assert cast.marker("volunteer") not in body
    assert cast.users["volunteer"].email not in body
    entries = {entry.title: entry for entry in feedparser.parse(response.content).entries}
    # A story without a group is by "Hands Up", not by its author.
    assert entries["Manchester clinic saved"].author == "Hands Up"


def test_the_feed_holds_the_latest_thirty(cast):
    author = cast.users["volunteer"]
    now = timezone.now()
    for n in range(FEED_LENGTH + 2):
        make_story(author, title=f"Story {n:02d}", published_at=now - timedelta(minutes=n))
    parsed = parse(cast.client_for("anonymous"))
    assert len(parsed.entries) == FEED_LENGTH
    assert parsed.entries[0].title == "Story 00"
    assert parsed.entries[-1].title == f"Story {FEED_LENGTH - 1:02d}"


def test_an_empty_feed_still_parses(cast):
    parsed = parse(cast.client_for("anonymous"))
    assert parsed.entries == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?issue=nonsense", "There is no issue tag called “nonsense”."),
        ("?action=housing", "There is no type of action called “housing”."),
        ("?region=mars", "There is no region called “mars”."),
        ("?issue=housing&region=%3Cb%3E", "There is no region called “<b>”."),
    ],
)
def test_an_unknown_filter_value_is_a_plain_404(cast, query, message):
    response = cast.client_for("anonymous").get(FEED + query)
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert message in response.content.decode()


def test_the_feed_query_count_does_not_grow_with_the_stories(cast, django_assert_num_queries):
    author = cast.users["volunteer"]
    for n in range(5):
        make_story(author, title=f"Story {n}", issues=("housing",), action="protest")
    client = cast.client_for("anonymous")
    # The stories (with group and type of action), then their issue tags.
    with django_assert_num_queries(2):
        client.get(FEED)
    for n in range(10):
        make_story(author, title=f"More {n}", issues=("health",), action="petition")
    with django_assert_num_queries(3):  # plus the tag named in the filter
        client.get(FEED + "?issue=health")
