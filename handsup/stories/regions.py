"""Which region of Great Britain a postcode district is in, without the database.

A story placed at a postcode district also gets a region, so that it shows up under a
region filter and under "elsewhere in <region>". Every GB postcode area maps to the
region most of it lies in; a few districts of areas that straddle a border are listed
on their own (Welsh districts of Chester and Shrewsbury, the Hertfordshire end of the
Hemel Hempstead area, the Surrey end of Kingston…). It is a coarse label for browsing,
not a boundary service: a district on a border may land on either side.
"""

from __future__ import annotations

import re

from handsup.places.postcodes import MalformedPostcode, area_of, normalise_district
from handsup.stories.models import Region

AREA_REGIONS: dict[str, Region] = {
    "AB": Region.SCOTLAND,
    "AL": Region.EAST,
    "B": Region.WEST_MIDLANDS,
    "BA": Region.SOUTH_WEST,
    "BB": Region.NORTH_WEST,
    "BD": Region.YORKSHIRE,
    "BH": Region.SOUTH_WEST,
    "BL": Region.NORTH_WEST,
    "BN": Region.SOUTH_EAST,
    "BR": Region.LONDON,
    "BS": Region.SOUTH_WEST,
    "CA": Region.NORTH_WEST,
    "CB": Region.EAST,
    "CF": Region.WALES,
    "CH": Region.NORTH_WEST,
    "CM": Region.EAST,
    "CO": Region.EAST,
    "CR": Region.LONDON,
    "CT": Region.SOUTH_EAST,
    "CV": Region.WEST_MIDLANDS,
    "CW": Region.NORTH_WEST,
    "DA": Region.SOUTH_EAST,
    "DD": Region.SCOTLAND,
    "DE": Region.EAST_MIDLANDS,
    "DG": Region.SCOTLAND,
    "DH": Region.NORTH_EAST,
    "DL": Region.NORTH_EAST,
    "DN": Region.YORKSHIRE,
    "DT": Region.SOUTH_WEST,
    "DY": Region.WEST_MIDLANDS,
    "E": Region.LONDON,
    "EC": Region.LONDON,
    "EH": Region.SCOTLAND,
    "EN": Region.LONDON,
    "EX": Region.SOUTH_WEST,
    "FK": Region.SCOTLAND,
    "FY": Region.NORTH_WEST,
    "G": Region.SCOTLAND,
    "GL": Region.SOUTH_WEST,
    "GU": Region.SOUTH_EAST,
    "HA": Region.LONDON,
    "HD": Region.YORKSHIRE,
    "HG": Region.YORKSHIRE,
    "HP": Region.SOUTH_EAST,
    "HR": Region.WEST_MIDLANDS,
    "HS": Region.SCOTLAND,
    "HU": Region.YORKSHIRE,
    "HX": Region.YORKSHIRE,
    "IG": Region.LONDON,
    "IP": Region.EAST,
    "IV": Region.SCOTLAND,
    "KA": Region.SCOTLAND,
    "KT": Region.LONDON,
    "KW": Region.SCOTLAND,
    "KY": Region.SCOTLAND,
    "L": Region.NORTH_WEST,
    "LA": Region.NORTH_WEST,
    "LD": Region.WALES,
    "LE": Region.EAST_MIDLANDS,
    "LL": Region.WALES,
    "LN": Region.EAST_MIDLANDS,
    "LS": Region.YORKSHIRE,
    "LU": Region.EAST,
    "M": Region.NORTH_WEST,
    "ME": Region.SOUTH_EAST,
    "MK": Region.SOUTH_EAST,
    "ML": Region.SCOTLAND,
    "N": Region.LONDON,
    "NE": Region.NORTH_EAST,
    "NG": Region.EAST_MIDLANDS,
    "NN": Region.EAST_MIDLANDS,
    "NP": Region.WALES,
    "NR": Region.EAST,
    "NW": Region.LONDON,
    "OL": Region.NORTH_WEST,
    "OX": Region.SOUTH_EAST,
    "PA": Region.SCOTLAND,
    "PE": Region.EAST,
    "PH": Region.SCOTLAND,
    "PL": Region.SOUTH_WEST,
    "PO": Region.SOUTH_EAST,
    "PR": Region.NORTH_WEST,
    "RG": Region.SOUTH_EAST,
    "RH": Region.SOUTH_EAST,
    "RM": Region.LONDON,
    "S": Region.YORKSHIRE,
    "SA": Region.WALES,
    "SE": Region.LONDON,
    "SG": Region.EAST,
    "SK": Region.NORTH_WEST,
    "SL": Region.SOUTH_EAST,
    "SM": Region.LONDON,
    "SN": Region.SOUTH_WEST,
    "SO": Region.SOUTH_EAST,
    "SP": Region.SOUTH_WEST,
    "SR": Region.NORTH_EAST,
    "SS": Region.EAST,
    "ST": Region.WEST_MIDLANDS,
    "SW": Region.LONDON,
    "SY": Region.WEST_MIDLANDS,
    "TA": Region.SOUTH_WEST,
    "TD": Region.SCOTLAND,
    "TF": Region.WEST_MIDLANDS,
    "TN": Region.SOUTH_EAST,
    "TQ": Region.SOUTH_WEST,
    "TR": Region.SOUTH_WEST,
    "TS": Region.NORTH_EAST,
    "TW": Region.LONDON,
    "UB": Region.LONDON,
    "W": Region.LONDON,
    "WA": Region.NORTH_WEST,
    "WC": Region.LONDON,
    "WD": Region.EAST,
    "WF": Region.YORKSHIRE,
    "WN": Region.NORTH_WEST,
    "WR": Region.WEST_MIDLANDS,
    "WS": Region.WEST_MIDLANDS,
    "WV": Region.WEST_MIDLANDS,
    "YO": Region.YORKSHIRE,
    "ZE": Region.SCOTLAND,
}


