"""What readers see: the index, a story's page and pictures, and "stories near you".

Everyone may read published stories, signed in or not. A story that is not published
is shown (with a banner) only to its author and curators, through `access_story`, which
answers "no such story" alike for missing and not yours.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from handsup.groups.models import Group
from handsup.people.models import Person
from handsup.places.geo import Location, geocode
from handsup.places.postcodes import PlaceError
from handsup.stories.access import access_story
from handsup.stories.filters import parse_filters
from handsup.stories.help import story_help_context
from handsup.stories.models import Region, Story, StoryImage, StoryPerson, Tag
from handsup.stories.near import locate_district, stories_near
from handsup.stories.permissions import story_policy
from handsup.stories.querysets import StoryQuerySet
from handsup.stories.sharing import (
    open_graph,
    share_links,
    share_text,
    story_body_html,
    story_place,
    story_summary,
)
from handsup.stories.similar import similar_stories

PAGE_SIZE = 20
FEATURED_ON_INDEX = 3
# Served images are re-encoded on upload into one of these; anything else is not shown.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
# A published picture may sit in caches for an hour; one unpublished since stops there.
PUBLIC_IMAGE_MAX_AGE = 3600


class StoryCard:
    """What a list shows of one story."""

    def __init__(self, story: Story) -> None:
        self.story = story
        self.place = story_place(story)
        self.summary = story_summary(story)
        self.tags = [tag.name for tag in story.issues.all()]


def _cards(stories: list[Story]) -> list[StoryCard]:
    return [StoryCard(story) for story in stories]


def _listed(stories: StoryQuerySet) -> StoryQuerySet:
    return stories.select_related("group", "action_type").prefetch_related(
        Prefetch("issues", queryset=Tag.objects.order_by("name"))
    )


def index(request: HttpRequest) -> HttpResponse:
    filters = parse_filters(request.GET)
    tags = list(Tag.objects.all())
    issue_tags = [
        t for t in tags if t.kind == Tag.Kind.ISSUE and (not t.retired or t == filters.issue)
    ]
    action_tags = [
        t for t in tags if t.kind == Tag.Kind.ACTION and (not t.retired or t == filters.action)
    ]
    context = {
        "filters": filters,
        "issue_tags": issue_tags,
        "action_tags": action_tags,
        "regions": Region.choices,
        "feed_query": filters.query_string(),
    }
    if filters.problems:
        return render(request, "stories/index.html", {**context, "page": None}, status=404)
    stories = _listed(filters.apply(Story.objects.published())).order_by("-published_at", "-pk")
    page = Paginator(stories, PAGE_SIZE).get_page(request.GET.get("page"))
    featured: list[StoryCard] = []
    if not filters.active and page.number == 1:
        featured = _cards(list(_listed(Story.objects.featured())[:FEATURED_ON_INDEX]))
    return render(
        request,
        "stories/index.html",
        {**context, "page": page, "cards": _cards(list(page.object_list)), "featured": featured},
    )


def story(request: HttpRequest, public_id: str) -> HttpResponse:
    found = access_story(request.user, public_id, "read")
    signed_in = request.user.is_authenticated
    images = list(found.images.all())
    # Only people who agreed to be named: the others' names never reach the template.
    named = list(
        StoryPerson.objects.filter(story=found, consented=True).only("name", "role", "story_id")
    )
    links = [
        url
        for url in (found.links if isinstance(found.links, list) else [])
        if isinstance(url, str) and url.startswith(("https://", "http://"))
    ]
    context = {
        "story": found,
        "place": story_place(found),
        "issues": list(found.issues.order_by("name")),
        "body_html": story_body_html(found),
        "named": named,
        "links": links,
        "images": images,
        "similar": _cards(similar_stories(found)),
        "og": open_graph(found, images[0] if images else None),
        "share_text": share_text(found),
        "share_links": share_links(found) if found.is_published else [],
        "can_revise": signed_in and story_policy.allows(request.user, "revise", found),
        "can_curate": signed_in and story_policy.allows(request.user, "curate", found),
    }
    context.update(story_help_context(found, request.user))
    response = render(request, "stories/story.html", context)
    if not found.is_published:
        response["Cache-Control"] = "private, no-store"
    return response


def story_image(request: HttpRequest, public_id: str, image_id: int) -> FileResponse:
    found = access_story(request.user, public_id, "read")
    image = StoryImage.objects.filter(story=found, pk=image_id).select_related("file").first()
    if image is None or image.file.content_type not in IMAGE_TYPES:
        raise Http404("No such picture.")
    try:
        handle = image.file.file.open("rb")
    except OSError:
        raise Http404("No such picture.") from None
    response = FileResponse(handle, content_type=image.file.content_type)
    if found.is_published:
        response["Cache-Control"] = f"public, max-age={PUBLIC_IMAGE_MAX_AGE}"
    else:
        response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def near(request: HttpRequest) -> HttpResponse:
    typed = request.GET.get("district", "").strip()
    problem = ""
    place: Location | None = None
    from_profile = False
    if typed:
        try:
            place = locate_district(typed[:20])
        except PlaceError as error:
            problem = error.message
    elif request.user.is_authenticated:
        district = (
            Person.objects.filter(user=request.user).values_list("district", flat=True).first()
        )
        if district:
            try:
                place = geocode(district)
                from_profile = True
            except PlaceError:
                problem = _(
                    "We can't place the district on your profile (%(district)s). Type "
                    "another postcode district."
                ) % {"district": district}
    found = stories_near(place) if place is not None else None
    return render(
        request,
        "stories/near.html",
        {
            "typed": typed,
            "problem": problem,
            "found": found,
            "from_profile": from_profile,
            "nearby": [(StoryCard(item.story), item.band) for item in found.nearby]
            if found
            else [],
            "elsewhere": _cards(found.elsewhere) if found else [],
        },
        status=400 if problem else 200,
    )


FEATURED_ON_GROUP_PAGE = 3


def featured_stories_for(group: Group) -> dict[str, object]:
    """The group page's small block: its own featured stories, else the movement's."""
    own = _cards(
        list(_listed(Story.objects.featured().filter(group=group))[:FEATURED_ON_GROUP_PAGE])
    )
    if own:
        return {
            "featured": own,
            "featured_heading": _("Stories from %(group)s") % {"group": group.name},
        }
    latest = _cards(list(_listed(Story.objects.featured())[:FEATURED_ON_GROUP_PAGE]))
    return {"featured": latest, "featured_heading": _("Stories from the movement")}
