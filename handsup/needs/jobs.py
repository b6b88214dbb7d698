"""The needs app's jobs on the periodic schedule (imported at start-up to register them)."""

from __future__ import annotations

from datetime import timedelta

from handsup.core.schedule import periodic


# Hourly: an invitation lapses at most an hour late, and nobody can answer it meanwhile
# because the answer actions check the expiry themselves.
@periodic(every=timedelta(hours=1))
def expire_needs_invitations() -> str:
    from handsup.needs.answers import expire_invitations

    return f"{expire_invitations()} invitations expired"
