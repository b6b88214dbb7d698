"""Delete my account: everything about one person, erased across every app.

Collect, then act (STYLE.md 7). `erasure_plan` gathers what will happen, per inventory
category, with counts, and what stands in the way; `do_erase_person` refuses while
anything does, and otherwise erases in one transaction:

- the account row **stays**, emptied (a tombstone), so a group's record of the help it
  was given (a need someone said yes to) can say "a former volunteer";
- each email address the person used leaves a keyed one-way hash (`ErasedIdentity`),
  so it is never emailed or imported again, and can't be read back;
- links that merely *mention* them (an author, a reader, who recorded something) are
  cleared; rows that are *theirs* are deleted set-based, and the database cascades;
- copies held without a link (addresses in demo mail, a group's uploaded lists and
  rejected-rows reports, messages that named them, audit details, admin history,
  sessions, task results) are found by the values themselves and removed;
- matching forgets them: the narrow table's row goes with the profile, and a change row
  tells every in-process index to drop them.

Which rows are theirs is read off the field inventory (`ownership.links`), so a model
registered there is erased without this module knowing about it.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.files.storage import Storage
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from handsup.accounts.models import User
from handsup.core.ids import new_public_id
from handsup.core.models import DemoMail, PrivateFile
from handsup.groups.models import Group, Membership
from handsup.imports.models import ImportedPerson, ImportJob
from handsup.messaging.models import Digest, Kind, Message
from handsup.needs.index_changes import changes_held, note_change
from handsup.needs.models import HoursLog, Invitation, MatchingChange, MatchingRow
from handsup.people.models import Person, Profile
from handsup.privacy.audit import record_audit
from handsup.privacy.erased import identity_digest
from handsup.privacy.inventory import ERASURE_CHOICES, ERASURE_MEANING, Erasure, inventory
from handsup.privacy.models import AuditEntry, DataExport, ErasedIdentity
from handsup.privacy.ownership import Link, links, person_pk_of
from handsup.stories.models import Story

StrOrPromise = str | Promise

ERASED_DOMAIN = "erased.invalid"
# What replaces the person wherever their name or details had been copied into text.
FORMER_VOLUNTEER = "a former volunteer"
REMOVED = "[removed]"
REMOVED_STORY = "a story since removed"
# Shorter strings are not searched for in other people's text: too likely to be words.
MIN_NEEDLE_LENGTH = 5
MIN_PHONE_DIGITS = 7
# Rows fetched at a time when a table must be read in Python (sessions, row problems).
BATCH = 500
# Tables whose text the person's details may have been copied into by the system, with
# the fields searched (other free text belongs to whoever wrote it).
MESSAGE_TEXT_FIELDS = ("subject", "body_markdown", "body_html", "body_text")


# How the page names what a link reaches, in the person's words; a link not listed here
# is shown by its model's name and the inventory's description.
PAGE_WORDS: dict[str, tuple[StrOrPromise, StrOrPromise]] = {
    "account.emailaddress.user": (
        gettext_lazy("Your email addresses"),
        gettext_lazy("the addresses you sign in with"),
    ),
    "mfa.authenticator.user": (
        gettext_lazy("Your second factors"),
        gettext_lazy("authenticator apps and recovery codes"),
    ),
    "groups.membership.user": (
        gettext_lazy("Your group memberships"),
        gettext_lazy("which groups you belong to, and your role in each"),
    ),
    "groups.groupblock.user": (
        gettext_lazy("Groups you blocked"),
        gettext_lazy("no group can contact you once your account is deleted"),
    ),
    "people.person.user": (
        gettext_lazy("Your volunteer profile"),
        gettext_lazy("your name, roughly where you are, and whether you are verified"),
    ),
    "people.profile.person": (
        gettext_lazy("Your profile details"),
        gettext_lazy(
            "when you can help, your contact details, talents, languages and access needs"
        ),
    ),
    "people.personskill.person": (
        gettext_lazy("Your skills"),
        gettext_lazy("the skills you offer"),
    ),
    "people.dateaway.person": (
        gettext_lazy("Your dates away"),
        gettext_lazy("times you told us you can't help"),
    ),
    "needs.matchingrow.person": (
        gettext_lazy("Your matching data"),
        gettext_lazy("the copy of your profile that matching uses to find needs for you"),
    ),
    "needs.matchingchange.user_id": (
        gettext_lazy("Notes that your profile changed"),
        gettext_lazy("kept for moments, so matching catches up"),
    ),
    "needs.invitation.user": (
        gettext_lazy("Asks and offers"),
        gettext_lazy("needs you were asked about or offered to help with"),
    ),
    "needs.contactgrant.user": (
        gettext_lazy("Contact details you shared"),
        gettext_lazy("which groups may see your contact details, and until when"),
    ),
    "privacy.consentevent.user": (
        gettext_lazy("Your consents"),
        gettext_lazy("every consent you gave or withdrew, with its history"),
    ),
    "privacy.accesslogentry.subject": (
        gettext_lazy("Who has seen your details"),
        gettext_lazy("the log of every time someone read your details"),
    ),
    "messaging.ledgerentry.user": (
        gettext_lazy("What we sent you"),
        gettext_lazy("what we sent you and what we held back, with the reasons"),
    ),
    "messaging.outboxitem.user": (
        gettext_lazy("Emails to you"),
        gettext_lazy("emails waiting to be sent to you, or sent"),
    ),
    "messaging.digest.user": (
        gettext_lazy("Your digests"),
        gettext_lazy("the news digests put together for you"),
    ),
    "core.privatefile.owner": (
        gettext_lazy("Files you uploaded or asked for"),
        gettext_lazy("imports you uploaded and downloads of your data"),
    ),
    # Mentions: the row stays with whoever it belongs to, without your name.
    "privacy.auditentry.actor": (
        gettext_lazy("Things you did"),
        gettext_lazy("the audit log keeps what was done, not that you did it"),
    ),
    "privacy.consentevent.recorded_by": (
        gettext_lazy("Consents you recorded"),
        gettext_lazy("each consent stands; who recorded it is cleared"),
    ),
    "privacy.accesslogentry.actor": (
        gettext_lazy("Your reads of other people's details"),
        gettext_lazy("each read stays in that person's log, without your name"),
    ),
    "needs.need.created_by": (
        gettext_lazy("Needs you posted"),
        gettext_lazy("they stay with the group"),
    ),
    "messaging.message.author": (
        gettext_lazy("Messages you wrote"),
        gettext_lazy("they stay with the group"),
    ),
    "needs.hourslog.logged_by": (
        gettext_lazy("Hours you logged"),
        gettext_lazy("the hours stay with the need"),
    ),
}


class ErasureRefused(Exception):
    """Erasure can't go ahead; the message says why, for the person who asked."""


