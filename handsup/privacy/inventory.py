"""The field inventory: every field of every Hands Up model, classified.

Each app declares its fields in its own `inventory.py` (found by the privacy app's
`ready`), either as personal data::

    from handsup.privacy.inventory import not_personal, personal

    personal(
        "people.Person", "display_name",
        what="the name the person goes by", export_section="profile", erasure="delete",
    )

or as explicitly not personal::

    not_personal("groups.Group", "id", "name", "slug", why="about the group, not a person")

A test walks every model of every `handsup.*` app (and the third-party models listed in
`THIRD_PARTY_MODELS`) and fails for any field that is in neither list, so a new field
can't arrive without someone deciding what export and erasure do with it. Download-my-
data is built from `export_sections()`, and erasure from `by_erasure()`.

Rules of thumb: a link to a person (a foreign key to the user, or a person's public id)
is personal; a fact that describes a row which is itself about one person, and means
nothing once that link is gone, is registered not personal "through" the link (a consent
event's `given` is personal only through its `user`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models

Erasure = Literal["delete", "anonymise", "keep_hashed", "keep"]
ERASURE_CHOICES: tuple[Erasure, ...] = get_args(Erasure)

# What erasure does, in the words the "delete my account" page uses.
ERASURE_MEANING: dict[Erasure, str] = {
    "delete": "deleted",
    "anonymise": "kept without anything that points to you",
    "keep_hashed": "kept only as a one-way hash, so it can be recognised but not read",
    "keep": "kept, because the law or the record of someone else requires it",
}

# For a field that download-my-data leaves out (a password hash, a one-time secret);
# the registration's `note` must say why.
NOT_EXPORTED = ""

# Export sections named so far, with the title download-my-data gives each. A section
# not listed here is titled from its code; add a title when you add a section.
EXPORT_SECTION_TITLES: dict[str, str] = {
    "account": "Your account",
    "profile": "Your profile",
    "groups": "Your groups and roles",
    "consents": "Your consents and their history",
    "who_has_seen_me": "Who has seen your details",
    "activity": "What you have done in Hands Up",
    "files": "Files you uploaded or asked for",
    "messages": "What we sent you and what we held back",
    "needs": "Needs you were asked about, and your answers",
    "stories": "Stories you wrote, and the stories you helped tell",
}

# Models outside `handsup.*` that hold our people's data, held to the same rule.
THIRD_PARTY_MODELS: tuple[str, ...] = (
    "account.emailaddress",
    "account.emailconfirmation",
    "mfa.authenticator",
    "sessions.session",
    "admin.logentry",
    "django_tasks_database.dbtaskresult",
)

_SECTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PersonalField:
    model: str  # lower-case model label, e.g. "accounts.user"
    field: str
    what: str
    export_section: str  # NOT_EXPORTED ("") when download-my-data leaves it out
    erasure: Erasure
    note: str = ""

    @property
    def exported(self) -> bool:
        return self.export_section != NOT_EXPORTED


@dataclass(frozen=True)
class NotPersonalField:
    model: str
    field: str
    why: str = ""


InventoryEntry = PersonalField | NotPersonalField


@dataclass(frozen=True)
class ExportSection:
    code: str
    title: str
    fields: tuple[PersonalField, ...]


class FieldInventory:
    """The registry. One instance, `inventory`, holds the project's declarations."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], InventoryEntry] = {}

    def personal(
        self,
        model_label: str,
        field_name: str,
        *,
        what: str,
        export_section: str,
        erasure: Erasure,
        note: str = "",
    ) -> None:
        """Declare `model_label.field_name` personal data, and what export and erasure do."""
        if erasure not in ERASURE_CHOICES:
            raise ImproperlyConfigured(
                f"{model_label}.{field_name}: erasure must be one of {ERASURE_CHOICES}."
            )
        if not what.strip():
            raise ImproperlyConfigured(f"{model_label}.{field_name}: say what the field holds.")
        if export_section == NOT_EXPORTED:
            if not note.strip():
                raise ImproperlyConfigured(
                    f"{model_label}.{field_name}: say in `note` why it is not exported."
                )
        elif not _SECTION_PATTERN.match(export_section):
            raise ImproperlyConfigured(
                f"{model_label}.{field_name}: export sections are short codes like "
                f"'profile', not {export_section!r}."
            )
        self._add(
            PersonalField(
                model=model_label.lower(),
                field=field_name,
                what=what,
                export_section=export_section,
                erasure=erasure,
                note=note,
            )
        )

    def not_personal(self, model_label: str, *field_names: str, why: str = "") -> None:
        """Declare fields that hold no personal data."""
        if not field_names:
            raise ImproperlyConfigured(f"{model_label}: name the fields that are not personal.")
        for name in field_names:
            self._add(NotPersonalField(model=model_label.lower(), field=name, why=why))

    def _add(self, entry: InventoryEntry) -> None:
        key = (entry.model, entry.field)
        existing = self._entries.get(key)
        if existing is not None and existing != entry:
            raise ImproperlyConfigured(
                f"{entry.model}.{entry.field} is registered twice, differently: "
                f"{existing} and {entry}."
            )
        self._entries[key] = entry

    def entry(self, model_label: str, field_name: str) -> InventoryEntry | None:
        return self._entries.get((model_label.lower(), field_name))

    def entries(self) -> list[InventoryEntry]:
        return sorted(self._entries.values(), key=lambda e: (e.model, e.field))

    def personal_fields(self, model_label: str | None = None) -> list[PersonalField]:
        """Every personal field, or those of one model."""
        wanted = model_label.lower() if model_label else None
        return [
            entry
            for entry in self.entries()
            if isinstance(entry, PersonalField) and (wanted is None or entry.model == wanted)
        ]

    def export_sections(self) -> list[ExportSection]:
        """The sections of download-my-data and the personal fields each covers.

        Known sections come first, in `EXPORT_SECTION_TITLES` order; fields left out
        of the export (`NOT_EXPORTED`) are in no section.
        """
        by_section: dict[str, list[PersonalField]] = {}
        for entry in self.personal_fields():
            if entry.exported:
                by_section.setdefault(entry.export_section, []).append(entry)
        order = list(EXPORT_SECTION_TITLES)
        codes = sorted(by_section, key=lambda c: (order.index(c) if c in order else len(order), c))
        return [
            ExportSection(
                code=code,
                title=EXPORT_SECTION_TITLES.get(code, code.replace("_", " ").capitalize()),
                fields=tuple(by_section[code]),
            )
            for code in codes
        ]

    def by_erasure(self) -> dict[Erasure, list[PersonalField]]:
        """The personal fields grouped by what erasure does to them."""
        grouped: dict[Erasure, list[PersonalField]] = {choice: [] for choice in ERASURE_CHOICES}
        for entry in self.personal_fields():
            grouped[entry.erasure].append(entry)
        return grouped

    def unregistered(self, model_classes: Iterable[type[models.Model]]) -> list[str]:
        """Fields of these models that are in neither list, as "app.model.field"."""
        missing = []
        for model in model_classes:
            label = model._meta.label_lower
            for field_name in model_field_names(model):
                if (label, field_name) not in self._entries:
                    missing.append(f"{label}.{field_name}")
        return missing

    def stale(self) -> list[str]:
        """Registrations naming a model or field that does not exist (or is not stored)."""
        stale = []
        for model_label, field_name in sorted(self._entries):
            try:
                model = apps.get_model(model_label)
            except (LookupError, ValueError):
                stale.append(f"{model_label}.{field_name} (no such model)")
                continue
            try:
                model._meta.get_field(field_name)
            except FieldDoesNotExist:
                stale.append(f"{model_label}.{field_name} (no such field)")
                continue
            if field_name not in model_field_names(model):
                stale.append(f"{model_label}.{field_name} (not a stored field)")
        return stale


def model_field_names(model: type[models.Model]) -> list[str]:
    """The fields stored for `model`: its table's columns (the primary key and foreign
    keys included) and its many-to-many fields. Reverse relations are the other
    model's fields, and are registered there."""
    opts = model._meta
    return [f.name for f in opts.local_concrete_fields] + [f.name for f in opts.local_many_to_many]


def inventoried_models() -> list[type[models.Model]]:
    """Every model the inventory must cover: all of `handsup.*`, and `THIRD_PARTY_MODELS`."""
    ours = [
        model
        for config in apps.get_app_configs()
        if config.name.startswith("handsup.")
        for model in config.get_models()
        if not model._meta.proxy
    ]
    return ours + [apps.get_model(label) for label in THIRD_PARTY_MODELS]


inventory = FieldInventory()
personal = inventory.personal
not_personal = inventory.not_personal
