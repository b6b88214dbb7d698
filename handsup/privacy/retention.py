"""Retention that runs by itself: once a day (and by hand with `handsup retention`), the
rules below are applied as of a moment, and what they did is kept as a `RetentionRun`
whose report the data protection officer reads at /dpo/retention/. The report holds
counts and words, never anyone's name, address or id.

1. **Ex-members past their group's retention period.** Leaving a group leaves a
   `groups.Departure` with `retain_until` (the group's `retention_months` on from the
   day they left). That row *is* the group's hold: it is what the person's "Your data"
   page lists as "keeps your details until", and what makes a re-import of the group's
   list leave them out rather than add them back. A group sees no page of ex-members,
   so the hold also covers only one other thing, the group's `ImportedPerson` link
   (which lets its imports update an unclaimed account). Once `retain_until` has
   passed, both go. Someone that group imported who never claimed the account (never
   signed in, no password of their own) and whom nothing else holds (no membership,
   no other group's hold or import, no movement-wide import) is erased entirely with
   `do_erase_person`: an unclaimed account only ever existed for that group.
   Kept on purpose: the person's consent events (their own record of what they agreed,
   append-only, and no audience reaches a non-member), and contact grants (made per
   need, not per membership: they end by their own expiry, rule 3).

2. **Volunteers away for a long time.** Last activity is the latest of signing in, of
   confirming, and of joining (for someone who never signed in). Anyone not erased and
   not suspended whose last activity is older than `HANDSUP_INACTIVE_MONTHS` and who
   has no open question is asked (a `ReconfirmRequest`, and one service email to them
   all, linking to the "Keep my account" page). Signing in or pressing the button
   closes the question (`confirmed_at`); an open question past `anonymise_after`
   (`HANDSUP_RECONFIRM_DAYS` after asking) means erasure with `do_erase_person`.
   Erasure that is refused (the only admin of a group, say) is counted with its reason
   and tried again on the next run; so are those beyond `ERASURES_PER_RUN`.

3. **Expired contact grants are closed**: `revoked_at` is set to the moment the grant
   expired. Nothing could use an expired grant already (`answers.current_grants`);
   closing makes the end final, so the grant can't be renewed back to life.

4. **Old access-log rows are counted, then deleted.** Rows from before the first day of
   the month `HANDSUP_ACCESS_LOG_MONTHS` ago become reads per month, group and purpose
   in `AccessLogSummary` (added to any row already there), and the rows go.

Each rule's writes are one transaction; each erasure is its own (`do_erase_person`),
so one person's refusal or failure never undoes the rest. A dry run writes nothing but
its own `RetentionRun`, with what the rules would do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import Count, DateField, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from handsup.accounts.models import User
from handsup.core.schedule import periodic
from handsup.groups.actions import add_months
from handsup.groups.models import Departure, Membership, PersonSuspension
from handsup.imports.models import ImportedPerson
from handsup.messaging.actions import do_create_message, do_send_message
from handsup.messaging.models import Kind
from handsup.needs.models import ContactGrant
from handsup.privacy.audit import record_audit
from handsup.privacy.erasure import ErasureRefused, do_erase_person, erasure_plan
from handsup.privacy.models import (
    AccessLogEntry,
    AccessLogSummary,
    ReconfirmRequest,
    RetentionRun,
)

logger = logging.getLogger("handsup.retention")

# The longest any period may be set to: ten years.
MAX_MONTHS = 120
MAX_RECONFIRM_DAYS = 365
# Erasure goes one person at a time (a few a second on PostgreSQL): a run erases at
# most this many, so the daily run ends within the day; the rest wait for the next one.
ERASURES_PER_RUN = 2000


class RetentionSettingsError(Exception):
    """A retention setting is out of range; the message says which and what to set."""


@dataclass(frozen=True)
class RetentionSettings:
    inactive_months: int
    reconfirm_days: int
    access_log_months: int


def _check_months(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_MONTHS:
        raise RetentionSettingsError(
            _(
                "%(name)s is %(value)s: it must be a whole number of months from 1 to "
                "%(max)d. Nothing was changed."
            )
            % {"name": name, "value": value, "max": MAX_MONTHS}
        )
    return value


def check_retention_settings() -> RetentionSettings:
    """The configured periods, or `RetentionSettingsError` naming the one that is wrong."""
    inactive = _check_months(
        "HANDSUP_INACTIVE_MONTHS", getattr(settings, "HANDSUP_INACTIVE_MONTHS", 24)
    )
    access = _check_months(
        "HANDSUP_ACCESS_LOG_MONTHS", getattr(settings, "HANDSUP_ACCESS_LOG_MONTHS", 24)
    )
    days = getattr(settings, "HANDSUP_RECONFIRM_DAYS", 30)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_RECONFIRM_DAYS:
        raise RetentionSettingsError(
            _(
                "HANDSUP_RECONFIRM_DAYS is %(value)s: it must be a whole number of days from "
                "1 to %(max)d. Nothing was changed."
            )
            % {"value": days, "max": MAX_RECONFIRM_DAYS}
        )
    return RetentionSettings(
        inactive_months=inactive, reconfirm_days=days, access_log_months=access
    )


def months_before(moment: datetime, months: int) -> datetime:
    """The same local time `months` earlier (the month's last day if it is shorter)."""
    local = timezone.localtime(moment)
    day = add_months(local.date(), -months)
    return local.replace(year=day.year, month=day.month, day=day.day)


# --- The report -----------------------------------------------------------------------------


@dataclass
class RuleReport:
    """What one rule did (or would do): counts, and a sentence for each."""

    rule: str
    title: str
    counts: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def add(self, key: str, count: int, words: str, **values: Any) -> None:
        """Record `count`; `words` has %(n)d for it, and %(name)s for each of `values`."""
        self.counts[key] = count
        self.lines.append(words % {"n": count, **values})

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "counts": self.counts, "lines": self.lines}