# --- Collect ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blocker:
    message: str
    url: str = ""
    link_text: str = ""


@dataclass(frozen=True)
class PlanItem:
    label: str  # the model's label, e.g. "groups.membership"
    name: str  # what the rows are, in words
    what: str  # the inventory's words for the link
    count: int


@dataclass
class ErasurePlan:
    user: User
    items: dict[Erasure, list[PlanItem]]
    blockers: list[Blocker]
    addresses: list[str]

    @property
    def can_erase(self) -> bool:
        return not self.blockers

    def sections(self) -> list[tuple[Erasure, str, list[PlanItem]]]:
        """(category, what it means, items) for each category with something in it."""
        return [
            (choice, ERASURE_MEANING[choice], self.items[choice])
            for choice in ERASURE_CHOICES
            if self.items[choice]
        ]


@dataclass
class ErasureReport:
    counts: dict[str, int] = field(default_factory=dict)
    identities: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _item(link: Link, count: int) -> PlanItem:
    name, what = PAGE_WORDS.get(link.label, (link.model._meta.verbose_name_plural, link.entry.what))
    return PlanItem(link.label, str(name), str(what), count)


def _addresses_of(user: User) -> list[str]:
    found = {user.email.strip().lower()} if user.email else set()
    found.update(
        email.strip().lower()
        for email in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    )
    found.update(
        email.strip().lower()
        for email in Person.objects.filter(user=user).values_list("email", flat=True)
        if email
    )
    return sorted(found)


