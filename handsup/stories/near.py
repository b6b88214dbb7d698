""" "Stories near you": published stories by distance from a postcode district.

Distances are between district centroids (a story is placed at its district's; a reader
at theirs, even when their profile has a full postcode), and are shown only as bands
(`DistanceBand`), never in kilometres. Stories placed only at a region come after the
nearby ones, under "elsewhere in <region>", when the reader's district is in that region.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handsup.places.geo import DistanceBand, Location, Point, bounding_box, distance_km, geocode
from handsup.places.postcodes import parse_place
from handsup.stories.models import Region, Story
from handsup.stories.regions import region_of_district

NEAR_KM = 80
MOST_NEARBY = 50
MOST_ELSEWHERE = 20


@dataclass(frozen=True)
class NearbyStory:
    story: Story
    band: DistanceBand


@dataclass
class StoriesNear:
    place: Location
    region: str
    nearby: list[NearbyStory] = field(default_factory=list)
    elsewhere: list[Story] = field(default_factory=list)

    @property
    def region_name(self) -> str:
        return str(Region(self.region).label) if self.region else ""


def locate_district(raw: str) -> Location:
    """The centroid of the district of what someone typed (a district or a postcode).

    Raises the PlaceError subclasses of `geocode`, whose `message` is for the person.
    A full postcode is cut to its district first: we never place a reader more finely.
    """
    return geocode(parse_place(raw).district)


def stories_near(place: Location, stories: Any = None) -> StoriesNear:
    """Published stories within NEAR_KM of `place`, nearest first; then its region's."""
    published = stories if stories is not None else Story.objects.published()
    published = published.select_related("group", "action_type").prefetch_related("issues")
    centre: Point = place.point
    west, east, south, north = bounding_box(centre, NEAR_KM)
    scored: list[tuple[float, Story]] = []
    for story in published.filter(eastings__range=(west, east), northings__range=(south, north)):
        km = distance_km(centre, Point(story.eastings, story.northings))
        if km <= NEAR_KM:
            scored.append((km, story))
    scored.sort(key=lambda pair: (pair[0], -pair[1].pk))
    region = region_of_district(place.district)
    found = StoriesNear(
        place=place,
        region=region,
        nearby=[NearbyStory(story, DistanceBand.for_km(km)) for km, story in scored[:MOST_NEARBY]],
    )
    if region:
        found.elsewhere = list(
            published.filter(eastings__isnull=True, region=region).order_by("-published_at", "-pk")[
                :MOST_ELSEWHERE
            ]
        )
    return found
