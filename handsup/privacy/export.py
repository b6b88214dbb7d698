"""Download my data: everything the field inventory says is a person's, as a zip.

Collect, then write (STYLE.md 7): `collect_export` reads every row that names the person,
one query per link of `ownership.links()`, and `build_export` writes what it collected as
`data.json` (the schema is docs/data-export.md), `index.html` (the same, for reading)
and `README.txt`.

What a row shows depends on how it names the person:

- an **own** row (about the person: their profile, membership, consent) shows every
  stored field but its internal key and the fields the inventory leaves out of the
  export (a password hash, a one-time secret);
- a **mention** row (someone else's or the group's, where the person acted: a need they
  posted, a read of someone's details) shows the link and the row's not-personal fields
  only, so the person learns what they did but never about whom.

A reference to the person reads "you"; to anyone else, "someone else" (never their name
or id); to anything else, its name or title, else its public id, else its key.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.core.models import PrivateFile
from handsup.privacy.audit import record_audit
from handsup.privacy.inventory import (
    EXPORT_SECTION_TITLES,
    NotPersonalField,
    PersonalField,
    inventory,
)
from handsup.privacy.models import DataExport
from handsup.privacy.ownership import PLAIN_KEY_COLUMNS, Link, Target, links, person_pk_of
from handsup.privacy.tasks import build_data_export

logger = logging.getLogger("handsup.privacy")

SCHEMA = "handsup.data-export/1"
YOU = "you"
SOMEONE_ELSE = "someone else"
# How a row another row points at is named, in order of preference, when the field is
# not personal (a group's name, a need's title, a message's subject, a notice's version).
LABEL_FIELDS = ("name", "title", "subject", "version", "model", "public_id")
CHUNK = 2000
# The shape of `new_public_id()`: 16 URL-safe characters.
PUBLIC_ID_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16}$")
# Personal fields that hold other rows' public ids (the audit log holds codes and public
# ids only): shown with any other person's id, or the id of a row about another person,
# replaced by "someone else".
PUBLIC_ID_FIELDS = {("privacy.auditentry", "object_public_id"), ("privacy.auditentry", "details")}

Progress = Callable[[int], None]


@dataclass
class Record:
    model: str  # "people.profile"
    what: str  # the model's verbose name
    link: str  # the field that names the person ("" for the account row)
    why: str  # the inventory's words for that field
    fields: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "what": self.what,
            "link": self.link,
            "why": self.why,
            "fields": self.fields,
        }


@dataclass
class Section:
    code: str
    title: str
    records: list[Record] = field(default_factory=list)


@dataclass
class CollectedExport:
    generated_at: datetime
    public_id: str
    sections: list[Section]

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "generated_at": self.generated_at,
            "person": {"public_id": self.public_id},
            "sections": [
                {
                    "code": section.code,
                    "title": section.title,
                    "records": [record.as_json() for record in section.records],
                }
                for section in self.sections
                if section.records
            ],
        }


def build_export(user: Any, progress: Progress | None = None) -> bytes:
    """The person's data as a zip of `data.json`, `index.html` and `README.txt`."""
    collected = collect_export(user, progress=progress)
    data = json.dumps(collected.as_json(), cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    html = render_to_string(
        "privacy/export_archive.html",
        {"export": collected, "sections": _html_sections(collected), "schema": SCHEMA},
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(collected))
        archive.writestr("data.json", data)
        archive.writestr("index.html", html)
    if progress is not None:
        progress(100)
    return out.getvalue()


# --- Collecting -----------------------------------------------------------------------------


@dataclass
class _Reader:
    """Whose export this is, and the ids that are theirs."""

    user_pk: int
    person_pk: int | None
    # The public ids of the person's account, profile and own rows.
    own_public_ids: set[str]
    self_public_ids: set[str]  # the account's and the profile's: shown as "you"

    def is_self(self, target: Target, value: Any) -> bool:
        return value is not None and value == (self.user_pk if target == "user" else self.person_pk)


def collect_export(user: Any, *, progress: Progress | None = None) -> CollectedExport:
    """Every record of the person, by export section (see the module's docstring)."""
    user = get_user_model().objects.get(pk=user.pk)
    person_pk = person_pk_of(user)
    person_public_id = (
        apps.get_model("people", "Person")
        .objects.filter(pk=person_pk)
        .values_list("public_id", flat=True)
        .first()
        if person_pk is not None
        else None
    )
    self_ids = {user.public_id} | ({person_public_id} if person_public_id else set())
    reader = _Reader(
        user_pk=user.pk, person_pk=person_pk, own_public_ids=set(self_ids), self_public_ids=self_ids
    )
    sections = {
        section.code: Section(code=section.code, title=section.title)
        for section in inventory.export_sections()
    }

    def add(section_code: str, record: Record) -> None:
        if section_code not in sections:  # a section only the account row uses
            sections[section_code] = Section(
                code=section_code,
                title=EXPORT_SECTION_TITLES.get(
                    section_code, section_code.replace("_", " ").capitalize()
                ),
            )
        sections[section_code].records.append(record)

    for record, section_code in _account_records(user):
        add(section_code, record)

    # A link the inventory leaves out of the export (a derived copy) brings no rows.
    all_links = [link for link in links() if link.entry.exported]
    own = [link for link in all_links if link.kind == "own"]
    mentions = [link for link in all_links if link.kind == "mention"]
    through = _through_links(own)
    steps = len(own) + len(through) + len(mentions) + 1
    done = itertools.count(1)

    def step() -> None:
        if progress is not None:
            # The last few percent are for writing the files.
            progress(min(95, next(done) * 95 // steps))

    # Own rows first: their public ids are the person's, and so shown as they are
    # wherever they come up again.
    for link in own:
        lookup = link.lookup(reader.user_pk, reader.person_pk)
        if lookup is not None:
            queryset = link.model._default_manager.filter(**lookup)
            records = _records(queryset, link.model, link.field, link.entry.what, reader, own=True)
            for record in records:
                add(link.entry.export_section, record)
        step()
    through_rows: dict[type[models.Model], Q] = {}
    for way in through:
        condition = way.condition(reader)
        if condition is not None:
            through_rows[way.model] = condition
            queryset = way.model._default_manager.filter(condition)
            records = _records(
                queryset, way.model, way.link, way.why, reader, own=True, through=way.fields
            )
            for record in records:
                add(way.section, record)
        step()
    for link in mentions:
        lookup = link.lookup(reader.user_pk, reader.person_pk)
        if lookup is not None:
            queryset = link.model._default_manager.filter(**lookup)
            # A row that is also the person's own was shown whole already.
            for other in own:
                if other.model is link.model:
                    other_lookup = other.lookup(reader.user_pk, reader.person_pk)
                    if other_lookup is not None:
                        queryset = queryset.exclude(**other_lookup)
            if link.model in through_rows:
                queryset = queryset.exclude(through_rows[link.model])
            records = _records(queryset, link.model, link.field, link.entry.what, reader, own=False)
            for record in records:
                add(link.entry.export_section, record)
        step()
    for record, section_code in _audit_about(reader):
        add(section_code, record)
    step()
    return CollectedExport(
        generated_at=timezone.now(), public_id=user.public_id, sections=list(sections.values())
    )


def _account_records(user: Any) -> Iterator[tuple[Record, str]]:
    """The account row itself: the personal fields the inventory exports."""
    user_model = get_user_model()
    label = user_model._meta.label_lower
    by_section: dict[str, dict[str, Any]] = {}
    for entry in inventory.personal_fields(label):
        if entry.exported:
            by_section.setdefault(entry.export_section, {})[entry.field] = getattr(
                user, entry.field
            )
    for section_code, values in by_section.items():
        yield (
            Record(
                model=label,
                what=str(user_model._meta.verbose_name),
                link="",
                why="your account",
                fields=values,
            ),
            section_code,
        )


@dataclass(frozen=True)
class _Through:
    """Rows that name the person only through other rows of theirs: an email
    confirmation through the address it confirms, hours logged against their yes."""

    model: type[models.Model]
    via: tuple[tuple[str, Link], ...]  # (foreign key on `model`, a link of the row it names)
    section: str
    why: str

    @property
    def link(self) -> str:
        return self.via[0][0]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(fk for fk, _parent in self.via)

    def condition(self, reader: _Reader) -> Q | None:
        condition = None
        for fk, parent in self.via:
            lookup = parent.lookup(reader.user_pk, reader.person_pk)
            if lookup is None:
                continue
            parents = parent.model._default_manager.filter(**lookup).values("pk")
            found = Q(**{f"{fk}__in": parents})
            condition = found if condition is None else condition | found
        return condition


def _through_links(own: list[Link]) -> list[_Through]:
    """Models with no link to anyone's own rows, whose foreign keys point at a model the
    person has own rows of. A foreign key the inventory leaves out of the export (a
    derived copy) leads nowhere."""
    own_models = {link.model for link in links() if link.kind == "own"}
    owners: dict[type[models.Model], list[Link]] = {}
    for link in own:
        owners.setdefault(link.model, []).append(link)
    found = []
    for label in sorted({entry.model for entry in inventory.entries()}):
        model = apps.get_model(label)
        if model in own_models:
            continue
        via: list[tuple[str, Link]] = []
        section = why = ""
        for model_field in model._meta.local_concrete_fields:
            related = model_field.related_model if model_field.is_relation else None
            if related not in owners:
                continue
            entry = inventory.entry(label, model_field.name)
            if isinstance(entry, PersonalField) and not entry.exported:
                continue
            for parent in owners[related]:  # type: ignore[index]
                via.append((model_field.name, parent))
                if not section:
                    section = (
                        entry.export_section
                        if isinstance(entry, PersonalField)
                        else parent.entry.export_section
                    )
                    why = (
                        entry.what
                        if isinstance(entry, PersonalField)
                        else f"about one of your {related._meta.verbose_name_plural}"  # type: ignore[union-attr]
                    )
        if via:
            found.append(_Through(model=model, via=tuple(via), section=section, why=why))
    return found


@dataclass(frozen=True)
class _Column:
    name: str  # the field's name, as the record shows it
    key: str  # what `.values()` is asked for
    kind: str  # "plain", "person" (a key to a person), "label", "public_ids"
    target: Target | None = None


def _columns(
    model: type[models.Model], link_field: str, *, own: bool, through: frozenset[str]
) -> list[_Column]:
    label = model._meta.label_lower
    columns = []
    for model_field in model._meta.local_concrete_fields:
        if model_field.primary_key:
            continue
        entry = inventory.entry(label, model_field.name)
        if isinstance(entry, PersonalField) and not entry.exported:
            continue
        shown = (
            own
            or model_field.name == link_field
            or isinstance(entry, NotPersonalField)
            or (label, model_field.name) in PUBLIC_ID_FIELDS
        )
        if not shown:
            continue
        columns.append(_column(model_field, label, through=model_field.name in through))
    return columns


def _column(model_field: models.Field[Any, Any], label: str, *, through: bool) -> _Column:
    name = model_field.name
    if (label, name) in PUBLIC_ID_FIELDS:
        return _Column(name=name, key=name, kind="public_ids")
    target = _person_target(model_field)
    if target is not None:
        key = model_field.attname
        return _Column(name=name, key=key, kind="person", target=target)
    related = model_field.related_model if model_field.is_relation else None
    if isinstance(related, type):
        label_field = _label_field(related, allow_personal=through)
        if label_field is None:
            return _Column(name=name, key=model_field.attname, kind="plain")
        return _Column(name=name, key=f"{name}__{label_field}", kind="label")
    return _Column(name=name, key=name, kind="plain")


def _person_target(model_field: models.Field[Any, Any]) -> Target | None:
    related = model_field.related_model if model_field.is_relation else None
    if related is not None:
        if related is get_user_model():
            return "user"
        if related is apps.get_model("people", "Person"):
            return "person"
        return None
    if isinstance(model_field, models.IntegerField):
        return PLAIN_KEY_COLUMNS.get(model_field.name)
    return None


def _label_field(related: type[models.Model], *, allow_personal: bool) -> str | None:
    """The field that names a row of `related` without naming anyone: the first of
    LABEL_FIELDS it has that is not personal (any, for the person's own row)."""
    label = related._meta.label_lower
    stored = {f.name for f in related._meta.local_concrete_fields}
    for name in (*LABEL_FIELDS, *(("email",) if allow_personal else ())):
        if name not in stored:
            continue
        entry = inventory.entry(label, name)
        if allow_personal or not isinstance(entry, PersonalField):
            return name
    return None


def _records(
    queryset: models.QuerySet[Any],
    model: type[models.Model],
    link_field: str,
    why: str,
    reader: _Reader,
    *,
    own: bool,
    through: frozenset[str] = frozenset(),
) -> Iterator[Record]:
    columns = _columns(model, link_field, own=own, through=through)
    keys = [column.key for column in columns]
    label = model._meta.label_lower
    what = str(model._meta.verbose_name)
    rows = queryset.order_by("pk").values(*keys).iterator(chunk_size=CHUNK)
    for chunk in itertools.batched(rows, CHUNK):
        others = _other_peoples_ids(chunk, columns, reader)
        for row in chunk:
            fields = {
                column.name: _value(column, row[column.key], reader, others) for column in columns
            }
            if own and "public_id" in fields and isinstance(fields["public_id"], str):
                reader.own_public_ids.add(fields["public_id"])
            yield Record(model=label, what=what, link=link_field, why=why, fields=fields)


def _value(column: _Column, value: Any, reader: _Reader, others: set[str]) -> Any:
    if column.kind == "person":
        if value is None:
            return None
        return YOU if reader.is_self(column.target or "user", value) else SOMEONE_ELSE
    if column.kind == "public_ids":
        return _replace_ids(value, reader, others)
    return value


def _replace_ids(value: Any, reader: _Reader, others: set[str]) -> Any:
    if isinstance(value, str):
        if value in reader.self_public_ids:
            return YOU
        return SOMEONE_ELSE if value in others else value
    if isinstance(value, list):
        return [_replace_ids(item, reader, others) for item in value]
    if isinstance(value, dict):
        return {key: _replace_ids(item, reader, others) for key, item in value.items()}
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _person_id_models() -> list[type[models.Model]]:
    """Models whose public id is personal: a person, or a row about one person."""
    found = []
    for entry in inventory.personal_fields():
        if entry.field == "public_id":
            found.append(apps.get_model(entry.model))
    return found


def _other_peoples_ids(
    chunk: Iterable[dict[str, Any]], columns: list[_Column], reader: _Reader
) -> set[str]:
    """Which public ids in this chunk's id-holding fields are someone else's: one
    query per model whose public id is personal, for the whole chunk."""
    id_columns = [column for column in columns if column.kind == "public_ids"]
    if not id_columns:
        return set()
    candidates = {
        text
        for row in chunk
        for column in id_columns
        for text in _strings(row[column.key])
        if PUBLIC_ID_SHAPE.match(text) and text not in reader.own_public_ids
    }
    if not candidates:
        return set()
    found: set[str] = set()
    for model in _person_id_models():
        found.update(
            model._default_manager.filter(public_id__in=candidates).values_list(
                "public_id", flat=True
            )
        )
    return found


def _audit_about(reader: _Reader) -> Iterator[tuple[Record, str]]:
    """Audit entries about the person (their account or profile was acted on) by
    someone else: the record of what was done to them, without who did it."""
    model = apps.get_model("privacy", "AuditEntry")
    entry = inventory.entry("privacy.auditentry", "object_public_id")
    if not isinstance(entry, PersonalField) or not entry.exported:
        return
    queryset = model._default_manager.filter(object_public_id__in=reader.self_public_ids).exclude(
        actor_id=reader.user_pk
    )
    for record in _records(queryset, model, "object_public_id", entry.what, reader, own=True):
        yield record, entry.export_section


# --- Writing --------------------------------------------------------------------------------


@dataclass
class _HtmlGroup:
    """Consecutive records of one model reached by one link: one table in the page."""

    what: str
    why: str
    columns: list[tuple[str, str]]  # (field, what the inventory says it holds)
    rows: list[list[str]]


def _html_sections(collected: CollectedExport) -> list[tuple[Section, list[_HtmlGroup]]]:
    grouped: list[tuple[Section, list[_HtmlGroup]]] = []
    for section in collected.sections:
        if not section.records:
            continue
        groups: list[_HtmlGroup] = []
        for (model, _link), records in itertools.groupby(
            section.records, key=lambda r: (r.model, r.link)
        ):
            records_list = list(records)
            first = records_list[0]
            names = list(first.fields)
            columns = [(name, _field_what(model, name)) for name in names]
            rows = [
                [_display(record.fields.get(name)) for name in names] for record in records_list
            ]
            groups.append(_HtmlGroup(what=first.what, why=first.why, columns=columns, rows=rows))
        grouped.append((section, groups))
    return grouped


def _field_what(model: str, name: str) -> str:
    entry = inventory.entry(model, name)
    if isinstance(entry, PersonalField):
        return entry.what
    return ""


def _display(value: Any) -> str:
    if value is None:
        return "–"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def _readme(collected: CollectedExport) -> str:
    return (
        "Your data from Hands Up\n"
        "=======================\n\n"
        f"Made {collected.generated_at:%Y-%m-%d %H:%M} UTC for the account "
        f"{collected.public_id}.\n\n"
        "index.html  everything we hold about you, to read in a web browser.\n"
        f"data.json   the same, for a computer: schema {SCHEMA!r}, described in\n"
        "            docs/data-export.md of the Hands Up source code.\n\n"
        'Where a record points to another person it says "someone else", never who.\n'
    )


# --- Requests -------------------------------------------------------------------------------

ACTIVE = (DataExport.Status.QUEUED, DataExport.Status.RUNNING)
FAILED_WORDS = _(
    "Something went wrong on our side while putting your data together. Nothing was "
    "changed; try again, and if it happens again, tell us."
)


@transaction.atomic
def do_request_export(*, user: Any) -> DataExport:
    """Queue a download of the person's data, or return the one already on its way:
    one at a time per person, however many times they press the button."""
    # Holding the account's row makes two requests at once queue one export between them.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    existing = DataExport.objects.filter(user=user, status__in=ACTIVE).order_by("-pk").first()
    if existing is not None:
        return existing
    export = DataExport.objects.create(user=user)
    # Enqueued in the same transaction: the export is queued exactly when its task is.
    build_data_export.enqueue(export_public_id=export.public_id)
    record_audit(actor=user, action="privacy.data_export_requested", obj=export)
    return export


def do_build_export(*, export: DataExport) -> DataExport:
    """Build a queued export now: the background task's body.

    Not one transaction: progress is committed as it goes, so the page can show it.
    Does nothing unless the export is queued (a second worker, or a retry).
    """
    claimed = DataExport.objects.filter(pk=export.pk, status=DataExport.Status.QUEUED).update(
        status=DataExport.Status.RUNNING, progress=0
    )
    if not claimed:
        export.refresh_from_db()
        return export
    shown = [0]

    def progress(percent: int) -> None:
        if percent > shown[0]:
            shown[0] = percent
            DataExport.objects.filter(pk=export.pk).update(progress=percent)

    try:
        content = build_export(export.user, progress=progress)
        _store(export, content)
    except Exception:
        logger.exception("Data export %s failed", export.public_id)
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.FAILED, finished_at=timezone.now(), failure=str(FAILED_WORDS)
        )
    export.refresh_from_db()
    return export


@transaction.atomic
def _store(export: DataExport, content: bytes) -> None:
    now = timezone.now()
    stored = PrivateFile(
        name=f"hands-up-my-data-{now:%Y-%m-%d}.zip",
        content_type="application/zip",
        owner=export.user,
    )
    # The stored name says nothing about whose data it is.
    stored.file.save("data-export.zip", ContentFile(content), save=False)
    stored.save()
    DataExport.objects.filter(pk=export.pk).update(
        status=DataExport.Status.READY,
        progress=100,
        file=stored,
        finished_at=now,
        expires_at=now + timedelta(days=settings.HANDSUP_EXPORT_DAYS),
    )
    record_audit(
        actor=export.user,
        action="privacy.data_exported",
        obj=export,
        details={"bytes": len(content)},
    )


def access_data_export(user: Any, public_id: str) -> DataExport:
    """The person's own export; someone else's and a made-up id fail alike."""
    export = (
        DataExport.objects.filter(user=user, public_id=public_id).select_related("file").first()
    )
    if export is None:
        raise Http404("No such download.")
    return export


# --- Retention ------------------------------------------------------------------------------

# A build that has said nothing for this long died with its worker.
STUCK_AFTER = timedelta(hours=6)
RETENTION_BATCH = 200


def expire_data_exports() -> str:
    """Mark exports past `expires_at` expired and delete their files; close stuck builds."""
    now = timezone.now()
    expired = DataExport.objects.filter(status=DataExport.Status.READY, expires_at__lte=now).update(
        status=DataExport.Status.EXPIRED
    )
    holding = DataExport.objects.filter(
        status__in=[DataExport.Status.EXPIRED, DataExport.Status.FAILED], file__isnull=False
    )
    deleted = 0
    while batch := list(holding.select_related("file")[:RETENTION_BATCH]):
        for export in batch:
            _delete_file(export)
        deleted += len(batch)
    stuck = DataExport.objects.filter(status__in=ACTIVE, created_at__lt=now - STUCK_AFTER).update(
        status=DataExport.Status.FAILED, finished_at=now, failure=str(FAILED_WORDS)
    )
    return f"{expired} exports expired, {deleted} files deleted, {stuck} stuck exports closed"


@transaction.atomic
def _delete_file(export: DataExport) -> None:
    stored = export.file
    DataExport.objects.filter(pk=export.pk).update(file=None)
    if stored is None:
        return
    name = str(stored.file.name)
    storage = stored.file.storage
    PrivateFile.objects.filter(pk=stored.pk).delete()
    # The stored file goes once the row is gone for certain.
    transaction.on_commit(partial(storage.delete, name))