def _kept_invitations(user: User) -> models.QuerySet[Invitation]:
    """The yeses a group keeps as its record of help given: they stay, pointing at the
    emptied account."""
    return Invitation.objects.filter(user=user, status=Invitation.Status.ACCEPTED)


def _erasure_of(link: Link) -> Erasure:
    return link.entry.erasure


def _blockers(user: User) -> list[Blocker]:
    if user.erased:
        return [Blocker(_("This account has already been deleted."))]
    blockers = []
    admin_of = Membership.objects.filter(user=user, role=Membership.Role.ADMIN).exclude(
        group__status__in=[Group.Status.ARCHIVED, Group.Status.DECLINED]
    )
    other_admins = Membership.objects.filter(role=Membership.Role.ADMIN).exclude(user=user)
    alone = (
        admin_of.exclude(group_id__in=other_admins.values("group_id"))
        .select_related("group")
        .order_by("group__name")
    )
    for membership in alone:
        group = membership.group
        blockers.append(
            Blocker(
                _(
                    "You are the only admin of %(group)s: make someone else an admin, or "
                    "archive the group, before you delete your account."
                )
                % {"group": group.name},
                url=reverse("groups:members", args=[group.public_id]),
                link_text=_("Hand over or archive %(group)s") % {"group": group.name},
            )
        )
    return blockers


def erasure_plan(user: User) -> ErasurePlan:
    """What erasing `user` would do, per inventory category, and what stands in the way."""
    items: dict[Erasure, list[PlanItem]] = {choice: [] for choice in ERASURE_CHOICES}
    addresses = _addresses_of(user)
    blockers = _blockers(user)
    if user.erased:
        return ErasurePlan(user=user, items=items, blockers=blockers, addresses=addresses)
    items["delete"].append(
        PlanItem(
            label="accounts.user",
            name=_("Your account"),
            what=_("your name, your sign-in details, your roles and when you joined"),
            count=1,
        )
    )
    if addresses:
        items["keep_hashed"].append(
            PlanItem(
                label="privacy.erasedidentity",
                name=_("Your email addresses"),
                what=_(
                    "kept only as a one-way hash on our suppression list, so we never "
                    "email or import them again"
                ),
                count=len(addresses),
            )
        )
    person_pk = person_pk_of(user)
    seen: set[tuple[str, Erasure]] = set()
    for link in links():
        lookup = link.lookup(user.pk, person_pk)
        if lookup is None:
            continue
        rows = link.model._default_manager.filter(**lookup)
        if link.model is Invitation and link.field == "user":
            kept = rows.filter(status=Invitation.Status.ACCEPTED).count()
            gone = rows.exclude(status=Invitation.Status.ACCEPTED).count()
            if kept:
                items["keep"].append(
                    PlanItem(
                        link.label,
                        _("Needs you said yes to"),
                        _(
                            "the group keeps its record that a former volunteer helped, "
                            "with no name or contact details"
                        ),
                        kept,
                    )
                )
            if gone:
                items["delete"].append(_item(link, gone))
            continue
        key = (link.model._meta.label_lower, _erasure_of(link))
        if key in seen:
            continue  # the same rows reached by a second link (a matching row's person)
        count = rows.count()
        if count:
            seen.add(key)
            items[_erasure_of(link)].append(_item(link, count))
    return ErasurePlan(user=user, items=items, blockers=blockers, addresses=addresses)


# --- Act ----------------------------------------------------------------------------------


