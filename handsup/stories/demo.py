"""A few stories for the demo, so readers, curators and the digest have something to show.

`handsup demo_data` calls `build_demo_stories` after the personas and needs. It adds
stories only when there are none, so running it twice adds nothing. Three are published
(as if the demo curator had reviewed them; one featured) and one waits in the curators'
queue, so someone trying the demo as the curator has a story to review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.stories.models import Region, Story, StoryPerson, Tag


@dataclass(frozen=True)
class DemoStory:
    title: str
    body: str
    author: str
    group: str | None
    district: str
    region: str
    # Where the district's centroid is (fixed numbers: the demo needs no postcode data).
    point: tuple[int, int] | None
    days_ago: int
    issues: tuple[str, ...]
    action: str
    status: str
    featured: bool = False
    named: tuple[tuple[str, str, bool], ...] = ()


DEMO_STORIES: tuple[DemoStory, ...] = (
    DemoStory(
        title="Tenants win a repairs deal on the Ardwick estate",
        body=(
            "For two winters the damp in the Ardwick flats went unfixed. The branch knocked "
            "on every door, logged **212 repair requests** and took them to the housing "
            "association together.\n\nAfter three meetings and a petition, the association "
            "agreed a repairs plan with dates, and a tenants' panel to check it happens."
        ),
        author="volunteer",
        group="group_a",
        district="M12",
        region=Region.NORTH_WEST,
        point=(386_200, 396_700),
        days_ago=20,
        issues=("housing", "cost-of-living"),
        action="campaign-win",
        status=Story.Status.PUBLISHED,
        featured=True,
        named=(("Maureen Okafor", "chair of the tenants' association", True),),
    ),
    DemoStory(
        title="A food bank that opens in the evenings",
        body=(
            "Working people couldn't reach the food bank in office hours, so volunteers from "
            "Cardiff North now open it on Tuesday and Thursday evenings, with a hot meal "
            "and advice on benefits."
        ),
        author="volunteer_other",
        group="group_b",
        district="CF14",
        region=Region.WALES,
        point=(316_400, 180_900),
        days_ago=35,
        issues=("food", "cost-of-living"),
        action="mutual-aid",
        status=Story.Status.PUBLISHED,
    ),
    DemoStory(
        title="Bus route 53 saved after a summer of campaigning",
        body=(
            "When the operator said it would cut the 53, riders collected stories of "
            "what the bus means to them: hospital visits, shifts, school runs. The council "
            "stepped in to keep the route running."
        ),
        author="organiser_a",
        group="group_a",
        district="M4",
        region=Region.NORTH_WEST,
        point=(385_300, 398_600),
        days_ago=60,
        issues=("transport",),
        action="campaign-win",
        status=Story.Status.PUBLISHED,
    ),
    DemoStory(
        title="Litter pick and a mural at the old tram depot",
        body=(
            "Forty neighbours cleared the lot behind the old depot and local artists "
            "painted a mural of the people who worked there."
        ),
        author="volunteer",
        group="group_a",
        district="M1",
        region=Region.NORTH_WEST,
        point=(384_500, 398_000),
        days_ago=4,
        issues=("environment",),
        action="community-project",
        status=Story.Status.NEW,
    ),
)


def build_demo_stories(groups: dict[str, Group], users: dict[str, User]) -> list[Story]:
    if Story.objects.exists():
        return []
    tags = {(tag.kind, tag.slug): tag for tag in Tag.objects.all()}
    now = timezone.now()
    made = []
    for plan in DEMO_STORIES:
        published = plan.status == Story.Status.PUBLISHED
        story = Story.objects.create(
            author=users[plan.author],
            group=groups[plan.group] if plan.group else None,
            title=plan.title,
            body=plan.body,
            district=plan.district,
            region=plan.region,
            eastings=plan.point[0] if plan.point else None,
            northings=plan.point[1] if plan.point else None,
            happened_on=timezone.localdate() - timedelta(days=plan.days_ago + 3),
            action_type=tags.get((Tag.Kind.ACTION, plan.action)),
            status=plan.status,
            published_at=now - timedelta(days=plan.days_ago) if published else None,
            featured_at=now - timedelta(days=plan.days_ago) if plan.featured else None,
        )
        story.issues.set(
            [tags[(Tag.Kind.ISSUE, slug)] for slug in plan.issues if (Tag.Kind.ISSUE, slug) in tags]
        )
        for name, role, consented in plan.named:
            StoryPerson.objects.create(story=story, name=name, role=role, consented=consented)
        made.append(story)
    return made
