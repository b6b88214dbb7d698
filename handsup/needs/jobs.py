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


# A day's changes are kept: every process using a matching index refreshes it within a
# second of use, and one idle for longer rebuilds it (`index.REBUILD_AFTER_IDLE`) instead
# of reading changes that may be gone.
CHANGES_KEPT = timedelta(days=1)


@periodic(every=timedelta(hours=1))
def prune_matching_changes() -> str:
    from django.utils import timezone

    from handsup.needs.models import MatchingChange

    deleted, _by_model = MatchingChange.objects.filter(
        at__lt=timezone.now() - CHANGES_KEPT
    ).delete()
    return f"{deleted} matching changes pruned"