@dataclass
class _Traces:
    """What identifies the person in text: searched for in rows that hold no link.

    Addresses, a phone number and a whole postal address identify one person; a name
    alone may be someone else's too, so other people's text is only changed for a name
    where it also holds one of the others, or was sent to the person.
    """

    addresses: list[str]
    names: list[str]
    details: list[str]  # phone, postal address
    public_ids: list[str]
    # Their stories' titles and addresses: the stories go with them, and so do copies of
    # their titles in notes sent about them and in other people's digests.
    story_titles: list[str] = field(default_factory=list)
    story_paths: list[str] = field(default_factory=list)

    @property
    def identifying(self) -> list[str]:
        return [n for n in (*self.addresses, *self.details) if n]

    @property
    def needles(self) -> list[str]:
        return [*self.identifying, *self.names]

    def replacements(self) -> list[tuple[re.Pattern[str], str]]:
        """Patterns for each trace as it may appear in a message: plain, escaped for
        Markdown, escaped for HTML; names become "a former volunteer"."""
        found: list[tuple[re.Pattern[str], str]] = []
        for needles, replacement in (
            (self.story_titles, REMOVED_STORY),
            (self.addresses + self.details, REMOVED),
            (self.names, FORMER_VOLUNTEER),
        ):
            for needle in sorted(set(needles), key=len, reverse=True):
                for form in _written_forms(needle):
                    found.append((re.compile(re.escape(form), re.IGNORECASE), replacement))
        return found


def _written_forms(text: str) -> set[str]:
    markdown = re.sub(r"([\\`*_{}\[\]()<>!|~&])", r"\\\1", " ".join(text.split()))
    return {text, markdown, html.escape(text), html.escape(markdown)}


def _traces(user: User, addresses: list[str]) -> _Traces:
    person = Person.objects.filter(user=user).first()
    names = [user.full_name.strip()]
    details: list[str] = []
    public_ids = [user.public_id]
    if person is not None:
        names.append(person.display_name.strip())
        public_ids.append(person.public_id)
        profile = Profile.objects.filter(person=person).first()
        if profile is not None:
            if sum(c.isdigit() for c in profile.phone) >= MIN_PHONE_DIGITS:
                details.append(profile.phone.strip())
            # The whole address (as typed, and on one line): a single line of it ("Leeds")
            # is anybody's.
            lines = [line.strip() for line in profile.postal_address.splitlines()]
            details.extend({profile.postal_address.strip(), ", ".join(filter(None, lines))})
    stories = list(Story.objects.filter(author=user).values_list("title", "public_id"))
    return _Traces(
        addresses=addresses,
        names=sorted({n for n in names if len(n) >= MIN_NEEDLE_LENGTH}),
        details=sorted({d for d in details if len(d) >= MIN_NEEDLE_LENGTH}),
        public_ids=public_ids,
        story_titles=sorted(
            {t.strip() for t, _id in stories if len(t.strip()) >= MIN_NEEDLE_LENGTH}
        ),
        story_paths=[reverse("stories:story", args=[public_id]) for _t, public_id in stories],
    )


def _text_mentions(field_name: str, needles: Iterable[str]) -> Q:
    query = Q()
    for needle in needles:
        query |= Q(**{f"{field_name}__icontains": needle})
    return query


def _mentions_any(text: str, needles: Iterable[str]) -> bool:
    folded = text.casefold()
    return any(needle.casefold() in folded for needle in needles)


def _count(report: ErasureReport, label: str, n: int) -> None:
    if n:
        report.counts[label] = report.counts.get(label, 0) + n


def _delete(report: ErasureReport, queryset: models.QuerySet[Any]) -> None:
    _total, per_model = queryset.delete()
    for label, n in per_model.items():
        _count(report, label.lower(), n)


def _storage_deleter(files: Iterable[PrivateFile]) -> list[Callable[[], None]]:
    """The storage deletions for these files, to run once the rows are gone for certain."""
    deleters: list[Callable[[], None]] = []
    for stored in files:
        if stored.file.name:
            storage: Storage = stored.file.storage
            deleters.append(partial(storage.delete, str(stored.file.name)))
    return deleters


