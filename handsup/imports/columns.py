"""The fields an import can fill, and how a file's column names map to them.

Organisers' lists come from many places, so headers are matched loosely: case, spacing
and punctuation don't matter ("E-mail Address" is "email address"), and each field has
the names people commonly give it. The mapping is a list with one field name per column
("" for a column we ignore), which the preview page lets the importer correct.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class ImportField:
    name: str
    label: Promise | str
    max_length: int
    aliases: tuple[str, ...]
    free_text: bool = False  # checked for spreadsheet formulas


FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "email",
        gettext_lazy("Email address"),
        254,
        ("email", "e mail", "email address", "e mail address", "mail", "email addr"),
    ),
    ImportField(
        "name",
        gettext_lazy("Name"),
        200,
        ("name", "full name", "fullname", "display name", "volunteer", "volunteer name"),
        free_text=True,
    ),
    ImportField(
        "first_name",
        gettext_lazy("First name"),
        100,
        ("first name", "firstname", "forename", "given name", "first"),
        free_text=True,
    ),
    ImportField(
        "last_name",
        gettext_lazy("Last name"),
        100,
        ("last name", "lastname", "surname", "family name", "last"),
        free_text=True,
    ),
    ImportField(
        "postcode",
        gettext_lazy("Postcode"),
        10,
        ("postcode", "post code", "postal code", "postcode district", "zip", "zip code"),
    ),
    ImportField(
        "phone",
        gettext_lazy("Phone number"),
        30,
        ("phone", "phone number", "telephone", "tel", "mobile", "mobile number", "mobile phone"),
    ),
    ImportField(
        "talents",
        gettext_lazy("Skills and talents"),
        500,
        ("skills", "talents", "skills and talents", "other talents", "can help with"),
        free_text=True,
    ),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}
_BY_ALIAS = {alias: field.name for field in FIELDS for alias in field.aliases}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_header(cell: str) -> str:
    """A column name as we compare it: "  E-Mail_Address " → "e mail address"."""
    return _NOT_ALNUM.sub(" ", cell.lower()).strip()


def guess_mapping(header: Sequence[str]) -> list[str]:
    """The field each column most likely holds ("" when we can't tell).

    When two columns look like the same field (Email and E-mail), neither is chosen:
    `mapping_problems` asks the importer which one to use.
    """
    guesses = [_BY_ALIAS.get(normalise_header(cell), "") for cell in header]
    counts = Counter(field for field in guesses if field)
    return [field if counts[field] == 1 else "" for field in guesses]


def ambiguous_columns(header: Sequence[str], mapping: Sequence[str]) -> list[str]:
    """Columns named like the same field where the mapping hasn't chosen between them."""
    by_field: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        field = _BY_ALIAS.get(normalise_header(cell), "")
        if field:
            by_field.setdefault(field, []).append(index)
    problems = []
    for field, columns in by_field.items():
        if len(columns) < 2:
            continue
        if any(index < len(mapping) and mapping[index] == field for index in columns):
            continue
        problems.append(
            _(
                "Columns %(columns)s are both called something like “%(field)s” "
                "(%(names)s), so we can't tell which one to use. Choose one, or rename or "
                "remove the other."
            )
            % {
                "columns": " and ".join(str(index + 1) for index in columns),
                "field": str(FIELDS_BY_NAME[field].label),
                "names": ", ".join(f"“{header[index].strip()}”" for index in columns),
            }
        )
    return problems


def mapping_problems(header: Sequence[str], mapping: Sequence[str]) -> list[str]:
    """What stops an import with this mapping; empty when it can go ahead."""
    problems = ambiguous_columns(header, mapping)
    if len(mapping) != len(header):
        return [*problems, _("The mapping must name a field (or none) for every column.")]
    counts: dict[str, list[int]] = {}
    for index, field in enumerate(mapping, start=1):
        if field and field not in FIELDS_BY_NAME:
            problems.append(
                _("Column %(index)d: there is no field “%(field)s”.")
                % {
                    "index": index,
                    "field": field,
                }
            )
        elif field:
            counts.setdefault(field, []).append(index)
    for field, columns in counts.items():
        if len(columns) > 1:
            problems.append(
                _("%(field)s is chosen for more than one column (%(columns)s): choose one.")
                % {
                    "field": str(FIELDS_BY_NAME[field].label),
                    "columns": ", ".join(str(c) for c in columns),
                }
            )
    if not {"name", "first_name", "last_name"} & set(counts):
        problems.append(
            _(
                "No column holds people's names. Add a column called “Name” (or “First "
                "name” and “Last name”), or choose which column holds them."
            )
        )
    return problems
