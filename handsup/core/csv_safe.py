"""CSV that a spreadsheet opens as data, never as formulas.

Spreadsheets treat a cell that starts with `=`, `+`, `-` or `@` (and, in some of them,
a tab or carriage return) as a formula, so a volunteer who types `=HYPERLINK(...)` as
their name could run it on an organiser's machine. Every CSV we hand out goes through
`neutralise`, which prefixes such cells with an apostrophe: the spreadsheet shows the
text as typed and evaluates nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The cell's text, with an apostrophe in front when a spreadsheet would run it."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Line:
    """A file-like object that hands back what the csv writer last wrote."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def take(self) -> str:
        value = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Safe CSV text a line at a time (for a streaming response), header first.

    Every cell, the header's included, is neutralised.
    """
    line = _Line()
    writer = csv.writer(line)
    writer.writerow([neutralise(cell) for cell in header])
    yield line.take()
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        yield line.take()
