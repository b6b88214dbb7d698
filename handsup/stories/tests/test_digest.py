"""The digest's "Stories from the movement": stories featured since each person's last
digest, at most three, for the whole batch in one query; and through a real digest run,
the featured story's title in a volunteer's digest email."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

import handsup.stories.digest  # noqa: F401  (registers the section, as StoriesConfig.ready does)
from handsup.accounts.models import User
from handsup.messaging.digest_sections import DigestWindow, section_named
from handsup.messaging.digests import render_digest, run_digests
from handsup.messaging.models import Digest
from handsup.stories.digest import STORIES_PER_DIGEST, featured_stories
from handsup.stories.models import Story

from .reading import make_story

pytestmark = pytest.mark.django_db


def test_the_section_is_registered_with_the_digests():
    section = section_named("stories")
    assert section is not None
    assert str(section.title) == "Stories from the movement"
    assert section.collect is featured_stories


def test_each_person_gets_the_stories_featured_since_their_last_digest(
    cast, django_assert_num_queries
):
    author = cast.users["volunteer"]
    now = timezone.now()
    group = cast.groups["group_a"]
    old = make_story(author, title="Featured long ago", featured_at=now - timedelta(days=20))
    recent = [
        make_story(
            author,
            title=f"Featured {n} days ago",
            group=group if n == 1 else None,
            district="M1" if n == 1 else "",
            region="north_west" if n == 1 else "",
            body="The **tenants** won. <script>alert(1)</script>",
            featured_at=now - timedelta(days=n),
        )
        for n in range(1, 6)
    ]
    make_story(author, title="Published, never featured")
    make_story(author, title="Featured in the future", featured_at=now + timedelta(days=1))
    weekly, daily, fresh = (cast.users[key] for key in ("volunteer", "organiser_a", "curator"))
    window = DigestWindow(
        until=now,
        since={
            weekly.pk: now - timedelta(days=7),
            daily.pk: now - timedelta(days=2, hours=12),
            fresh.pk: now - timedelta(hours=1),
        },
    )

    with django_assert_num_queries(1):
        found = featured_stories(window)

    assert [item.title for item in found[weekly.pk]] == [
        story.title for story in recent[:STORIES_PER_DIGEST]
    ]
    assert [item.title for item in found[daily.pk]] == [
        "Featured 1 days ago",
        "Featured 2 days ago",
    ]
    assert fresh.pk not in found
    assert all(old.title != item.title for items in found.values() for item in items)
    first = found[weekly.pk][0]
    assert first.url == f"/stories/{recent[0].public_id}/"
    assert first.source == group.name
    assert first.summary == "Manchester (M1). The tenants won. <script>alert(1)</script>"
    featured_at = recent[0].featured_at
    assert featured_at is not None and first.at == featured_at.isoformat()
    assert found[weekly.pk][1].source == ""


def test_nothing_featured_means_no_section_and_an_empty_batch_is_fine(cast):
    now = timezone.now()
    make_story(cast.users["volunteer"], title="Published only")
    user = cast.users["volunteer"]
    assert featured_stories(DigestWindow(until=now, since={user.pk: now - timedelta(days=7)})) == {}
    assert featured_stories(DigestWindow(until=now, since={})) == {}


def last_monday_morning() -> datetime:
    """10:00 London time on the most recent Monday: a weekly digest period has begun and
    quiet hours are over."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(10), tzinfo=timezone.get_default_timezone())


def test_a_featured_story_reaches_a_volunteers_digest_email(cast):
    volunteer = cast.users["volunteer"]
    User.objects.filter(pk=volunteer.pk).update(date_joined=timezone.now() - timedelta(days=90))
    run_at = last_monday_morning()
    featured = make_story(
        volunteer,
        title="Tenants win a repairs deal on the estate",
        body="After a **rent strike** <script>alert(1)</script> the landlord gave in.",
        group=cast.groups["group_a"],
        published_at=run_at - timedelta(days=2),
        featured_at=run_at - timedelta(days=1),
    )
    make_story(
        volunteer,
        title="A story waiting for a curator",
        status=Story.Status.IN_REVIEW,
    )

    run_digests(now=run_at)

    digest = Digest.objects.get(user=volunteer)
    [section] = [s for s in digest.sections if s["name"] == "stories"]
    assert [item["title"] for item in section["items"]] == [featured.title]
    email = render_digest(digest, name="Vera Volunteer")
    assert "STORIES FROM THE MOVEMENT" in email.text
    assert featured.title in email.text
    assert f"/stories/{featured.public_id}/" in email.text
    assert featured.title in email.html
    assert "After a rent strike" in email.text
    assert "<script>alert" not in email.html
    assert "A story waiting for a curator" not in email.text
