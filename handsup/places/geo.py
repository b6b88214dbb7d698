"""Points, distances and geocoding on the British National Grid.

Points are OSGB36 eastings and northings in metres. Straight-line distance on the grid is
within about 0.1 % of the true ground distance anywhere in Great Britain (the projection's
scale factor runs from 0.9996 on its central meridian to about 1.001 at the far west of
the Hebrides), far finer than postcode precision, and it is plain arithmetic that an
index on two integer columns can bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, models
from django.utils.translation import gettext_lazy as _

from handsup.places.areas import display_area
from handsup.places.models import Postcode, PostcodeDistrict
from handsup.places.postcodes import (
    PlaceKind,
    PlaceWithoutLocation,
    UnknownDistrict,
    UnknownPostcode,
    parse_place,
)


class Point(NamedTuple):
    eastings: int
    northings: int


@dataclass(frozen=True)
class Location:
    """Where a postcode or district is, and how precisely we know it."""

    point: Point
    kind: PlaceKind  # DISTRICT when only the district could be placed
    code: str  # the normalised code that was placed: "M1 1AE" or "M1"
    district: str

    @property
    def display_name(self) -> str:
        return display_area(self.district)


def distance_km(a: Point, b: Point) -> float:
    """Straight-line distance in kilometres between two grid points."""
    return math.hypot(a.eastings - b.eastings, a.northings - b.northings) / 1000


def bounding_box(centre: Point, km: float) -> tuple[int, int, int, int]:
    """(min eastings, max eastings, min northings, max northings) within `km` of `centre`.

    For indexed range filters; rows inside the box still need a `distance_km` check.
    """
    metres = math.ceil(km * 1000)
    return (
        centre.eastings - metres,
        centre.eastings + metres,
        centre.northings - metres,
        centre.northings + metres,
    )


class DistanceBand(models.IntegerChoices):
    """How far away someone is, as we show it: exact distances are never shown."""

    UNDER_2_KM = 1, _("under 2 km")
    FROM_2_TO_5_KM = 2, _("2–5 km")
    FROM_5_TO_10_KM = 3, _("5–10 km")
    FROM_10_TO_25_KM = 4, _("10–25 km")
    OVER_25_KM = 5, _("over 25 km")

    @property
    def upper_km(self) -> float | None:
        """The band's inclusive upper limit (the first band's is exclusive); None if open."""
        return _BAND_UPPER_KM.get(self)

    @classmethod
    def for_km(cls, km: float) -> DistanceBand:
        if km < 2:
            return cls.UNDER_2_KM
        if km <= 5:
            return cls.FROM_2_TO_5_KM
        if km <= 10:
            return cls.FROM_5_TO_10_KM
        if km <= 25:
            return cls.FROM_10_TO_25_KM
        return cls.OVER_25_KM


_BAND_UPPER_KM: dict[int, float] = {1: 2.0, 2: 5.0, 3: 10.0, 4: 25.0}


def distance_band(a: Point, b: Point) -> DistanceBand:
    return DistanceBand.for_km(distance_km(a, b))


def geocode(
    raw: str, *, fall_back_to_district: bool = False, using: str = DEFAULT_DB_ALIAS
) -> Location:
    """Place a postcode or a postcode district typed by someone.

    Returns a Location whose `kind` says whether the point is the postcode's own or its
    district's centroid (known postcodes without a grid reference are placed at their
    district). Raises a PlaceError subclass, each with a message for the person:
    MalformedPostcode, PostcodeOutsideGreatBritain, UnknownPostcode (its `district`
    says whether the district is known), UnknownDistrict or PlaceWithoutLocation.
    With `fall_back_to_district`, an unknown postcode in a known district is placed at
    the district instead of raising.
    """
    parsed = parse_place(raw)
    if parsed.kind is PlaceKind.POSTCODE:
        row = (
            Postcode.objects.using(using)
            .filter(code=parsed.code)
            .values_list("eastings", "northings")
            .first()
        )
        if row is not None and row[0] is not None and row[1] is not None:
            return Location(Point(row[0], row[1]), PlaceKind.POSTCODE, parsed.code, parsed.district)
        if row is None and not fall_back_to_district:
            known = PostcodeDistrict.objects.using(using).filter(code=parsed.district).exists()
            raise UnknownPostcode(parsed.code, district=parsed.district if known else None)
    try:
        return _district_location(parsed.district, using=using)
    except UnknownDistrict:
        if parsed.kind is PlaceKind.POSTCODE:
            raise UnknownPostcode(parsed.code, district=None) from None
        raise
    except PlaceWithoutLocation:
        raise PlaceWithoutLocation(parsed.code) from None


def _district_location(district: str, *, using: str) -> Location:
    row = (
        PostcodeDistrict.objects.using(using)
        .filter(code=district)
        .values_list("eastings", "northings")
        .first()
    )
    if row is None:
        raise UnknownDistrict(district)
    if row[0] is None or row[1] is None:
        raise PlaceWithoutLocation(district)
    return Location(Point(row[0], row[1]), PlaceKind.DISTRICT, district, district)
