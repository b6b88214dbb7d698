"""Reading an uploaded CSV file safely: a row at a time, whatever it contains.

Files come from spreadsheets, old databases and copy-and-paste, so nothing is assumed:

* Encoding: UTF-8 (with or without a byte-order mark) or Windows-1252, the two that
  spreadsheets save. Each line is decoded on its own, UTF-8 first, so a file with a few
  lines pasted from elsewhere still reads. UTF-16 and spreadsheet workbooks are refused
  with a message saying how to save the file as CSV.
* Delimiter: comma, semicolon (European spreadsheets) or tab, chosen from the header.
* Memory stays bounded however big the file is: lines are read with a length limit
  (longer ones are cut and their row rejected), the csv module's own field limit stops a
  runaway quoted field, and nothing but the current row is held.
* NUL bytes (a damaged or binary file) are removed before parsing and the row they were
  in is rejected, rather than crashing the parser.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row is
row 2, and a cell with line breaks in it is still one row.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from django.utils.translation import gettext as _

from handsup.imports.columns import FIELDS_BY_NAME, normalise_header
from handsup.places.postcodes import is_valid_postcode

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
# The longest value we look at in any column, mapped or not.
MAX_FIELD_CHARS = 10_000
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

# Why a physical line was flagged while reading; its row is rejected with the message.
LINE_HAD_NUL = "nul"
LINE_TOO_LONG = "long"


class FileProblem(Exception):
    """The whole file can't be imported; `message` says why, for the importer."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class FileFormat:
    encoding: str  # "utf-8", "utf-8-sig" or "cp1252": what the start of the file is
    delimiter: str
    header: list[str]


@dataclass
class RawRow:
    """One record as read: its spreadsheet row number, cells, and reading problems."""

    number: int
    cells: list[str]
    problems: list[str] = field(default_factory=list)


def sniff_format(source: IO[bytes], *, size: int | None = None) -> FileFormat:
    """Work out the encoding, delimiter and header of `source` (left at its start).

    Raises FileProblem when the file can't be read as a CSV with a header row.
    """
    if size is not None and size > MAX_FILE_BYTES:
        raise FileProblem(
            _("This file is %(size)d MB; the most we take at once is %(limit)d MB. Split it.")
            % {"size": size // (1024 * 1024), "limit": MAX_FILE_BYTES // (1024 * 1024)}
        )
    source.seek(0)
    sample = source.read(SNIFF_BYTES)
    source.seek(0)
    if not sample.strip():
        raise FileProblem(_("This file is empty."))
    _refuse_non_csv(sample)
    encoding = "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else _sample_encoding(sample)
    lines = LineReader(source)
    first_lines = []
    for line in lines:
        first_lines.append(line)
        if len(first_lines) >= 20 or lines.bytes_read >= SNIFF_BYTES:
            break
    source.seek(0)
    delimiter, header = _choose_delimiter(first_lines)
    return FileFormat(encoding=encoding, delimiter=delimiter, header=header)


def _refuse_non_csv(sample: bytes) -> None:
    if sample.startswith(b"PK\x03\x04"):
        raise FileProblem(
            _(
                "This is a spreadsheet workbook (such as .xlsx), not a CSV file. In your "
                "spreadsheet choose Save As (or Download) and pick “CSV UTF-8”."
            )
        )
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        sample.count(b"\x00") > len(sample) // 4
    ):
        raise FileProblem(
            _(
                "This file is saved as UTF-16 (“Unicode text”) or is not a text file. "
                "Save it as “CSV UTF-8” and upload it again."
            )
        )


