"""How the matrix asks whether a read of someone's personal data was logged.

Counts the access-log rows (`handsup.privacy.access.log_access`) that record `viewer`
reading `subject`'s data. An anonymous viewer can't have been logged by name, so any
marker shown to them is a leak.
"""

from __future__ import annotations

from typing import Any

from handsup.privacy.models import AccessLogEntry


def access_log_rows(*, viewer: Any, subject: Any) -> int:
    if viewer is None:
        return 0
    return AccessLogEntry.objects.filter(actor=viewer, subject=subject).count()