def report_lines(run: RetentionRun) -> list[str]:
    """The report as plain text, for the command and the schedule's log."""
    report = run.report or {}
    mode = _("Dry run: nothing was changed.") if run.dry_run else _("Applied.")
    head = _("Retention as of %(as_of)s. %(mode)s") % {
        "as_of": timezone.localtime(run.as_of).strftime("%Y-%m-%d %H:%M"),
        "mode": mode,
    }
    lines = [head]
    periods = report.get("settings", {})
    if periods:
        lines.append(
            _(
                "Periods: away %(inactive)s months before we ask; %(days)s days to answer; "
                "access log kept %(access)s months."
            )
            % {
                "inactive": periods.get("inactive_months"),
                "days": periods.get("reconfirm_days"),
                "access": periods.get("access_log_months"),
            }
        )
    for rule in report.get("rules", []):
        lines.append("")
        lines.append(f"{rule['title']}:")
        lines.extend(f"  - {line}" for line in rule["lines"])
    return lines


# --- Rule 1: ex-members ---------------------------------------------------------------------


def _ended_departures(today: date) -> QuerySet[Departure]:
    return Departure.objects.filter(retain_until__lt=today)


def _unclaimed(users: QuerySet[User]) -> QuerySet[User]:
    """Accounts nobody has ever signed in to, with no password of their own."""
    return users.filter(last_login__isnull=True, password__startswith=UNUSABLE_PASSWORD_PREFIX)


def _only_held_by_ended(today: date) -> QuerySet[User]:
    """Unclaimed people imported by a group whose hold on them has ended, held by nothing
    else: whom rule 1 erases."""
    ended = _ended_departures(today)
    imported_by_ended_group = ImportedPerson.objects.filter(
        user_id=OuterRef("pk"),
        group_id__in=ended.filter(user_id=OuterRef(OuterRef("pk"))).values("group_id"),
    )
    held_elsewhere = ImportedPerson.objects.filter(user_id=OuterRef("pk")).exclude(
        group_id__in=ended.filter(user_id=OuterRef(OuterRef("pk"))).values("group_id")
    )
    return _unclaimed(
        User.objects.filter(erased_at__isnull=True)
        .filter(Exists(imported_by_ended_group))
        .exclude(Exists(held_elsewhere))
        .exclude(Exists(Membership.objects.filter(user_id=OuterRef("pk"))))
        .exclude(Exists(Departure.objects.filter(user_id=OuterRef("pk"), retain_until__gte=today)))
    )