def _sample_encoding(sample: bytes) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # Not final: the sample may end in the middle of a character.
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _choose_delimiter(first_lines: list[str]) -> tuple[str, list[str]]:
    best: tuple[int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        try:
            header = next(csv.reader(first_lines, delimiter=delimiter), [])
        except csv.Error:
            continue
        header = [cell.strip() for cell in header]
        while header and not header[-1]:
            header.pop()
        if best is None or len(header) > best[0]:
            best = (len(header), delimiter, header)
    if best is None or best[0] == 0:
        raise FileProblem(_("We couldn't read a first row of column names in this file."))
    _count, delimiter, header = best
    if len(header) == 1 and normalise_header(header[0]) not in _KNOWN_HEADERS:
        raise FileProblem(
            _(
                "We couldn't split the first row into columns. Save the file as CSV with "
                "the columns separated by commas, semicolons or tabs, and the column "
                "names (such as Name, Email, Postcode) in the first row."
            )
        )
    if any("@" in cell or is_valid_postcode(cell) for cell in header):
        raise FileProblem(
            _(
                "The first row looks like a person's details, not column names. Add a "
                "first row naming the columns (such as Name, Email, Postcode)."
            )
        )
    return delimiter, header


_KNOWN_HEADERS = frozenset(
    alias for import_field in FIELDS_BY_NAME.values() for alias in import_field.aliases
)


class LineReader:
    """Decoded text lines of a binary file, each at most MAX_LINE_BYTES long.

    Lines with NUL bytes, or cut at the length limit, are recorded in `flagged` (line
    number → why) so the row they belong to can be rejected.
    """

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.line_number = 0
        self.bytes_read = 0
        self.flagged: dict[int, str] = {}
        self.encodings: set[str] = set()

    def __iter__(self) -> Iterator[str]:
        readline = self.source.readline
        first = True
        while True:
            raw = readline(MAX_LINE_BYTES)
            if not raw:
                return
            self.line_number += 1
            self.bytes_read += len(raw)
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                self.flagged[self.line_number] = LINE_TOO_LONG
                # Skip the rest of the line without holding it.
                while True:
                    rest = readline(MAX_LINE_BYTES)
                    self.bytes_read += len(rest)
                    if not rest or rest.endswith(b"\n"):
                        break
                raw += b"\n"
            if first:
                raw = raw.removeprefix(codecs.BOM_UTF8)
                first = False
            if b"\x00" in raw:
                self.flagged[self.line_number] = LINE_HAD_NUL
                raw = raw.replace(b"\x00", b"")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                # cp1252 leaves five bytes undefined; they become U+FFFD, never an error.
                text = raw.decode("cp1252", errors="replace")
                self.encodings.add("cp1252")
            yield text


def read_rows(source: IO[bytes], file_format: FileFormat) -> Iterator[RawRow]:
    """Every data row after the header, with the problems found while reading it."""
    source.seek(0)
    lines = LineReader(source)
    reader = csv.reader(iter(lines), delimiter=file_format.delimiter)
    width = len(file_format.header)
    last_line = 0
    record = 0
    header_done = False
    while True:
        problems: list[str] = []
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            cells = []
            problems.append(_unreadable_message(error))
        record += 1
        # The physical lines this record came from: any flagged ones reject it.
        for line in range(last_line + 1, reader.line_num + 1):
            why = lines.flagged.pop(line, None)
            if why == LINE_HAD_NUL:
                problems.append(
                    _(
                        "This row contains NUL characters, a sign the file is damaged or "
                        "not plain text. Retype the row or save the file as CSV again."
                    )
                )
            elif why == LINE_TOO_LONG:
                problems.append(
                    _("This row is longer than %(limit)d KB, far more than any person's details.")
                    % {"limit": MAX_LINE_BYTES // 1024}
                )
        last_line = reader.line_num
        if not header_done:
            header_done = True
            continue
        if not cells and not problems:
            continue  # a blank line
        if len(cells) > width:
            extra = cells[width:]
            if any(cell.strip() for cell in extra):
                problems.append(
                    _(
                        "This row has %(found)d values but the header names %(width)d "
                        "columns. Check for a separator (comma, semicolon or tab) inside a "
                        "value that is not in quotes."
                    )
                    % {"found": len(cells), "width": width}
                )
            cells = cells[:width]
        elif len(cells) < width and cells:
            if len(cells) == 1 and width > 1:
                problems.append(
                    _(
                        "This row has one value but the header names %(width)d columns: "
                        "is it separated by a different character from the header?"
                    )
                    % {"width": width}
                )
            cells = cells + [""] * (width - len(cells))
        yield RawRow(number=record, cells=cells, problems=problems)


def _unreadable_message(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return _("A value in this row is longer than %(limit)d KB, far more than we accept.") % {
            "limit": csv.field_size_limit() // 1024
        }
    return _("This row can't be read as CSV (%(error)s).") % {"error": str(error)}


def count_lines(source: IO[bytes]) -> int:
    """How many lines the file has, read in blocks: the progress bar's estimate of rows."""
    source.seek(0)
    count = 0
    last = b""
    while block := source.read(1024 * 1024):
        count += block.count(b"\n")
        last = block
    source.seek(0)
    if last and not last.endswith(b"\n"):
        count += 1
    return count
