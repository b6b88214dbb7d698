"""The audit log: every `do_*` action records who did what to which object, and where.

Call `record_audit` inside the action's transaction, so the audit row exists exactly
when the change does::

    @transaction.atomic
    def do_change_member_role(*, actor: User, membership: Membership, role: str) -> None:
        ...
        record_audit(
            actor=actor,
            action="group.member_role_changed",
            obj=membership.user,
            group=membership.group,
            details={"from": old_role, "to": role},
        )

`details` holds codes and public ids only (never names, addresses or free text someone
typed), so the audit log never becomes a second copy of anyone's personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import models

from handsup.privacy.models import AuditEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from handsup.accounts.models import User
    from handsup.groups.models import Group

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def audit_entry(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    group: Group | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """An unsaved audit row, for actions that write many at once with `bulk_create`."""
    if not ACTION_PATTERN.match(action):
        raise ValueError(
            f"Audit actions are dotted lower-case names like 'group.member_role_changed', "
            f"not {action!r}."
        )
    object_type = object_public_id = ""
    if obj is not None:
        if obj.pk is None:
            raise ValueError("Audit an object after it is saved, so it can be found again.")
        object_type = obj._meta.label_lower
        object_public_id = str(getattr(obj, "public_id", None) or obj.pk)
    return AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_public_id=object_public_id,
        group=group,
        details=dict(details or {}),
    )


def record_audit(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    group: Group | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit row: `actor` did `action` to `obj` in `group`.

    `actor` is None (or anonymous) for actions the system takes by itself, such as
    retention running. `obj` is named by its public id where it has one, else its pk.
    """
    entry = audit_entry(actor=actor, action=action, obj=obj, group=group, details=details)
    entry.save()
    return entry


def record_audits(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    """Write many rows built with `audit_entry` in one insert."""
    return AuditEntry.objects.bulk_create(list(entries))