def _ex_members(now: datetime, *, dry_run: bool) -> RuleReport:
    today = timezone.localdate(now)
    report = RuleReport("ex_members", _("Ex-members past their group's retention period"))
    ended = _ended_departures(today)
    links = ImportedPerson.objects.filter(
        Exists(ended.filter(user_id=OuterRef("user_id"), group_id=OuterRef("group_id")))
    )
    to_erase = list(_only_held_by_ended(today).order_by("pk"))
    if dry_run:
        departures, imported = ended.count(), links.count()
    else:
        with transaction.atomic():
            # The links first: they are found through the departures.
            imported = links.delete()[0]
            departures = ended.delete()[0]
    report.add(
        "departures_ended",
        departures,
        _("%(n)d ex-members' records ended: their group's retention period had passed."),
    )
    report.add(
        "import_links_removed",
        imported,
        _("%(n)d of them had been imported by that group: the group's link to them removed."),
    )
    erased, refused = _erase_each(to_erase, dry_run=dry_run)
    report.add(
        "unclaimed_erased",
        erased,
        _(
            "%(n)d people that group imported, who never claimed their account and belong "
            "to no other group, erased."
        ),
    )
    for reason, count in sorted(refused.items()):
        report.add(f"erasure_refused_{reason}", count, str(REFUSAL_WORDS[reason]))
    return report


def _erase_each(
    users: list[User], *, dry_run: bool, limit: int | None = None
) -> tuple[int, dict[str, int]]:
    """Erase each user in their own transaction, stopping after `limit` erasures (refusals
    don't count, so a few refused people can't hold up everyone after them): (how many
    were erased, refusals by reason)."""
    erased = 0
    refused: dict[str, int] = {}
    for user in users:
        if limit is not None and erased >= limit:
            break
        if dry_run:
            plan = erasure_plan(user)
            if plan.can_erase:
                erased += 1
            else:
                reason = _refusal_reason(plan.blockers[0].message)
                refused[reason] = refused.get(reason, 0) + 1
            continue
        try:
            do_erase_person(user=user, actor=None)
        except ErasureRefused as error:
            reason = _refusal_reason(str(error))
            refused[reason] = refused.get(reason, 0) + 1
        else:
            erased += 1
    return erased, refused


def _refusal_reason(message: str) -> str:
    """A refusal's reason without the group's name, so the report names nothing."""
    if "only admin" in message:
        return "sole_admin"
    if "already been deleted" in message:
        return "already_erased"
    return "other"


REFUSAL_WORDS = {
    "sole_admin": gettext_lazy(
        "%(n)d not erased: the only admin of a group (someone else must be made admin, or "
        "the group archived); tried again on the next run."
    ),
    "already_erased": gettext_lazy("%(n)d not erased: already erased."),
    "other": gettext_lazy("%(n)d not erased for another reason; tried again on the next run."),
}


# --- Rule 2: volunteers away for a long time ------------------------------------------------


def _open_requests() -> QuerySet[ReconfirmRequest]:
    return ReconfirmRequest.objects.filter(confirmed_at__isnull=True)


def _away_since(cutoff: datetime) -> QuerySet[User]:
    """People whose last activity is before `cutoff` and who have no open question."""
    return (
        User.objects.filter(erased_at__isnull=True)
        .annotate(last_active=Coalesce("last_login", "date_joined"))
        .filter(last_active__lt=cutoff)
        .exclude(
            Exists(
                ReconfirmRequest.objects.filter(user_id=OuterRef("pk"), confirmed_at__gte=cutoff)
            )
        )
        .exclude(Exists(_open_requests().filter(user_id=OuterRef("pk"))))
        .exclude(
            Exists(PersonSuspension.objects.filter(user_id=OuterRef("pk"), lifted_at__isnull=True))
        )
    )


