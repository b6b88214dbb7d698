"""The `make demo` step: load the postcodes the first time, never again."""

from __future__ import annotations

from typing import Any

from handsup.places.loading import load_postcodes, postcodes_loaded


def load_postcodes_if_empty(command: Any) -> None:
    if postcodes_loaded():
        return
    command.stdout.write("Loading GB postcodes (first run only)…")
    report = load_postcodes()
    command.stdout.write(
        f"Loaded {report.postcodes:,} postcodes in {report.districts:,} districts "
        f"in {report.seconds:.1f} s."
    )
