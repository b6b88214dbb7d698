"""Geocoding, distances and bands, against the loaded test areas."""

from __future__ import annotations

import csv
import gzip
import math
import re

import pytest
from convertbng.util import convert_lonlat
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from handsup.places.geo import (
    DistanceBand,
    Point,
    bounding_box,
    distance_band,
    distance_km,
    geocode,
)
from handsup.places.loading import codepoint_directory
from handsup.places.postcodes import (
    POSTCODE_PATTERN,
    MalformedPostcode,
    PlaceError,
    PlaceKind,
    PlaceWithoutLocation,
    PostcodeOutsideGreatBritain,
    UnknownDistrict,
    UnknownPostcode,
)

pytestmark = pytest.mark.usefixtures("places")

# Grid references as published in Code-Point Open (checked against the CSVs).
KNOWN_POSTCODES = {
    "SW1A 1AA": Point(529090, 179645),  # Buckingham Palace
    "M1 1AE": Point(384756, 398553),
    "EC1A 1BB": Point(531073, 182317),
    "CF10 1AA": Point(318284, 176230),
    "IV2 3AA": Point(266592, 845146),
    "KW15 1AA": Point(344877, 1011082),
}
# District centroids: the rounded mean of each district's located postcodes.
KNOWN_DISTRICTS = {
    "M1": Point(384414, 397883),
    "SW1A": Point(529736, 180060),
    "KW15": Point(344912, 1010725),
}


@pytest.mark.parametrize(("code", "point"), KNOWN_POSTCODES.items())
def test_known_postcodes_geocode(code: str, point: Point) -> None:
    location = geocode(code.lower().replace(" ", ""))
    assert location.point == point
    assert location.kind is PlaceKind.POSTCODE
    assert location.code == code


@pytest.mark.parametrize(("district", "point"), KNOWN_DISTRICTS.items())
def test_known_districts_geocode_to_their_centroid(district: str, point: Point) -> None:
    location = geocode(f" {district.lower()} ")
    assert location.point == point
    assert location.kind is PlaceKind.DISTRICT
    assert location.district == district


@pytest.mark.parametrize("district", ["M1", "SW1A", "IV2", "WC2N"])
def test_centroids_are_the_mean_of_the_source_file(district: str) -> None:
    """An independent reading of the CSV (with the csv module) gives the same centroid."""
    area = re.match("[A-Z]+", district).group(0)  # type: ignore[union-attr]
    eastings, northings = [], []
    with gzip.open(codepoint_directory() / f"{area.lower()}.csv.gz", "rt") as stream:
        for code, quality, east, north in csv.reader(stream):
            if code.split()[0] == district and quality != "90":
                eastings.append(int(east))
                northings.append(int(north))
    expected = Point(
        math.floor(sum(eastings) / len(eastings) + 0.5),
        math.floor(sum(northings) / len(northings) + 0.5),
    )
    assert geocode(district).point == expected


def test_london_to_manchester_is_about_262_km() -> None:
    """SW1A 1AA (Buckingham Palace) to M1 1AE (central Manchester).

    Reference: the great-circle distance between the two points' WGS84 positions
    (converted from the grid with OSTN15 by convertbng), ≈ 262 km; ours must be within
    1 % of both that and the rounded 262 km commonly quoted for London–Manchester.
    """
    london, manchester = geocode("SW1A 1AA").point, geocode("M1 1AE").point
    ours = distance_km(london, manchester)
    (lon_a, lon_b), (lat_a, lat_b) = convert_lonlat(
        [london.eastings, manchester.eastings], [london.northings, manchester.northings]
    )
    phi_a, phi_b = math.radians(lat_a), math.radians(lat_b)
    haversine = (
        math.sin((phi_b - phi_a) / 2) ** 2
        + math.cos(phi_a) * math.cos(phi_b) * math.sin(math.radians(lon_b - lon_a) / 2) ** 2
    )
    great_circle = 2 * 6371.0088 * math.asin(math.sqrt(haversine))
    assert abs(ours - great_circle) / great_circle < 0.01
    assert abs(ours - 262) / 262 < 0.01
    # District centroids agree too.
    assert abs(distance_km(geocode("SW1A").point, geocode("M1").point) - 262) / 262 < 0.01


def test_distance_is_symmetric_and_zero_at_a_point() -> None:
    a, b = KNOWN_POSTCODES["CF10 1AA"], KNOWN_POSTCODES["IV2 3AA"]
    assert distance_km(a, b) == distance_km(b, a)
    assert distance_km(a, a) == 0
    assert distance_km(Point(0, 0), Point(3000, 4000)) == 5.0