# Districts whose region differs from their area's, keyed by area and number; a
# sub-district ("EC1V") follows its number.
DISTRICT_REGIONS: dict[str, Region] = {}


def _override(area: str, numbers: range | list[int], region: Region) -> None:
    for number in numbers:
        DISTRICT_REGIONS[f"{area}{number}"] = region


# Flintshire and Wrexham (Deeside, Mold, Holywell, Flint).
_override("CH", range(5, 9), Region.WALES)
# Powys and Ceredigion (Newtown, Welshpool, Machynlleth, Aberystwyth…).
_override("SY", range(15, 26), Region.WALES)
# Berwick-upon-Tweed and Cornhill-on-Tweed are in Northumberland.
_override("TD", [12, 15], Region.NORTH_EAST)
# Hemel Hempstead and Berkhamsted are in Hertfordshire.
_override("HP", range(1, 5), Region.EAST)
# Potters Bar, Hoddesdon, Waltham Cross and the rest of the Hertfordshire end of EN.
_override("EN", range(6, 12), Region.EAST)
# Esher, Epsom, Leatherhead, Weybridge…: Surrey.
_override("KT", range(10, 25), Region.SOUTH_EAST)
# Bedford and around.
_override("MK", range(40, 47), Region.EAST)
# Bexley's districts of the Dartford area are in London.
_override("DA", [5, 6, 7, 8, 14, 15, 16, 17, 18], Region.LONDON)
# Stamford, Spalding, Boston, Skegness and the Lincolnshire end of PE.
_override("PE", [9, 10, 11, 12, 20, 21, 22, 23, 24, 25], Region.EAST_MIDLANDS)
# Whitby, Scarborough… are YO (already Yorkshire); Richmond and Northallerton are DL
# districts in North Yorkshire.
_override("DL", [6, 7, 8, 9, 10, 11], Region.YORKSHIRE)

_DISTRICT_NUMBER = re.compile(r"^([A-Z]{1,2})([0-9]{1,2})")


def region_of_area(area: str) -> str:
    """The region of a postcode area ("M" → "north_west"), or "" outside Great Britain."""
    region = AREA_REGIONS.get(area.upper())
    return region.value if region is not None else ""


def region_of_district(district: str) -> str:
    """The region (a `Region` value) of a postcode district: "M1" → "north_west".

    "" for districts we can't place in a GB region: Northern Ireland, the Channel Islands,
    the Isle of Man, or text that is not a district at all.
    """
    try:
        code = normalise_district(district)
    except MalformedPostcode:
        return ""
    match = _DISTRICT_NUMBER.match(code)
    if match is not None:
        override = DISTRICT_REGIONS.get(match.group(1) + match.group(2))
        if override is not None:
            return override.value
    return region_of_area(area_of(code))
