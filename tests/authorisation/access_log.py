"""How the matrix asks whether a read of someone's personal data was logged.

The access log arrives with the groups issue; until it exists, no read by someone
else can have been logged, so any marker shown to another persona is a leak.
"""

from __future__ import annotations

from typing import Any


def access_log_rows(*, viewer: Any, subject: Any) -> int:
    return 0
