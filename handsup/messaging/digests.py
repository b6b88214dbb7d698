"""Digests: each person's regular round-up, on their cadence, once per period.

**Periods.** A person's digest period is a calendar stretch in their own time zone: a
week from Monday 00:00 (weekly), two weeks from a Monday of the fortnight grid
(`FORTNIGHT_EPOCH`), or a month from the 1st (monthly). The hourly job (`jobs.py`)
finds everyone whose current period has begun and who has no `Digest` row for it, and
settles it: their quiet hours (default until 08:00) then hold the email until morning.
Someone who joined after a period began waits for the next one. People who asked for
no digest ("never") are looked at on the weekly grid too, but only for what pacing
folded for them, so their ledger can say why it never reached them.

**Once per period.** `Digest` is unique on (user, period_start). A run claims a batch
of due people (on PostgreSQL `FOR NO KEY UPDATE … SKIP LOCKED` on their user rows, so
two workers take different people; SQLite runs one writer at a time), collects their
sections, inserts the rows with `ON CONFLICT DO NOTHING`, and goes on only with the rows
it inserted: a worker that picked the same people just after another committed gets
nothing and sends nothing. The constraint is the guarantee; the lock only saves work.

**The decision.** For a batch, in one transaction: the digest rows; for those with at
least one item, `pacing.pace` on the run's `Message` (kind `digest`), which writes
their ledger and outbox rows with the usual rules (unsubscribed, email off, digest off,
at most one per cadence — and no other budget —, held for quiet hours); for those with
nothing to say, a ledger row `suppressed` / `digest_empty`; the folded ledger rows the
digest settled are marked with it (`LedgerEntry.digest`), unless pacing refused the
digest for the cadence (a changed cadence), so they wait for the next. The message's
counts add up the batches. All set-based: a few queries per batch of
`HANDSUP_DIGEST_BATCH_SIZE` (2,000) people, whatever the batch size.

**The email.** Every person's digest is different, so the outbox row's body is not the
message's: the delivery worker asks `digest_emails` for the batch it claimed, which
renders each from its `Digest.sections` through `messaging/email/digest.{html,txt}`
(the templates are compiled once per process; folded messages' bodies are rendered once
per message). Headers are the normal path's: Message-ID from the idempotency key,
List-Unsubscribe and List-Unsubscribe-Post for the `digest` kind.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Max, OuterRef, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.messaging.digest_sections import (
    ITEMS_PER_SECTION,
    DigestItem,
    DigestWindow,
    folded_rows,
    registered_sections,
)
from handsup.messaging.models import Decision, Digest, Kind, LedgerEntry, Message, Reason
from handsup.messaging.pacing import DEFAULT_TIME_ZONE, PacingCounts, pace, zone
from handsup.messaging.rendering import (
    UNSUBSCRIBE_PLACEHOLDER,
    PreparedEmail,
    _inliner,
    _tidy_text,
    message_body_html,
    message_body_text,
    why_you_got_it,
)
from handsup.people.models import Person, Profile

Cadence = Profile.Cadence

# Fortnights start on the Mondays an even number of weeks after this one.
FORTNIGHT_EPOCH = date(2024, 1, 1)
# A first digest looks back this far; later ones back to the previous digest.
FIRST_LOOKBACK: dict[str, timedelta] = {
    Cadence.WEEKLY: timedelta(days=7),
    Cadence.FORTNIGHTLY: timedelta(days=14),
    Cadence.MONTHLY: timedelta(days=31),
    Cadence.NEVER: timedelta(days=7),
}
ADJECTIVE: dict[str, str] = {
    Cadence.WEEKLY: "weekly",
    Cadence.FORTNIGHTLY: "fortnightly",
    Cadence.MONTHLY: "monthly",
}


def batch_size_setting() -> int:
    configured: object = getattr(settings, "HANDSUP_DIGEST_BATCH_SIZE", 2000)
    return int(str(os.environ.get("HANDSUP_DIGEST_BATCH_SIZE") or configured))


# --- Periods -----------------------------------------------------------------------------


def period_start(cadence: str, day: date) -> date:
    """The first local day of the period of `cadence` that contains `day`.

    "never" uses the weekly grid: those people are looked at weekly for folded mail.
    """
    if cadence == Cadence.MONTHLY:
        return day.replace(day=1)
    monday = day - timedelta(days=day.weekday())
    if cadence == Cadence.FORTNIGHTLY:
        weeks = (monday - FORTNIGHT_EPOCH).days // 7
        return monday - timedelta(weeks=weeks % 2)
    return monday


@dataclass(frozen=True)
class Period:
    """The current period for people with one time zone (as stored) and cadence."""

    time_zone: str
    cadence: str
    start: date
    starts_at: datetime  # local midnight of `start`, in UTC


def current_periods(now: datetime, time_zones: Iterable[str]) -> list[Period]:
    """Each stored time zone × cadence, with the period that contains `now` there."""
    periods = []
    for name in sorted(set(time_zones)):
        tz = zone(name)
        today = now.astimezone(tz).date()
        for cadence in Cadence.values:
            start = period_start(cadence, today)
            starts_at = datetime.combine(start, time(0), tzinfo=tz).astimezone(UTC)
            periods.append(Period(name, cadence, start, starts_at))
    return periods


# --- The run -----------------------------------------------------------------------------


@dataclass
class DigestReport:
    """What one run did: people settled, and what became of their digests."""

    people: int = 0
    batches: int = 0
    by_reason: Counter[tuple[str, str]] = field(default_factory=Counter)
    message_id: int | None = None

    def add(self, counts: PacingCounts) -> None:
        self.by_reason.update(counts.by_reason)

    def count(self, decision: str) -> int:
        return sum(n for (d, _r), n in self.by_reason.items() if d == decision)

    @property
    def empty(self) -> int:
        return self.by_reason[(Decision.SUPPRESSED, Reason.DIGEST_EMPTY)]

    def summary(self) -> str:
        if not self.people:
            return "no digests due"
        return (
            f"{self.people} digests due: {self.count(Decision.SENT)} sent, "
            f"{self.count(Decision.HELD)} held for quiet hours, {self.empty} empty, "
            f"{self.count(Decision.SUPPRESSED) - self.empty} not sent"
        )


def run_digests(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> DigestReport:
    """Settle every digest whose period has begun: queue it, or log why not.

    Each batch is its own transaction; a run that stops half way leaves the rest due
    for the next run. Returns what was decided (nothing, when nobody was due).
    """
    now = now or timezone.now()
    batch_size = batch_size or batch_size_setting()
    report = DigestReport()
    periods = current_periods(now, _stored_time_zones(using))
    after = 0
    message: Message | None = None
    while True:
        with transaction.atomic(using=using):
            due = _due_batch(periods, after=after, limit=batch_size, using=using)
            if not due:
                break
            after = max(person.user_id for person in due)
            if message is None:
                message = _digest_message(now, using=using)
                report.message_id = message.pk
            settled = _settle_batch(due, message, now=now, using=using, report=report)
            report.people += settled
            report.batches += 1
            if settled:
                _record_counts(message, report, now=now, using=using)
    if report.count(Decision.SENT):
        from handsup.messaging.jobs import kick_delivery

        kick_delivery()
    return report


def _stored_time_zones(using: str) -> list[str]:
    zones = set(
        Profile.objects.using(using).order_by().values_list("time_zone", flat=True).distinct()
    )
    zones.add(DEFAULT_TIME_ZONE)  # people without a profile
    return sorted(zones)


def _digest_message(now: datetime, *, using: str) -> Message:
    return Message.objects.using(using).create(
        kind=Kind.DIGEST,
        subject=_("Your digest"),
        audience_description=_("Everyone whose digest period began by %(when)s")
        % {"when": date_format(now, "j F Y H:i")},
        created_at=now,
        sent_at=now,
    )


@dataclass(frozen=True)
class DuePerson:
    user_id: int
    cadence: str
    period_start: date


def _due_batch(periods: Sequence[Period], *, after: int, limit: int, using: str) -> list[DuePerson]:
    """The next `limit` active people with an address whose current period has begun
    and has no digest yet, by user id after `after`; locked (skipping rows another
    worker holds) on PostgreSQL."""
    connection = connections[using]
    ops = connection.ops
    postgresql = connection.vendor == "postgresql"
    row = "(%s::text, %s::text, %s::date, %s::timestamptz)" if postgresql else "(%s, %s, %s, %s)"
    values = ", ".join([row] * len(periods))
    period_params: list[Any] = []
    for period in periods:
        period_params += [
            period.time_zone,
            period.cadence,
            ops.adapt_datefield_value(period.start),
            ops.adapt_datetimefield_value(period.starts_at),
        ]
    table = ops.quote_name
    lock = " FOR NO KEY UPDATE OF u SKIP LOCKED" if postgresql else ""
    sql = (
        f"WITH periods(tz, cadence, start, starts_at) AS (VALUES {values}) "  # noqa: S608
        f"SELECT u.id, p.cadence, p.start FROM {table(User._meta.db_table)} u "
        f"LEFT JOIN {table(Person._meta.db_table)} pe ON pe.user_id = u.id "
        f"LEFT JOIN {table(Profile._meta.db_table)} pr ON pr.person_id = pe.id "
        f"JOIN periods p ON p.tz = COALESCE(pr.time_zone, %s) "
        f"AND p.cadence = COALESCE(pr.digest_cadence, %s) "
        f"WHERE u.is_active = %s AND u.email <> '' AND u.id > %s "
        f"AND u.date_joined < p.starts_at "
        f"AND NOT EXISTS (SELECT 1 FROM {table(Digest._meta.db_table)} d "
        f"WHERE d.user_id = u.id AND d.period_start = p.start) "
        f"ORDER BY u.id LIMIT %s{lock}"
    )
    params = [
        *period_params,
        DEFAULT_TIME_ZONE,
        Cadence.WEEKLY,
        True,
        after,
        limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            DuePerson(int(user_id), str(cadence), _as_date(start))
            for user_id, cadence, start in cursor.fetchall()
        ]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _previous_digest_times(user_ids: Sequence[int], *, using: str) -> dict[int, datetime]:
    return {
        row["user_id"]: row["last"]
        for row in Digest.objects.using(using)
        .filter(user_id__in=user_ids)
        .values("user_id")
        .annotate(last=Max("until"))
    }


def collect_sections(
    due: Sequence[DuePerson], *, now: datetime, using: str
) -> dict[int, list[dict[str, Any]]]:
    """Each person's sections, as stored in `Digest.sections`; empty sections left out.

    People who asked for no digest get only the sections marked
    `for_people_without_a_digest` (what pacing folded for them).
    """
    previous = _previous_digest_times([person.user_id for person in due], using=using)
    since = {
        person.user_id: previous.get(person.user_id) or now - FIRST_LOOKBACK[person.cadence]
        for person in due
    }
    cadence = {person.user_id: person.cadence for person in due}
    without = {user_id for user_id, value in cadence.items() if value == Cadence.NEVER}
    contents: dict[int, list[dict[str, Any]]] = {person.user_id: [] for person in due}
    for section in registered_sections():
        wanted = since
        if not section.for_people_without_a_digest:
            wanted = {user_id: at for user_id, at in since.items() if user_id not in without}
        if not wanted:
            continue
        window = DigestWindow(until=now, since=wanted, cadence=cadence, using=using)
        for user_id, items in section.collect(window).items():
            if items and user_id in contents:
                contents[user_id].append(
                    {"name": section.name, "items": [item.as_json() for item in items]}
                )
    return contents


def _settle_batch(
    due: Sequence[DuePerson],
    message: Message,
    *,
    now: datetime,
    using: str,
    report: DigestReport,
) -> int:
    """Insert the batch's digests; decide for the rows this run inserted; return how many."""
    previous = _previous_digest_times([person.user_id for person in due], using=using)
    contents = collect_sections(due, now=now, using=using)
    Digest.objects.using(using).bulk_create(
        [
            Digest(
                user_id=person.user_id,
                period_start=person.period_start,
                cadence=person.cadence,
                message=message,
                since=previous.get(person.user_id) or now - FIRST_LOOKBACK[person.cadence],
                until=now,
                item_count=sum(len(section["items"]) for section in contents[person.user_id]),
                sections=contents[person.user_id],
            )
            for person in due
        ],
        ignore_conflicts=True,  # another worker settled them first: theirs stands
    )
    ours = dict(
        Digest.objects.using(using)
        .filter(message=message, user_id__in=[person.user_id for person in due])
        .values_list("user_id", "item_count")
    )
    if not ours:
        return 0
    cadence = {person.user_id: person.cadence for person in due}
    with_items = sorted(user_id for user_id, count in ours.items() if count)
    empty = sorted(
        user_id
        for user_id, count in ours.items()
        if not count and cadence[user_id] != Cadence.NEVER
    )
    if with_items:
        audience = User.objects.using(using).filter(pk__in=with_items).values("pk")
        report.add(pace(message, audience, now=now, using=using))
        _mark_folded_rows(message, with_items, now=now, using=using)
    if empty:
        LedgerEntry.objects.using(using).bulk_create(
            [
                LedgerEntry(
                    user_id=user_id,
                    message=message,
                    kind=Kind.DIGEST,
                    at=now,
                    decision=Decision.SUPPRESSED,
                    reason=Reason.DIGEST_EMPTY,
                )
                for user_id in empty
            ]
        )
        report.by_reason[(Decision.SUPPRESSED, Reason.DIGEST_EMPTY)] += len(empty)
    return len(ours)


