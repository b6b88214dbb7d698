"""Which rows name a person, read off the field inventory.

Download-my-data and erasure both start here: a personal field that points at a person
(a foreign key or one-to-one to the user or to their profile, or a plain integer column
registered personal and named `user_id` or `person_id`) is a **link**. Every row a link
of someone's points at is one of their rows; what to do with it is the link's
registration (its export section and its erasure).

A link is one of two kinds:

- **own**: the row is about the person (their profile, membership, consent): erasure
  `delete`, `keep` or `keep_hashed`.
- **mention**: the row is someone else's or the group's and names the person as the one
  who acted (a need's author, an access log's reader): erasure `anonymise`.

Links to the person's other rows (a consent confirmation's email address) are reached
through those rows by the database's own relations, not listed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models

from handsup.privacy.inventory import PersonalField, inventory

LinkKind = Literal["own", "mention"]
# What a link's value is compared with: the user's primary key or their profile's.
Target = Literal["user", "person"]

# Integer columns that hold a person's key without a database relation (derived tables
# kept in step by hand), and what they hold.
PLAIN_KEY_COLUMNS: dict[str, Target] = {"user_id": "user", "person_id": "person"}


@dataclass(frozen=True)
class Link:
    model: type[models.Model]
    field: str  # the field's name on `model`
    target: Target
    entry: PersonalField

    @property
    def kind(self) -> LinkKind:
        return "mention" if self.entry.erasure == "anonymise" else "own"

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field}"

    def lookup(self, user_pk: int, person_pk: int | None) -> dict[str, Any] | None:
        """The filter for this link's rows of one person; None when there are none (a
        link to a profile, for someone without one)."""
        value = user_pk if self.target == "user" else person_pk
        if value is None:
            return None
        field = self.model._meta.get_field(self.field)
        column = self.field if not field.is_relation else f"{self.field}_id"
        return {column: value}


def _target_of(field: models.Field[Any, Any]) -> Target | None:
    person_model = apps.get_model("people", "Person")
    if field.is_relation and field.related_model is not None:
        if field.related_model is get_user_model():
            return "user"
        if field.related_model is person_model:
            return "person"
        return None
    if isinstance(field, models.IntegerField):
        return PLAIN_KEY_COLUMNS.get(field.name)
    return None


def links() -> list[Link]:
    """Every personal field that names a person, in inventory order."""
    found = []
    for entry in inventory.personal_fields():
        model = apps.get_model(entry.model)
        field = model._meta.get_field(entry.field)
        if field.many_to_many:
            continue
        target = _target_of(field)  # type: ignore[arg-type]
        if target is not None:
            found.append(Link(model=model, field=entry.field, target=target, entry=entry))
    return found


def person_pk_of(user: Any) -> int | None:
    person_model = apps.get_model("people", "Person")
    return person_model.objects.filter(user=user).values_list("pk", flat=True).first()


def rows_of(
    user: Any, *, kind: LinkKind | None = None
) -> Iterator[tuple[Link, models.QuerySet[Any]]]:
    """Each link (of `kind`, or all) with the rows of `user` it reaches. The account row
    itself is not among them: it is the person, not a row naming them."""
    person_pk = person_pk_of(user)
    for link in links():
        if kind is not None and link.kind != kind:
            continue
        lookup = link.lookup(user.pk, person_pk)
        if lookup is None:
            continue
        yield link, link.model._default_manager.filter(**lookup)
