"""Postcode text: normalisation and validation, no database."""

from __future__ import annotations

import gzip
import re

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from handsup.places.areas import AREA_NAMES, area_name, display_area
from handsup.places.loading import available_areas, codepoint_directory
from handsup.places.postcodes import (
    DISTRICT_PATTERN,
    POSTCODE_PATTERN,
    MalformedPostcode,
    PlaceKind,
    PostcodeOutsideGreatBritain,
    UnknownPostcode,
    area_of,
    district_of,
    is_valid_postcode,
    normalise_district,
    normalise_postcode,
    parse_place,
)

valid_postcodes = st.from_regex(POSTCODE_PATTERN, fullmatch=True)


@st.composite
def respelt(draw: st.DrawFn, canonical: str) -> str:
    """The same code as someone might type it: any case, any whitespace anywhere."""
    characters = [
        char.lower() if draw(st.booleans()) else char for char in canonical.replace(" ", "")
    ]
    gaps = st.text(alphabet=" \t\u00a0", max_size=3)
    return draw(gaps) + "".join(char + draw(gaps) for char in characters)


@given(data=st.data(), canonical=valid_postcodes)
def test_any_spacing_and_case_normalises_to_one_form(data: st.DataObject, canonical: str) -> None:
    typed = data.draw(respelt(canonical))
    assert normalise_postcode(typed) == canonical
    assert is_valid_postcode(typed)
    assert normalise_postcode(normalise_postcode(typed)) == canonical


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" SW1A  1AA ", "SW1A 1AA"),
        ("m11ae", "M1 1AE"),
        ("W1A 0AX", "W1A 0AX"),
        ("ec1a\t1bb", "EC1A 1BB"),
        ("CF10 1aa", "CF10 1AA"),
    ],
)
def test_known_spellings_normalise(typed: str, expected: str) -> None:
    assert normalise_postcode(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "hello",
        "SW1A",  # a district, not a full postcode
        "SW1A 1A",
        "SW1A 1AAA",
        "QA1 1AA",  # Q never starts a postcode
        "SW1A 1CA",  # C is never in the inward part
        "S1 1 AA X",
        "SW1A-1AA",
        "12345",
        "M1 1AE; DROP TABLE",
    ],
)
def test_malformed_codes_are_rejected(typed: str) -> None:
    assert not is_valid_postcode(typed)
    with pytest.raises(MalformedPostcode) as raised:
        normalise_postcode(typed)
    assert raised.value.code == "malformed"


def test_every_code_in_the_data_is_valid_and_already_normal() -> None:
    """Validation must never turn away a real postcode: check all 1.7 million, each file
    in one regular-expression pass for speed."""
    directory = codepoint_directory()
    checked = 0
    for area in available_areas(directory):
        with gzip.open(directory / f"{area.lower()}.csv.gz", "rt") as stream:
            text = stream.read().strip()
        # A line that does not start with a normalised postcode of this area, then a comma.
        stray = re.search(rf"^(?!(?={area}[0-9]){POSTCODE_PATTERN.pattern},)", text, re.M)
        assert stray is None, text[stray.start() : stray.start() + 20]
        checked += text.count("\n") + 1
    assert checked > 1_700_000


def test_districts_normalise() -> None:
    assert normalise_district(" sw1a ") == "SW1A"
    assert normalise_district("m1") == "M1"
    with pytest.raises(MalformedPostcode):
        normalise_district("SW1A 1AA")
    assert DISTRICT_PATTERN.fullmatch("E1W")


def test_parse_place_tells_postcodes_from_districts() -> None:
    assert parse_place("m1 1ae").kind is PlaceKind.POSTCODE
    place = parse_place(" sw1a ")
    assert (place.kind, place.code, place.district, place.area) == (
        PlaceKind.DISTRICT,
        "SW1A",
        "SW1A",
        "SW",
    )
    assert district_of("EC1A 1BB") == "EC1A"
    assert area_of("EC1A 1BB") == "EC"
    assert area_of("M1") == "M"


@pytest.mark.parametrize(
    ("typed", "area", "region"),
    [
        ("BT1 1AA", "BT", "Northern Ireland"),
        ("bt71", "BT", "Northern Ireland"),
        ("JE2 3AB", "JE", "Guernsey, Jersey or the Isle of Man"),
        ("GY1 1AA", "GY", "Guernsey, Jersey or the Isle of Man"),
        ("IM1 1AA", "IM", "Guernsey, Jersey or the Isle of Man"),
    ],
)
def test_codes_outside_great_britain_say_so(typed: str, area: str, region: str) -> None:
    with pytest.raises(PostcodeOutsideGreatBritain) as raised:
        parse_place(typed)
    assert raised.value.area == area
    assert raised.value.code == "outside_great_britain"
    with translation.override("en-gb"):
        assert region in raised.value.message
        assert "remotely" in raised.value.message


def test_messages_are_specific() -> None:
    with translation.override("en-gb"):
        assert "“sw1a-1aa”" in MalformedPostcode("sw1a-1aa").message
        with_district = UnknownPostcode("M1 9ZZ", district="M1").message
        assert "M1 9ZZ" in with_district and "(M1)" in with_district
        assert "remotely" in UnknownPostcode("ZE9 9ZZ", district=None).message


def test_area_names() -> None:
    assert display_area("M1 1AE") == "Manchester (M1)"
    assert display_area("SW1A") == "South West London (SW1A)"
    assert area_name("IV2 3AA") == "Inverness"
    assert display_area("ZZ1") == "ZZ1"
    # One name for every area in the data, plus Northern Ireland and the crown dependencies.
    assert set(available_areas()) | {"BT", "GY", "JE", "IM"} == set(AREA_NAMES)