@pytest.mark.parametrize(
    ("km", "band"),
    [
        (0, DistanceBand.UNDER_2_KM),
        (1.999, DistanceBand.UNDER_2_KM),
        (2, DistanceBand.FROM_2_TO_5_KM),
        (5, DistanceBand.FROM_2_TO_5_KM),
        (5.01, DistanceBand.FROM_5_TO_10_KM),
        (10, DistanceBand.FROM_5_TO_10_KM),
        (24.9, DistanceBand.FROM_10_TO_25_KM),
        (25, DistanceBand.FROM_10_TO_25_KM),
        (25.001, DistanceBand.OVER_25_KM),
        (262, DistanceBand.OVER_25_KM),
    ],
)
def test_distance_bands(km: float, band: DistanceBand) -> None:
    assert DistanceBand.for_km(km) is band


@given(st.floats(min_value=0, max_value=2000), st.floats(min_value=0, max_value=2000))
def test_bands_never_go_down_as_distance_grows(a: float, b: float) -> None:
    near, far = sorted((a, b))
    assert DistanceBand.for_km(near) <= DistanceBand.for_km(far)
    band = DistanceBand.for_km(far)
    assert band.upper_km is None or far <= band.upper_km


def test_bands_have_labels_and_limits() -> None:
    assert [str(band.label) for band in DistanceBand] == [
        "under 2 km",
        "2–5 km",
        "5–10 km",
        "10–25 km",
        "over 25 km",
    ]
    assert DistanceBand.OVER_25_KM.upper_km is None
    assert distance_band(Point(0, 0), Point(0, 3000)) is DistanceBand.FROM_2_TO_5_KM


def test_bounding_box_holds_every_point_within_reach() -> None:
    centre = KNOWN_POSTCODES["M1 1AE"]
    min_e, max_e, min_n, max_n = bounding_box(centre, 2.5)
    assert (min_e, max_e) == (centre.eastings - 2500, centre.eastings + 2500)
    assert (min_n, max_n) == (centre.northings - 2500, centre.northings + 2500)


def test_unknown_postcode_names_its_district_to_fall_back_to() -> None:
    with pytest.raises(UnknownPostcode) as raised:
        geocode("M1 9ZZ")
    assert raised.value.district == "M1"
    assert raised.value.code == "unknown_postcode"
    location = geocode("M1 9ZZ", fall_back_to_district=True)
    assert (location.kind, location.code, location.point) == (
        PlaceKind.DISTRICT,
        "M1",
        KNOWN_DISTRICTS["M1"],
    )


def test_unknown_postcode_in_an_unknown_district() -> None:
    with pytest.raises(UnknownPostcode) as raised:
        geocode("M97 9ZZ", fall_back_to_district=True)
    assert raised.value.district is None
    with pytest.raises(UnknownDistrict):
        geocode("M97")


def test_postcode_without_a_grid_reference_is_placed_at_its_district() -> None:
    # M35 5AN has positional quality 90 (no coordinates) in Code-Point Open.
    location = geocode("M35 5AN")
    assert location.kind is PlaceKind.DISTRICT
    assert location.point == geocode("M35").point


def test_district_without_any_location(places: None) -> None:
    from handsup.places.models import PostcodeDistrict

    PostcodeDistrict.objects.create(code="M98", area="M", postcode_count=3)
    with pytest.raises(PlaceWithoutLocation):
        geocode("M98")
    with pytest.raises(PlaceWithoutLocation):
        geocode("M98 1AA", fall_back_to_district=True)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("BT1 1AA", PostcodeOutsideGreatBritain),
        ("JE2 3AB", PostcodeOutsideGreatBritain),
        ("not a postcode", MalformedPostcode),
        ("SW1A 1AI", MalformedPostcode),
    ],
)
def test_codes_we_cannot_place_raise_specific_errors(typed: str, error: type) -> None:
    with pytest.raises(error):
        geocode(typed, fall_back_to_district=True)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(st.text(max_size=10))
def test_invalid_codes_never_geocode(text: str) -> None:
    """Anything not shaped like a postcode or district is refused before any lookup;
    anything that does geocode is a real code in its normal form."""
    try:
        location = geocode(text, fall_back_to_district=True)
    except PlaceError:
        return
    assert location.code == "".join(text.split()).upper() or POSTCODE_PATTERN.fullmatch(
        location.code
    )
    assert location.code.replace(" ", "") in "".join(text.split()).upper()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(st.from_regex(r"[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}", fullmatch=True))
def test_shaped_but_invalid_codes_never_geocode(text: str) -> None:
    compact = text.replace(" ", "")
    assume(not POSTCODE_PATTERN.fullmatch(f"{compact[:-3]} {compact[-3:]}"))
    with pytest.raises(MalformedPostcode):
        geocode(text, fall_back_to_district=True)