def _inactive_volunteers(now: datetime, periods: RetentionSettings, *, dry_run: bool) -> RuleReport:
    report = RuleReport(
        "inactive_volunteers",
        _("Volunteers away for more than %(n)d months") % {"n": periods.inactive_months},
    )
    # Signed in since being asked: the question is answered (the sign-in signal does this
    # as it happens; this catches a sign-in it missed).
    signed_in = _open_requests().filter(user__last_login__gt=F("asked_at"))
    due = (
        _open_requests()
        .filter(anonymise_after__lte=now, user__erased_at__isnull=True)
        .exclude(user__last_login__gt=F("asked_at"))
    )
    if dry_run:
        kept = signed_in.count()
    else:
        with transaction.atomic():
            kept = signed_in.update(
                confirmed_at=Subquery(
                    User.objects.filter(pk=OuterRef("user_id")).values("last_login")[:1]
                )
            )
    report.add("kept_by_signing_in", kept, _("%(n)d signed in after being asked: kept."))

    due_users = list(User.objects.filter(pk__in=due.values("user_id")).order_by("pk"))
    erased, refused = _erase_each(due_users, dry_run=dry_run, limit=ERASURES_PER_RUN)
    waiting_for_next_run = len(due_users) - erased - sum(refused.values())
    report.add(
        "erased",
        erased,
        _("%(n)d did not sign in or confirm within %(days)d days of being asked: erased."),
        days=periods.reconfirm_days,
    )
    for reason, count in sorted(refused.items()):
        report.add(f"erasure_refused_{reason}", count, str(REFUSAL_WORDS[reason]))
    if waiting_for_next_run:
        report.add(
            "erasure_deferred",
            waiting_for_next_run,
            _("%(n)d more are due: left for the next run (at most %(cap)d a run)."),
            cap=ERASURES_PER_RUN,
        )

    cutoff = months_before(now, periods.inactive_months)
    away = _away_since(cutoff)
    if dry_run:
        asked = away.count()
    else:
        asked = _ask_to_reconfirm(away, now, periods)
    report.add(
        "asked",
        asked,
        _(
            "%(n)d had not signed in for %(months)d months: asked whether to keep their "
            "account, and erased after %(days)d days unless they sign in or confirm."
        ),
        months=periods.inactive_months,
        days=periods.reconfirm_days,
    )
    report.add(
        "waiting",
        _open_requests().filter(anonymise_after__gt=now).count() - (0 if dry_run else asked),
        _("%(n)d asked on an earlier run have not answered yet."),
    )
    return report


@transaction.atomic
def _ask_to_reconfirm(away: QuerySet[User], now: datetime, periods: RetentionSettings) -> int:
    anonymise_after = now + timedelta(days=periods.reconfirm_days)
    created = ReconfirmRequest.objects.bulk_create(
        ReconfirmRequest(user_id=user_id, asked_at=now, anonymise_after=anonymise_after)
        for user_id in away.values_list("pk", flat=True).iterator(chunk_size=2000)
    )
    if created:
        audience = User.objects.filter(
            Exists(_open_requests().filter(user_id=OuterRef("pk"), asked_at=now))
        ).values("pk")
        _send_reconfirm_email(audience, anonymise_after, now)
    return len(created)


def keep_account_url() -> str:
    """The "Keep my account" page (signing in on the way there keeps the account too)."""
    return settings.SITE_URL + reverse("privacy:keep_account")


def _send_reconfirm_email(audience: QuerySet[Any, Any], until: datetime, now: datetime) -> None:
    """One service message to everyone asked in this run: it is about their account, so
    it is sent whatever their email settings."""
    message = do_create_message(
        author=None,
        kind=Kind.SERVICE,
        group=None,
        subject=_("Do you want to keep your Hands Up account?"),
        body_markdown=_(
            "You haven't signed in to Hands Up for a long time. We don't keep people's "
            "details for longer than we need them, so unless you tell us you want to stay, "
            "we will delete your account and everything in it after %(until)s.\n\n"
            "To keep it, [sign in and press “Keep my account”](%(url)s). Signing in at any "
            "time before then keeps it too.\n\n"
            "If you don't want to stay, you don't need to do anything."
        )
        % {"until": timezone.localtime(until).strftime("%-d %B %Y"), "url": keep_account_url()},
        audience_description=_("People asked whether to keep their account"),
    )
    do_send_message(actor=None, message=message, audience=audience, now=now)


@transaction.atomic
def do_keep_account(*, user: User, now: datetime | None = None) -> int:
    """The person wants to stay: every open question to them is answered. How many."""
    now = now or timezone.now()
    answered = ReconfirmRequest.objects.filter(user=user, confirmed_at__isnull=True).update(
        confirmed_at=now
    )
    if answered:
        record_audit(actor=user, action="privacy.account_kept", details={"requests": answered})
    return answered


@receiver(user_logged_in, dispatch_uid="privacy.retention.sign_in_keeps_account")
def _signing_in_keeps_the_account(sender: Any, user: Any, **kwargs: Any) -> None:
    """Signing in answers "do you want to keep your account?" with yes."""
    if isinstance(user, User):
        ReconfirmRequest.objects.filter(user=user, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )


# --- Rule 3: expired contact grants ---------------------------------------------------------


def _expired_grants(now: datetime, *, dry_run: bool) -> RuleReport:
    report = RuleReport("expired_grants", _("Contact details shared for a need"))
    expired = ContactGrant.objects.filter(revoked_at__isnull=True, expires_at__lte=now)
    if dry_run:
        closed = expired.count()
    else:
        with transaction.atomic():
            closed = expired.update(revoked_at=F("expires_at"))
    report.add(
        "closed",
        closed,
        _("%(n)d grants had expired: closed, so they can't be renewed back to life."),
    )
    return report