def _clear_mentions(user: User, report: ErasureReport) -> None:
    for link in links():
        if link.kind != "mention":
            continue
        lookup = link.lookup(user.pk, None)
        if lookup is None:
            continue
        n = link.model._default_manager.filter(**lookup).update(**{link.field: None})
        _count(report, f"{link.label} (cleared)", n)


def _scrub_audit(ids: list[str], report: ErasureReport) -> None:
    """Audit rows about the person's objects lose the id; their ids leave `details`."""
    wanted = [i for i in ids if i]
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        n = AuditEntry.objects.filter(object_public_id__in=chunk).update(object_public_id="")
        _count(report, "privacy.auditentry (object cleared)", n)
        mentioned = AuditEntry.objects.annotate(text=Cast("details", TextField())).filter(
            _text_mentions("text", chunk)
        )
        changed = []
        for entry in mentioned.only("pk", "details"):
            entry.details = _without(entry.details, set(chunk))
            changed.append(entry)
        # A bulk update, never `save()`: audit rows are append-only to everything else.
        AuditEntry.objects.bulk_update(changed, ["details"], batch_size=BATCH)
        _count(report, "privacy.auditentry (details scrubbed)", len(changed))


def _without(value: Any, ids: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, ids) for k, v in value.items() if k not in ids and v not in ids}
    if isinstance(value, list):
        return [_without(v, ids) for v in value if v not in ids]
    if isinstance(value, str) and any(i in value for i in ids):
        return ""
    return value


def _scrub_admin_history(user: User, person_pk: int | None, report: ErasureReport) -> None:
    """The admin's change log prints the objects it changed: the person's lose that."""
    registered = set(admin.site._registry)
    targets: list[tuple[type[models.Model], list[str]]] = [(User, [str(user.pk)])]
    for link in links():
        if link.kind != "own" or link.model not in registered:
            continue
        lookup = link.lookup(user.pk, person_pk)
        if lookup is None:
            continue
        found = link.model._default_manager.filter(**lookup).values_list("pk", flat=True)
        targets.append((link.model, [str(pk) for pk in found]))
    if person_pk is not None:
        targets.append((Person, [str(person_pk)]))
    for model, object_ids in targets:
        if not object_ids:
            continue
        content_type = ContentType.objects.get_for_model(model)
        n = LogEntry.objects.filter(content_type=content_type, object_id__in=object_ids).update(
            object_repr=_("an erased person's record")
        )
        _count(report, "admin.logentry (cleared)", n)


def _scrub_messages(user: User, traces: _Traces, report: ErasureReport) -> None:
    """Messages that quote them: an introduction to organisers (it holds their address),
    a note sent to them (a thank-you names them)."""
    query = Q(kind=Kind.SERVICE, ledger__user=user)
    quoted = [*traces.identifying, *traces.story_titles]
    for name in MESSAGE_TEXT_FIELDS:
        query |= _text_mentions(name, {form for n in quoted for form in _written_forms(n)})
    patterns = traces.replacements()
    changed = []
    for message in Message.objects.filter(query).distinct().only("pk", *MESSAGE_TEXT_FIELDS):
        for name in MESSAGE_TEXT_FIELDS:
            text = getattr(message, name)
            for pattern, replacement in patterns:
                text = pattern.sub(replacement, text)
            setattr(message, name, text)
        changed.append(message)
    Message.objects.bulk_update(changed, list(MESSAGE_TEXT_FIELDS), batch_size=BATCH)
    _count(report, "messaging.message (text scrubbed)", len(changed))


