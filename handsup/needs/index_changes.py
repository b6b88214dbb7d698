"""Tell the matching index what changed: one `MatchingChange` row per save or delete of
anything the index holds about a person, written in the same transaction as the change
(so a change is in the log exactly when it is committed). Connected in `NeedsConfig.ready`.
The same calls keep matching's narrow table (`MatchingRow`, `narrow.py`) in step: the
person's row is recomputed in that transaction too, and a rebuild recomputes every row.

The ask ledger is not watched here: pacing writes it with raw SQL, so the index reads new
ledger rows by their own ids instead. Bulk loaders (seed, imports) skip signals; they call
`note_rebuild` once, which makes every index reload everything (and recomputes the
narrow table: about a minute at a million people on PostgreSQL). Asks reach the narrow
table through `narrow.note_asks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from handsup.accounts.models import User
from handsup.groups.models import GroupBlock, Membership
from handsup.needs.models import Invitation, MatchingChange
from handsup.needs.narrow import rebuild_rows, sync_outcomes, sync_rows
from handsup.people.models import DateAway, Person, PersonSkill, Profile
from handsup.privacy.models import ConsentEvent

# Accounts whose changes are not being noted one by one (`changes_held`).
_held: ContextVar[frozenset[int]] = ContextVar("matching_changes_held", default=frozenset())


@contextmanager
def changes_held(user_id: int) -> Iterator[None]:
    """Within the block, changes to account `user_id` are not noted row by row (erasure
    deletes dozens of their rows, each with its signal); the caller must `note_change`
    them once afterwards, in the same transaction."""
    token = _held.set(_held.get() | {user_id})
    try:
        yield
    finally:
        _held.reset(token)


def note_change(user_id: int | None, *, using: str = DEFAULT_DB_ALIAS, narrow: str = "row") -> None:
    """Record that something the index holds about account `user_id` changed, and bring
    their narrow row up to date: all of it (`narrow="row"`), only the outcome counters
    (`"outcomes"`: an invitation), or none of it (`"none"`: blocks, memberships and
    dates away, which are per group or per need and not in the table)."""
    if user_id is None or user_id in _held.get():
        return
    MatchingChange.objects.using(using).create(user_id=user_id)
    if narrow == "row":
        sync_rows([user_id], using=using)
    elif narrow == "outcomes":
        sync_outcomes([user_id], using=using)


def note_rebuild(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Record that anything may have changed (a bulk load): indexes rebuild."""
    MatchingChange.objects.using(using).create(user_id=None)
    rebuild_rows(using=using)


def _user_of_person(person_id: int, using: str) -> int | None:
    return (
        Person.objects.using(using).filter(pk=person_id).values_list("user_id", flat=True).first()
    )


def _changed(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # loading fixtures: a rebuild follows
    if isinstance(instance, User):
        fields = kwargs.get("update_fields")
        if fields is not None and set(fields) <= {"last_login"}:
            return  # signing in changes nothing matching reads
        # A new account has no person yet (a person points at its account), so no row
        # in the narrow table: only the index needs telling.
        note_change(instance.pk, using=using, narrow="none" if kwargs.get("created") else "row")
    elif isinstance(instance, Person):
        note_change(instance.user_id, using=using)
    elif isinstance(instance, Profile | PersonSkill | DateAway):
        # On a cascade from a deleted person the person row is gone: its own delete
        # signal has named the account already.
        user_id = _user_of_person(instance.person_id, using)
        note_change(
            user_id, using=using, narrow="none" if isinstance(instance, DateAway) else "row"
        )
    elif isinstance(instance, Invitation):
        # Many at once when needs are deleted (a seed's reset): one UPDATE each.
        note_change(instance.user_id, using=using, narrow="outcomes")
    elif isinstance(instance, GroupBlock | Membership):
        note_change(instance.user_id, using=using, narrow="none")
    else:
        note_change(instance.user_id, using=using)  # type: ignore[attr-defined]


WATCHED: tuple[type[Model], ...] = (
    User,
    Person,
    Profile,
    PersonSkill,
    DateAway,
    ConsentEvent,
    GroupBlock,
    Membership,
    Invitation,
)


def _email_confirmed(*, email_address: EmailAddress, **kwargs: Any) -> None:
    # `people.actions.do_mark_verified` sets `verified` with an update (no signal); this
    # receiver is connected after people's, so it runs after that update.
    note_change(email_address.user_id)


def connect() -> None:
    for model in WATCHED:
        uid = f"needs.index_changes.{model._meta.label_lower}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}.delete")
    email_confirmed.connect(_email_confirmed, dispatch_uid="needs.index_changes.verified")