# --- Rule 4: the access log -----------------------------------------------------------------


def access_log_cutoff(now: datetime, months: int) -> datetime:
    """The first moment of the month `months` before `now`'s: rows before it go, so a
    month is always counted whole."""
    earlier = months_before(now, months)
    return earlier.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _month_of(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date().replace(day=1)
    return value.replace(day=1)


def _access_log(now: datetime, periods: RetentionSettings, *, dry_run: bool) -> RuleReport:
    report = RuleReport(
        "access_log",
        _("Access log older than %(n)d months") % {"n": periods.access_log_months},
    )
    cutoff = access_log_cutoff(now, periods.access_log_months)
    old = AccessLogEntry.objects.filter(at__lt=cutoff)
    if dry_run:
        counted = old.count()
        months = old.annotate(month=TruncMonth("at", output_field=DateField())).values(
            "month", "group_id", "purpose"
        )
        summaries = months.distinct().count()
    else:
        counted, summaries = _summarise_access_log(old)
    report.add(
        "rows_summarised",
        counted,
        _(
            "%(n)d reads from before %(cutoff)s counted per group, purpose and month, and "
            "the rows naming who read whose details deleted."
        ),
        cutoff=cutoff.strftime("%-d %B %Y"),
    )
    report.add("summaries", summaries, _("%(n)d monthly totals written or added to."))
    return report


@transaction.atomic
def _summarise_access_log(old: QuerySet[AccessLogEntry]) -> tuple[int, int]:
    totals: dict[tuple[date, int | None, str], int] = {}
    per_month = (
        old.annotate(month=TruncMonth("at", output_field=DateField()))
        .values("month", "group_id", "purpose")
        .annotate(reads=Count("pk"))
        .order_by()
    )
    for row in per_month:
        found = (_month_of(row["month"]), row["group_id"], row["purpose"])
        totals[found] = totals.get(found, 0) + row["reads"]
    if not totals:
        return 0, 0
    months = {key[0] for key in totals}
    existing: dict[tuple[date, int | None, str], AccessLogSummary] = {
        (summary.month, summary.group_id, summary.purpose): summary
        for summary in AccessLogSummary.objects.select_for_update().filter(month__in=months)
    }
    changed, new = [], []
    for key, reads in totals.items():
        if key in existing:
            summary = existing[key]
            summary.reads += reads
            changed.append(summary)
        else:
            month, group_id, purpose = key
            new.append(
                AccessLogSummary(month=month, group_id=group_id, purpose=purpose, reads=reads)
            )
    AccessLogSummary.objects.bulk_update(changed, ["reads"])
    AccessLogSummary.objects.bulk_create(new)
    deleted = old.delete()[0]
    return deleted, len(totals)


# --- Running it -----------------------------------------------------------------------------


def run_retention(*, now: datetime | None = None, dry_run: bool = False) -> RetentionRun:
    """Apply every rule as of `now` (or, with `dry_run`, only work out what they would
    do) and keep the report. Raises `RetentionSettingsError`, changing nothing, when a
    period is set out of range."""
    periods = check_retention_settings()
    now = now or timezone.now()
    run = RetentionRun.objects.create(as_of=now, dry_run=dry_run, report={})
    rules = [
        _ex_members(now, dry_run=dry_run),
        _inactive_volunteers(now, periods, dry_run=dry_run),
        _expired_grants(now, dry_run=dry_run),
        _access_log(now, periods, dry_run=dry_run),
    ]
    run.report = {
        "settings": {
            "inactive_months": periods.inactive_months,
            "reconfirm_days": periods.reconfirm_days,
            "access_log_months": periods.access_log_months,
        },
        "rules": [rule.as_json() for rule in rules],
    }
    run.finished_at = timezone.now()
    run.save(update_fields=["report", "finished_at"])
    if not dry_run:
        record_audit(
            actor=None,
            action="privacy.retention_run",
            obj=run,
            details={rule.rule: rule.counts for rule in rules},
        )
    return run


@periodic(every=timedelta(days=1))
def run_daily_retention() -> str:
    """The schedule's daily run; its report is read at /dpo/retention/."""
    try:
        run = run_retention()
    except RetentionSettingsError as error:
        logger.error("Retention did not run: %s", error)
        return f"not run: {error}"[:200]
    return f"retention run {run.pk} done"
