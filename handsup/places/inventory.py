"""Places' fields in the privacy field inventory (see `handsup.privacy.inventory`)."""

from __future__ import annotations

from handsup.privacy.inventory import not_personal

not_personal(
    "places.Postcode",
    "code",
    "district_code",
    "eastings",
    "northings",
    why="published reference data (Code-Point Open) about places, not people",
)
not_personal(
    "places.PostcodeDistrict",
    "code",
    "area",
    "eastings",
    "northings",
    "postcode_count",
    why="published reference data (Code-Point Open) about places, not people",
)
