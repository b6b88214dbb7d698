"""Published stories made directly, for the read-side tests (no submit or curate flow)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.stories.models import Story, Tag


def tag(kind: str, slug: str) -> Tag:
    return Tag.objects.get(kind=kind, slug=slug)


def make_story(
    author: User,
    *,
    title: str = "Tenants win repairs",
    body: str = "The tenants' association met every week until the landlord agreed.",
    group: Group | None = None,
    status: str = Story.Status.PUBLISHED,
    published_at: datetime | None = None,
    featured_at: datetime | None = None,
    issues: tuple[str, ...] = (),
    action: str | None = None,
    district: str = "",
    region: str = "",
    point: tuple[int, int] | None = None,
    happened_on: date | None = None,
    **extra: Any,
) -> Story:
    now = timezone.now()
    if status == Story.Status.PUBLISHED and published_at is None:
        published_at = now - timedelta(hours=1)
    story = Story.objects.create(
        author=author,
        group=group,
        title=title,
        body=body,
        status=status,
        published_at=published_at,
        featured_at=featured_at,
        action_type=tag("action", action) if action else None,
        district=district,
        region=region,
        eastings=point[0] if point else None,
        northings=point[1] if point else None,
        happened_on=happened_on or date(2026, 5, 1),
        **extra,
    )
    if issues:
        story.issues.set([tag("issue", slug) for slug in issues])
    return story