def _scrub_digests(traces: _Traces, report: ErasureReport) -> None:
    """Other people's digests that listed a story of theirs: the item goes (the story is
    gone, so its link would lead nowhere)."""
    if not traces.story_paths:
        return
    changed = []
    holding = Digest.objects.filter(_text_mentions("sections", traces.story_paths))
    for digest in holding.only("pk", "sections", "item_count"):
        sections = []
        for section in digest.sections:
            items = [
                item
                for item in section.get("items", [])
                if not any(path in str(item.get("url", "")) for path in traces.story_paths)
            ]
            if items:
                sections.append({**section, "items": items})
        digest.sections = sections
        digest.item_count = sum(len(section["items"]) for section in sections)
        changed.append(digest)
    Digest.objects.bulk_update(changed, ["sections", "item_count"], batch_size=BATCH)
    _count(report, "messaging.digest (stories removed)", len(changed))


def _scrub_demo_mail(traces: _Traces, report: ErasureReport) -> None:
    needles = traces.identifying
    if needles:
        mail = DemoMail.objects.filter(
            _text_mentions("to", needles)
            | _text_mentions("subject", needles)
            | _text_mentions("body", needles)
        )
        _delete(report, mail)


def _import_files(
    user: User, traces: _Traces, report: ErasureReport
) -> Iterator[Callable[[], None]]:
    """A group's uploaded lists and rejected-rows reports that hold the person's row go
    (they are deleted after 30 days anyway); row problems quoting them are removed."""
    linked = set(
        ImportedPerson.objects.filter(user=user, job__isnull=False).values_list("job_id", flat=True)
    )
    with_files = ImportJob.objects.filter(
        Q(source_file__isnull=False) | Q(report_file__isnull=False)
    ).select_related("source_file", "report_file")
    doomed: list[PrivateFile] = []
    # Row numbers of their rows in each job's rejected-rows report: a row problem quotes
    # only one cell (a mistyped address), so it is found by its row.
    their_rows: dict[int, set[int]] = {}
    for job in with_files.iterator(chunk_size=BATCH):
        for stored in (job.source_file, job.report_file):
            if stored is None:
                continue
            text = _file_text(stored, job.encoding if stored == job.source_file else "utf-8")
            if job.pk in linked or _mentions_any(text, traces.needles):
                doomed.append(stored)
            if stored == job.report_file:
                their_rows[job.pk] = _report_rows_mentioning(text, traces.needles)
    yield from _storage_deleter(doomed)
    if doomed:
        _delete(report, PrivateFile.objects.filter(pk__in=[f.pk for f in doomed]))
    needles = traces.needles
    changed = []
    for job in ImportJob.objects.exclude(row_errors=[]).only("pk", "row_errors").iterator(BATCH):
        rows = their_rows.get(job.pk, set())
        kept = [
            e
            for e in job.row_errors
            if not _mentions_any(json.dumps(e, ensure_ascii=False), needles)
            and not (isinstance(e, dict) and e.get("row") in rows)
        ]
        if len(kept) != len(job.row_errors):
            job.row_errors = kept
            changed.append(job)
    ImportJob.objects.bulk_update(changed, ["row_errors"], batch_size=BATCH)
    _count(report, "imports.importjob (row problems removed)", len(changed))


def _file_text(stored: PrivateFile, encoding: str) -> str:
    """A stored CSV's text ("" when it can't be read), for searching."""
    if not stored.file.name:
        return ""
    try:
        with stored.file.open("rb") as handle:
            content = handle.read()
    except OSError:
        return ""
    try:
        return content.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")


def _report_rows_mentioning(text: str, needles: list[str]) -> set[int]:
    """The row numbers (the report's first column) of rejected rows that mention them."""
    rows = set()
    for cells in csv.reader(io.StringIO(text)):
        if cells and _mentions_any(" ".join(cells), needles):
            number = cells[0].lstrip("'")
            if number.isdigit():
                rows.add(int(number))
    return rows


