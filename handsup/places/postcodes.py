"""Postcode text: normalise, validate and classify what people type, without the database.

Everything here is about the *shape* of a code. Whether a code exists, and where it is,
is `handsup.places.geo.geocode`'s job.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The Royal Mail rules for a postcode's shape. Letters that are never used in a position
# are excluded, so typing "QQ1" or "SW1A 1AI" is caught as a typo before any lookup.
_AREA = "[A-PR-UWYZ][A-HK-Y]?"
_OUTWARD = (
    "(?:"
    "[A-PR-UWYZ][0-9]{1,2}"  # M1, B33
    "|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}"  # CF10, IV2
    "|[A-PR-UWYZ][0-9][A-HJKPSTUW]"  # W1A, E1W
    "|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]"  # SW1A, EC1V
    ")"
)
_INWARD = "[0-9][ABD-HJLNP-UW-Z]{2}"
POSTCODE_PATTERN = re.compile(f"(?P<district>{_OUTWARD}) (?P<inward>{_INWARD})")
DISTRICT_PATTERN = re.compile(_OUTWARD)
_AREA_PATTERN = re.compile(_AREA)

# Valid UK codes that the Code-Point Open data does not cover (it is Great Britain only).
NORTHERN_IRELAND_AREAS = frozenset({"BT"})
CROWN_DEPENDENCY_AREAS = frozenset({"GY", "JE", "IM"})


class PlaceKind(enum.StrEnum):
    """How precise a located place is: a full postcode, or only its district."""

    POSTCODE = "postcode"
    DISTRICT = "district"


class PlaceError(ValueError):
    """A postcode or district we cannot place. `message` is for the person who typed it.

    Each subclass is one reason, with its own `code` (usable as a form error code) and a
    translatable message, so a caller can decide what to offer instead: the district,
    or "remote only".
    """

    code = "place"
    template: Promise = _("We can't place that postcode.")

    def __init__(self, value: str, **params: Any) -> None:
        self.value = value
        self.params = {"value": value, **params}
        super().__init__(f"{type(self).__name__}: {value!r}")

    @property
    def message(self) -> str:
        # Interpolated on access so it is translated into the language active then.
        return str(self.template) % self.params


class MalformedPostcode(PlaceError):
    code = "malformed"
    template = _(
        "“%(value)s” doesn't look like a UK postcode. Enter a full postcode, like SW1A 1AA, "
        "or just its first part, like SW1A."
    )


class PostcodeOutsideGreatBritain(PlaceError):
    """A real UK code outside the GB-only data: Northern Ireland or a crown dependency."""

    code = "outside_great_britain"
    template = _(
        "We can't place postcodes in %(region)s yet, so we can't suggest help near "
        "%(value)s. You can still offer to help remotely."
    )

    def __init__(self, value: str, *, area: str) -> None:
        self.area = area
        region = (
            _("Northern Ireland")
            if area in NORTHERN_IRELAND_AREAS
            else _("Guernsey, Jersey or the Isle of Man")
        )
        super().__init__(value, region=region)


class UnknownPostcode(PlaceError):
    """A well-formed GB postcode that is not in our data (new, retired, or a typo).

    `district` is the district to fall back to when that district is known, else None.
    """

    code = "unknown_postcode"
    template = _(
        "We can't find the postcode %(value)s. Check it, or enter just its first part "
        "(%(district)s) instead."
    )
    template_without_district = _(
        "We can't find the postcode %(value)s. Check it, or choose to help remotely."
    )

    def __init__(self, value: str, *, district: str | None) -> None:
        self.district = district
        if district is None:
            self.template = self.template_without_district
        super().__init__(value, district=district or "")


class UnknownDistrict(PlaceError):
    code = "unknown_district"
    template = _(
        "We can't find the postcode district %(value)s. Check it, or enter your full postcode."
    )


class PlaceWithoutLocation(PlaceError):
    """A real code with no grid reference (PO boxes and other non-geographic codes)."""

    code = "no_location"
    template = _(
        "%(value)s is a postcode for post boxes or large organisations, with no location we "
        "can use. Enter the postcode where you live or would like to help instead."
    )


@dataclass(frozen=True)
class ParsedPlace:
    """A normalised postcode or district, not yet looked up."""

    kind: PlaceKind
    code: str  # "SW1A 1AA" or "SW1A"
    district: str  # "SW1A"
    area: str  # "SW"


def _compact(raw: str) -> str:
    return "".join(raw.split()).upper()


def normalise_postcode(raw: str) -> str:
    """Return the one canonical form of a full postcode: "sw1a1aa" → "SW1A 1AA".

    Raises MalformedPostcode if `raw`, ignoring spacing and case, is not shaped like one.
    """
    compact = _compact(raw)
    candidate = f"{compact[:-3]} {compact[-3:]}"
    if len(compact) < 5 or not POSTCODE_PATTERN.fullmatch(candidate):
        raise MalformedPostcode(raw.strip())
    return candidate


def normalise_district(raw: str) -> str:
    """Return the canonical form of a postcode district (outward code): " sw1a " → "SW1A"."""
    compact = _compact(raw)
    if not DISTRICT_PATTERN.fullmatch(compact):
        raise MalformedPostcode(raw.strip())
    return compact


def is_valid_postcode(raw: str) -> bool:
    """Whether `raw` is shaped like a full UK postcode (any spacing, any case)."""
    try:
        normalise_postcode(raw)
    except MalformedPostcode:
        return False
    return True


def district_of(code: str) -> str:
    """The district (outward code) of a normalised postcode or district."""
    return code.split(" ", 1)[0]


def area_of(code: str) -> str:
    """The postcode area (the leading letters) of a normalised postcode or district."""
    match = _AREA_PATTERN.match(code)
    return match.group(0) if match else ""


def parse_place(raw: str) -> ParsedPlace:
    """Classify what someone typed as a full postcode or a district, normalised.

    Raises MalformedPostcode for anything else, and PostcodeOutsideGreatBritain for real
    codes our data cannot place (Northern Ireland, the Channel Islands, the Isle of Man).
    """
    compact = _compact(raw)
    if DISTRICT_PATTERN.fullmatch(compact):
        kind, code = PlaceKind.DISTRICT, compact
    else:
        kind, code = PlaceKind.POSTCODE, normalise_postcode(raw)
    district = district_of(code)
    area = area_of(district)
    if area in NORTHERN_IRELAND_AREAS or area in CROWN_DEPENDENCY_AREAS:
        raise PostcodeOutsideGreatBritain(code, area=area)
    return ParsedPlace(kind=kind, code=code, district=district, area=area)