def _mark_folded_rows(
    message: Message, user_ids: Sequence[int], *, now: datetime, using: str
) -> None:
    """Folded rows these digests settled point at them, so the next digest skips them.

    Not when pacing refused the digest for the cadence (the person changed it, and had
    one too recently): those wait for the next digest.
    """
    refused = LedgerEntry.objects.using(using).filter(
        message=message, user_id__in=user_ids, reason=Reason.DIGEST_CADENCE
    )
    digest_of = Digest.objects.using(using).filter(message=message, user_id=OuterRef("user_id"))
    folded_rows(user_ids, until=now, using=using).exclude(
        user_id__in=refused.values("user_id")
    ).update(digest=Subquery(digest_of.values("pk")[:1]))


def _record_counts(message: Message, report: DigestReport, *, now: datetime, using: str) -> None:
    """The run's totals so far on its message, in the batch's transaction."""
    counts = PacingCounts(by_reason=dict(report.by_reason))
    Message.objects.using(using).filter(pk=message.pk).update(
        recipients=counts.recipients,
        sent_count=counts.sent,
        held_count=counts.held,
        folded_count=counts.folded,
        suppressed_count=counts.suppressed,
        reason_counts=counts.as_json(),
        sent_at=now,
    )


# --- The email -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedSection:
    title: str
    intro: str
    items: list[dict[str, Any]]
    more: int