def _delete_sessions(user: User, report: ErasureReport) -> None:
    """Every signed-in browser of theirs: the session data names the account. Sessions
    are made at sign-in, so someone who never signed in has none, and any session of
    theirs still usable expires after their last sign-in: only those are read (the
    table isn't indexed by account)."""
    if user.last_login is None:
        return
    theirs = []
    live = Session.objects.filter(expire_date__gte=user.last_login)
    for session in live.iterator(chunk_size=BATCH):
        # A session that can't be decoded is empty: nobody's.
        data = session.get_decoded()
        if str(data.get("_auth_user_id", "")) == str(user.pk):
            theirs.append(session.session_key)
    if theirs:
        _delete(report, Session.objects.filter(session_key__in=theirs))


def _delete_task_results(traces: _Traces, ids: list[str], report: ErasureReport) -> None:
    """Background tasks take public ids, never names or addresses: any result that names
    one of theirs (a data export's, say) goes, as does one that quotes their details."""
    task_results = apps.get_model("django_tasks_database", "DBTaskResult")
    needles = [*ids, *traces.identifying]
    if not needles:
        return
    query = Q()
    for name in ("args_kwargs", "return_value"):
        query |= _text_mentions(f"{name}_text", needles)
    query |= _text_mentions("traceback", needles)
    matching = task_results.objects.annotate(
        args_kwargs_text=Cast("args_kwargs", TextField()),
        return_value_text=Cast("return_value", TextField()),
    ).filter(query)
    _delete(report, task_results.objects.filter(pk__in=list(matching.values_list("pk", flat=True))))


def _own_public_ids(user: User, person_pk: int | None, kept_pks: set[int]) -> list[str]:
    """Public ids of everything of theirs that goes (kept yeses keep theirs)."""
    ids = [user.public_id]
    for link in links():
        if link.kind != "own" or "public_id" not in {f.name for f in link.model._meta.fields}:
            continue
        lookup = link.lookup(user.pk, person_pk)
        if lookup is None:
            continue
        rows = link.model._default_manager.filter(**lookup)
        if link.model is Invitation:
            rows = rows.exclude(pk__in=kept_pks)
        ids.extend(rows.values_list("public_id", flat=True))
    return sorted(set(ids))


def _delete_own_rows(
    user: User, person_pk: int | None, kept_pks: set[int], report: ErasureReport
) -> list[Callable[[], None]]:
    deleters = []
    for link in links():
        if link.kind != "own":
            continue
        # Kept rows stay, pointing at the emptied account; of the invitations, only the
        # yeses are kept (`_kept_invitations`).
        if link.entry.erasure == "keep" and link.model is not Invitation:
            continue
        lookup = link.lookup(user.pk, person_pk)
        if lookup is None:
            continue
        rows = link.model._default_manager.filter(**lookup)
        if link.model is PrivateFile:
            deleters.extend(_storage_deleter(PrivateFile.objects.filter(pk__in=rows.values("pk"))))
        if link.model is DataExport:
            deleters.extend(
                _storage_deleter(PrivateFile.objects.filter(pk__in=rows.values("file_id")))
            )
            _delete(report, PrivateFile.objects.filter(pk__in=rows.values("file_id")))
        if link.model is Invitation:
            rows = rows.exclude(pk__in=kept_pks)
        _delete(report, rows)
    return deleters


def _empty_kept_rows(user: User, person_pk: int | None, report: ErasureReport) -> None:
    """Rows kept pointing at the emptied account (a link registered `keep`) lose their
    other personal fields registered `delete`: the row stays, its words about the person
    go (a data-protection request keeps its dates and outcome, not how the requester
    described themselves)."""
    link_fields = {(link.entry.model, link.field) for link in links()}
    for link in links():
        if link.kind != "own" or link.entry.erasure != "keep":
            continue
        lookup = link.lookup(user.pk, person_pk)
        if lookup is None:
            continue
        emptied: dict[str, Any] = {}
        for entry in inventory.personal_fields(link.entry.model):
            if entry.erasure != "delete" or (entry.model, entry.field) in link_fields:
                continue
            field = link.model._meta.get_field(entry.field)
            if field.null:
                emptied[entry.field] = None
            elif isinstance(field, (models.CharField, models.TextField)):
                emptied[entry.field] = ""
        if emptied:
            n = link.model._default_manager.filter(**lookup).update(**emptied)
            _count(report, f"{link.entry.model} (emptied)", n)


