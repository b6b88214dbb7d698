"""The access log: every read of a person's personal data by someone else passes here.

A view that shows anyone's personal data to someone else calls `log_access` with the
people shown and the fields shown, once per response::

    members = list(group_members_for_organiser(group))
    log_access(
        actor=request.user,
        subjects=[m.user_id for m in members],
        purpose="member_list",
        fields=["full_name", "email"],
        group=group,
    )

A list page writes one row per person shown, all in one insert. Reading your own data is
not logged. The authorisation matrix checks, by marker strings, that every response
showing someone's data to someone else has a row here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.utils import timezone

from handsup.accounts.models import User
from handsup.privacy.models import AccessLogEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet

    from handsup.groups.models import Group

PURPOSE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def log_access(
    *,
    actor: User | AnonymousUser | None,
    subjects: Iterable[User | int],
    purpose: str,
    fields: Sequence[str],
    group: Group | None = None,
) -> None:
    """Record that `actor` was shown `fields` of each subject's data, for `purpose`.

    `subjects` are users or user ids; duplicates are logged once, and the actor's own
    row is skipped. `actor` is None for reads by an API token (the token is named in a
    later issue). One INSERT however many subjects.
    """
    if not PURPOSE_PATTERN.match(purpose):
        raise ValueError(f"Access purposes are short codes like 'member_list', not {purpose!r}.")
    if isinstance(fields, str) or not fields:
        raise ValueError("Name the fields shown, as a list of field names.")
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    subject_ids = dict.fromkeys(s if isinstance(s, int) else s.pk for s in subjects)
    if actor_id is not None:
        subject_ids.pop(actor_id, None)
    if not subject_ids:
        return
    field_names = list(fields)
    at = timezone.now()
    AccessLogEntry.objects.bulk_create(
        [
            AccessLogEntry(
                actor_id=actor_id,
                subject_id=subject_id,
                purpose=purpose,
                fields=field_names,
                group=group,
                at=at,
            )
            for subject_id in subject_ids
        ]
    )


def access_log_for(subject: User) -> QuerySet[AccessLogEntry]:
    """Who has read `subject`'s data, newest first: for the personal ledger and the DPO."""
    return (
        AccessLogEntry.objects.filter(subject=subject)
        .select_related("actor", "group")
        .order_by("-at", "-pk")
    )