def digest_emails(
    pairs: Iterable[tuple[int, int]], *, using: str = DEFAULT_DB_ALIAS
) -> dict[tuple[int, int], PreparedEmail]:
    """The email for each (digest message id, user id), from its `Digest` row.

    For the delivery worker: one query for the rows, one for the folded messages they
    show, one for the people's names; each folded message is rendered once.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    digests = [
        digest
        for digest in Digest.objects.using(using).filter(
            user_id__in={user_id for _m, user_id in wanted},
            message_id__in={message_id for message_id, _u in wanted},
        )
        if (digest.message_id, digest.user_id) in wanted
    ]
    message_ids = {
        item["message_id"]
        for digest in digests
        for section in digest.sections
        for item in section.get("items", [])
        if item.get("message_id")
    }
    bodies = {
        message.pk: (mark_safe(message_body_html(message)), message_body_text(message))  # noqa: S308 (cleaned by nh3)
        for message in Message.objects.using(using).filter(pk__in=message_ids)
    }
    names = dict(
        Person.objects.using(using)
        .filter(user_id__in={digest.user_id for digest in digests})
        .values_list("user_id", "display_name")
    )
    return {
        (digest.message_id, digest.user_id): render_digest(
            digest, name=names.get(digest.user_id, ""), bodies=bodies
        )
        for digest in digests
    }


def digest_subject(digest: Digest) -> str:
    adjective = ADJECTIVE.get(digest.cadence)
    day = date_format(digest.period_start, "j F")
    if adjective is None:
        return _("Your Hands Up digest, %(day)s") % {"day": day}
    return _("Your %(adjective)s Hands Up digest, %(day)s") % {
        "adjective": _(adjective),
        "day": day,
    }


def render_digest(
    digest: Digest,
    *,
    name: str = "",
    bodies: Mapping[int, tuple[str, str]] | None = None,
) -> PreparedEmail:
    """One person's digest email, with the unsubscribe placeholder for their link."""
    bodies = bodies or {}
    sections: list[RenderedSection] = []
    by_name = {section.name: section for section in registered_sections()}
    for stored in digest.sections:
        section = by_name.get(stored.get("name", ""))
        items = [DigestItem.from_json(item) for item in stored.get("items", [])]
        if section is None or not items:
            continue
        shown = items[:ITEMS_PER_SECTION]
        sections.append(
            RenderedSection(
                title=str(section.title),
                intro=str(section.intro),
                items=[_item_context(item, bodies) for item in shown],
                more=len(items) - len(shown),
            )
        )
    subject = digest_subject(digest)
    first_name = name.split()[0] if name.strip() else ""
    context = {
        "subject": subject,
        "greeting": (
            _("Hello %(name)s, here is what happened since %(since)s.")
            % {"name": first_name, "since": date_format(digest.since, "j F")}
            if first_name
            else _("Hello, here is what happened since %(since)s.")
            % {"since": date_format(digest.since, "j F")}
        ),
        "sections": sections,
        "why": why_you_got_it(Message(kind=Kind.DIGEST)),
        "cadence": _cadence_sentence(digest.cadence),
        "settings_url": settings.SITE_URL + reverse("people:profile_contact"),
        "ledger_url": settings.SITE_URL + reverse("messaging:mine"),
        "stop_label": _("Stop digests"),
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "site_url": settings.SITE_URL,
    }
    page = render_to_string("messaging/email/digest.html", context)
    text = render_to_string("messaging/email/digest.txt", context)
    return PreparedEmail(
        subject=subject, html=_inliner().inline(page), text=_tidy_text(text), has_unsubscribe=True
    )


def _cadence_sentence(cadence: str) -> str:
    label = dict(Cadence.choices).get(Cadence(cadence)) if cadence in Cadence.values else None
    if label is None:
        return ""
    return _("You asked for a digest: %(how_often)s.") % {"how_often": str(label).lower()}


def _item_context(item: DigestItem, bodies: Mapping[int, tuple[str, str]]) -> dict[str, Any]:
    when = ""
    if item.at:
        when = date_format(timezone.localtime(datetime.fromisoformat(item.at)), "j F")
    body_html, body_text = bodies.get(item.message_id or 0, ("", ""))
    return {
        "title": item.title,
        "summary": item.summary,
        "url": settings.SITE_URL + item.url if item.url.startswith("/") else item.url,
        "source": item.source,
        "when": when,
        "body_html": body_html,
        "body_text": _indent(body_text.strip(), "  ") if body_text.strip() else "",
    }


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else "" for line in text.split("\n"))