def _refresh_index(using: str) -> None:
    """Tell this process's matching index now, rather than at its next refresh."""
    from handsup.needs.index import refresh_built_index

    refresh_built_index(using)


@transaction.atomic
def do_erase_person(*, user: User, actor: User | None) -> ErasureReport:
    """Erase `user`: `actor` is the person themself, or a data protection officer.

    Raises `ErasureRefused` (nothing changed) while the plan has blockers, or when the
    account is already erased.
    """
    started = time.monotonic()
    # Locked, so a double submit waits here and then finds the account already erased.
    user = User.objects.select_for_update().get(pk=user.pk)
    plan = erasure_plan(user)
    if plan.blockers:
        raise ErasureRefused(plan.blockers[0].message)
    by_self = actor is not None and actor.pk == user.pk
    report = ErasureReport()
    person_pk = person_pk_of(user)
    traces = _traces(user, plan.addresses)
    kept = _kept_invitations(user)
    kept_pks = set(kept.values_list("pk", flat=True))
    own_ids = _own_public_ids(user, person_pk, kept_pks)

    # What stays of them: the hashes of their addresses.
    now = timezone.now()
    ErasedIdentity.objects.bulk_create(
        [ErasedIdentity(digest=identity_digest(a), erased_at=now) for a in plan.addresses],
        ignore_conflicts=True,
    )
    report.identities = len(plan.addresses)

    on_commit: list[Callable[[], None]] = []
    # Their rows go by the dozen, and each would tell matching on its own: held, and
    # told once at the end.
    with changes_held(user.pk):
        # Copies found by value, while the rows that lead to them still exist.
        _scrub_admin_history(user, person_pk, report)
        _scrub_audit(own_ids, report)
        _scrub_messages(user, traces, report)
        _scrub_digests(traces, report)
        _scrub_demo_mail(traces, report)
        on_commit.extend(_import_files(user, traces, report))
        _delete_task_results(traces, own_ids, report)
        _delete_sessions(user, report)

        # Links: mentions cleared, the yeses a group keeps emptied of their words, the
        # rest deleted (cascades take what hangs off each row).
        _clear_mentions(user, report)
        n = HoursLog.objects.filter(invitation__in=kept_pks).exclude(note="").update(note="")
        _count(report, "needs.hourslog (notes cleared)", n)
        _empty_kept_rows(user, person_pk, report)
        on_commit.extend(_delete_own_rows(user, person_pk, kept_pks, report))
        user.groups.clear()
        user.user_permissions.clear()

        # The tombstone: an update, not `save()`, so nothing treats it as a live account.
        User.objects.filter(pk=user.pk).update(
            email=f"erased-{secrets.token_hex(12)}@{ERASED_DOMAIN}",
            full_name="",
            password=make_password(None),
            is_active=False,
            is_staff=False,
            is_superuser=False,
            last_login=None,
            date_joined=now,
            public_id=new_public_id(),
            erased_at=now,
        )

        # Matching: earlier change rows named the live account; one new row (naming only
        # the emptied one) makes every index drop them, and their narrow row is gone.
        MatchingChange.objects.filter(user_id=user.pk).delete()
        MatchingRow.objects.filter(user_id=user.pk).delete()
    note_change(user.pk)

    report.seconds = time.monotonic() - started
    record_audit(
        actor=None if by_self else actor,
        action="privacy.person_erased",
        details={
            "requested_by": "self" if by_self else ("officer" if actor else "retention"),
            "rows": report.total,
            "identities_kept_hashed": report.identities,
        },
    )
    for deleter in on_commit:
        transaction.on_commit(deleter)
    transaction.on_commit(partial(_refresh_index, DEFAULT_DB_ALIAS))
    return report
