"""Checking rows in Python, a batch at a time, with postcodes looked up in bulk.

Every problem is reported as (row, field, message), in words the importer can act on.
A row with any problem is rejected whole; nothing about it is stored except in the
rejected-rows report the importer downloads.

Postcodes are checked the way the rest of the site checks them (`handsup.places`), but
a batch's postcodes are fetched in one query and the districts once per import, never a
query per row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from handsup.imports.columns import FIELDS_BY_NAME
from handsup.imports.reading import MAX_FIELD_CHARS, RawRow
from handsup.places.models import Postcode, PostcodeDistrict
from handsup.places.postcodes import (
    CROWN_DEPENDENCY_AREAS,
    DISTRICT_PATTERN,
    NORTHERN_IRELAND_AREAS,
    POSTCODE_PATTERN,
    PlaceError,
    PlaceKind,
    PlaceWithoutLocation,
    UnknownDistrict,
    UnknownPostcode,
    parse_place,
)
from handsup.privacy.erased import erased_addresses

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]{7,25}$")
_SPACES = re.compile(r"\s+")
# Addresses this matches are valid by Django's EmailValidator too (it is a strict subset);
# anything else is asked of the validator itself.
_PLAIN_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def _is_email(value: str) -> bool:
    if _PLAIN_EMAIL.match(value):
        return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str  # the column's name in the file, or "" for the row as a whole
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass(slots=True)
class CleanRow:
    """A row that passed every check, in the form we store."""

    row: int
    email: str  # lower-case, or "" when the row has none
    name: str
    postcode: str  # "M1 1AE", or "" when only a district (or nothing) is known
    district: str
    eastings: int | None
    northings: int | None
    phone: str
    talents: str


class PlaceBook:
    """Postcode districts (all, loaded once) and postcodes (a batch at a time)."""

    def __init__(self, using: str = DEFAULT_DB_ALIAS) -> None:
        self.using = using
        self.districts: dict[str, tuple[int | None, int | None]] = {
            code: (e, n)
            for code, e, n in PostcodeDistrict.objects.using(using).values_list(
                "code", "eastings", "northings"
            )
        }
        self.loaded = bool(self.districts)

    def postcodes(self, codes: Iterable[str]) -> dict[str, tuple[int | None, int | None]]:
        wanted = sorted(set(codes))
        found: dict[str, tuple[int | None, int | None]] = {}
        # Well under SQLite's limit of 32,766 parameters per statement.
        connection = connections[self.using]
        table = connection.ops.quote_name(Postcode._meta.db_table)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One array parameter: no 10,000-placeholder statement to build and parse.
                cursor.execute(
                    f"SELECT code, eastings, northings FROM {table} "  # noqa: S608
                    f"WHERE code = ANY(%s::text[])",
                    [wanted],
                )
                for code, e, n in cursor.fetchall():
                    found[code] = (e, n)
                return found
            for start in range(0, len(wanted), 10_000):
                chunk = wanted[start : start + 10_000]
                # Plain SQL: building 10,000 parameters through the ORM costs more than
                # the lookup itself.
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT code, eastings, northings FROM {table} "  # noqa: S608
                    f"WHERE code IN ({marks})",
                    chunk,
                )
                for code, e, n in cursor.fetchall():
                    found[code] = (e, n)
        return found


class RowChecker:
    """Checks batches of rows against one file's header and mapping."""

    def __init__(self, header: Sequence[str], mapping: Sequence[str], places: PlaceBook) -> None:
        self.header = list(header)
        self.columns = {field: index for index, field in enumerate(mapping) if field}
        self.mapped = [
            (field, index, FIELDS_BY_NAME[field]) for field, index in self.columns.items()
        ]
        self.places = places
        # Rows left out because their address belongs to someone erased (counted only).
        self.erased_left_out = 0

    def check(
        self, rows: Sequence[RawRow]
    ) -> tuple[list[CleanRow], list[tuple[RawRow, list[RowError]]]]:
        """The clean rows, and each rejected row with its problems, in the order given."""
        errors_by_row: dict[int, list[RowError]] = {}
        drafts: list[tuple[CleanRow, str]] = []
        for raw in rows:
            errors = [RowError(raw.number, "", problem) for problem in raw.problems]
            clean, raw_postcode = self._check_row(raw, errors)
            if errors:
                errors_by_row[raw.number] = errors
            else:
                drafts.append((clean, raw_postcode))
        self._place(drafts, errors_by_row)
        left_out = self._leave_out_erased(drafts)
        clean_rows = [
            clean
            for clean, _raw in drafts
            if clean.row not in errors_by_row and clean.row not in left_out
        ]
        rejected = [(raw, errors_by_row[raw.number]) for raw in rows if raw.number in errors_by_row]
        return clean_rows, rejected

    def _label(self, field: str) -> str:
        index = self.columns.get(field)
        if index is not None and index < len(self.header) and self.header[index]:
            return self.header[index]
        return str(FIELDS_BY_NAME[field].label)

    def _check_row(self, raw: RawRow, errors: list[RowError]) -> tuple[CleanRow, str]:
        number = raw.number
        cells = raw.cells
        if cells and max(map(len, cells)) > MAX_FIELD_CHARS:
            for index, cell in enumerate(cells):
                if len(cell) > MAX_FIELD_CHARS:
                    column = self.header[index] if index < len(self.header) else str(index + 1)
                    errors.append(
                        RowError(
                            number,
                            column,
                            _("This value is %(size)d KB long; the most we accept is %(limit)d KB.")
                            % {"size": len(cell) // 1024, "limit": MAX_FIELD_CHARS // 1000},
                        )
                    )
            return _EMPTY, ""
        values = dict.fromkeys(FIELDS_BY_NAME, "")
        for field, index, spec in self.mapped:
            value = cells[index].strip() if index < len(cells) else ""
            if not value:
                continue
            if spec.free_text:
                if "  " in value or "\n" in value or "\t" in value or "\r" in value:
                    value = _SPACES.sub(" ", value)
                if value.startswith(FORMULA_PREFIXES):
                    errors.append(
                        RowError(
                            number,
                            self._label(field),
                            _(
                                "Starts with “%(char)s”, which a spreadsheet runs as a "
                                "formula. Remove it and import the row again."
                            )
                            % {"char": value[0]},
                        )
                    )
            if len(value) > spec.max_length:
                errors.append(
                    RowError(
                        number,
                        self._label(field),
                        _("Too long: %(length)d characters, at most %(limit)d.")
                        % {"length": len(value), "limit": spec.max_length},
                    )
                )
            values[field] = value
        name = values["name"]
        if not name and (values["first_name"] or values["last_name"]):
            name = f"{values['first_name']} {values['last_name']}".strip()
        if not name:
            errors.append(RowError(number, self._label("name"), _("Every person needs a name.")))
        elif len(name) > FIELDS_BY_NAME["name"].max_length:
            errors.append(RowError(number, self._label("name"), _("The name is too long.")))
        email = values["email"].lower()
        if email and not _is_email(email):
            errors.append(
                RowError(
                    number,
                    self._label("email"),
                    _("“%(value)s” isn't an email address.") % {"value": values["email"]},
                )
            )
        phone = values["phone"]
        if phone and (not _PHONE.match(phone) or sum(map(str.isdigit, phone)) < 7):
            errors.append(
                RowError(
                    number,
                    self._label("phone"),
                    _("“%(value)s” doesn't look like a phone number.") % {"value": phone},
                )
            )
        clean = CleanRow(
            row=number,
            email=email,
            name=name,
            postcode="",
            district="",
            eastings=None,
            northings=None,
            phone=phone,
            talents=values["talents"],
        )
        return clean, values["postcode"]

    def _place(
        self, drafts: list[tuple[CleanRow, str]], errors_by_row: dict[int, list[RowError]]
    ) -> None:
        """Locate every draft's postcode, looking the batch's postcodes up in one go."""
        parsed: dict[int, tuple[PlaceKind, str, str]] = {}
        for clean, raw_postcode in drafts:
            if not raw_postcode:
                continue
            quick = _quick_parse(raw_postcode)
            if quick is not None:
                parsed[clean.row] = quick
                continue
            try:
                place = parse_place(raw_postcode)
            except PlaceError as error:
                self._reject(errors_by_row, clean.row, error)
                continue
            parsed[clean.row] = (place.kind, place.code, place.district)
        if not self.places.loaded:
            # Without postcode data only the shape can be checked; the place is kept
            # unlocated and the report says so.
            for clean, _raw in drafts:
                if clean.row in parsed:
                    kind, code, district = parsed[clean.row]
                    clean.postcode = code if kind is PlaceKind.POSTCODE else ""
                    clean.district = district
            return
        found = self.places.postcodes(
            code for kind, code, _district in parsed.values() if kind is PlaceKind.POSTCODE
        )
        for clean, _raw in drafts:
            if clean.row not in parsed:
                continue
            kind, code, district = parsed[clean.row]
            point = found.get(code) if kind is PlaceKind.POSTCODE else None
            if kind is PlaceKind.POSTCODE and code not in found:
                known = district in self.places.districts
                self._reject(
                    errors_by_row,
                    clean.row,
                    UnknownPostcode(code, district=district if known else None),
                )
                continue
            if point is None or point[0] is None or point[1] is None:
                # A district, or a postcode without a grid reference: the district's centre.
                if district not in self.places.districts:
                    self._reject(errors_by_row, clean.row, UnknownDistrict(district))
                    continue
                point = self.places.districts[district]
                if point[0] is None or point[1] is None:
                    self._reject(errors_by_row, clean.row, PlaceWithoutLocation(code))
                    continue
            clean.postcode = code if kind is PlaceKind.POSTCODE else ""
            clean.district = district
            clean.eastings, clean.northings = point

    def _leave_out_erased(self, drafts: list[tuple[CleanRow, str]]) -> set[int]:
        """Rows whose address belongs to someone who had their data erased: they asked to
        be forgotten, so nobody else may bring them back (they can join themselves). Like
        rows naming an existing account, they are only counted, never pointed at, so the
        report doesn't tell the importer who once had an account."""
        erased = erased_addresses(
            (clean.email for clean, _raw in drafts if clean.email), using=self.places.using
        )
        left_out = {clean.row for clean, _raw in drafts if clean.email and clean.email in erased}
        self.erased_left_out += len(left_out)
        return left_out

    def _reject(
        self, errors_by_row: dict[int, list[RowError]], row: int, error: PlaceError
    ) -> None:
        errors_by_row.setdefault(row, []).append(
            RowError(row, self._label("postcode"), error.message)
        )


def _quick_parse(raw: str) -> tuple[PlaceKind, str, str] | None:
    """`parse_place` for the common case, in a fraction of its time; None means "ask
    parse_place", which also gives the error for a code that is wrong."""
    compact = raw.replace(" ", "").upper()
    if DISTRICT_PATTERN.fullmatch(compact):
        kind, code, district = PlaceKind.DISTRICT, compact, compact
    else:
        code = f"{compact[:-3]} {compact[-3:]}"
        if len(compact) < 5 or not POSTCODE_PATTERN.fullmatch(code):
            return None
        kind, district = PlaceKind.POSTCODE, compact[:-3]
    area = district[:2] if district[1:2].isalpha() else district[:1]
    if area in NORTHERN_IRELAND_AREAS or area in CROWN_DEPENDENCY_AREAS:
        return None
    return kind, code, district


_EMPTY = CleanRow(
    row=0,
    email="",
    name="",
    postcode="",
    district="",
    eastings=None,
    northings=None,
    phone="",
    talents="",
)
