"""Benchmark Q1 (QUALITY.md): pacing + ledger + outbox for one group update to N people.

`bench_messaging(N)` builds its own throwaway movement set-based (COPY on PostgreSQL,
`executemany` on SQLite): a group of N members with profiles (5% in New York, so held
for quiet hours at the benchmark's moment), `group_email` consent for 95%, 1% who
unsubscribed, 0.2% who blocked the group, and a ledger that already holds a group update
from another group to everyone two days ago, plus one from this group to 10% three days
ago (whom the group's weekly policy then folds). It times, on the configured database:

* ours: `do_send_message` to all N members — the decision for everyone, the ledger rows,
  the outbox rows, the message's counts and the audit row, committed;
* the writes alone: ours' ledger and outbox rows written again from a table that
  already holds the decisions, rolled back — what is left when nothing is decided;
* the baseline: the obvious per-row loop (a query per check and per budget window, a
  `.save()` per ledger and outbox row) on `baseline_recipients` of them (5,000 unless
  told), rolled back afterwards, its time scaled to N and labelled so.

Everything it made is deleted at the end, set-based. `handsup bench messaging
--recipients N [--baseline-recipients M] [--json]` runs it (`messaging_report`).
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import Q

from handsup.accounts.models import User
from handsup.core.benchmarks import machine, step, tidy_tables
from handsup.core.seeding import bulk_insert, bulk_loading, reserve_ids
from handsup.groups.models import Group, GroupBlock, Membership
from handsup.messaging.actions import do_send_message
from handsup.messaging.bench_delivery import (
    DEFAULT_MESSAGES,
    TARGET_PER_S,
    TARGET_WORKERS,
    bench_delivery,
)
from handsup.messaging.models import (
    ContactLimits,
    Decision,
    Kind,
    LedgerEntry,
    Message,
    OutboxItem,
    Reason,
    Unsubscribe,
)
from handsup.messaging.pacing import (
    insert_decided,
    quiet_release,
    rules_for,
    tuned_for_a_large_batch,
)
from handsup.people.models import Person, Profile
from handsup.privacy.consent import has_consent
from handsup.privacy.models import AuditEntry, ConsentEvent, PrivacyNotice, Purpose
from handsup.privacy.register import PurposeCode

BENCH_DOMAIN = "msgbench.handsup.invalid"
BENCH_SLUG = "q1-bench-group"
OTHER_SLUG = "q1-bench-other"
# Noon in London (BST): nobody at home is in quiet hours, New York (07:00) is.
BENCH_NOW = datetime(2026, 6, 10, 11, 0, tzinfo=UTC)
TARGET_SECONDS = {"postgresql": 5.0, "sqlite": 3.0}
DEFAULT_BASELINE_RECIPIENTS = 5_000


@dataclass
class _World:
    group: Group
    other: Group
    users: int


def bench_messaging(
    recipients: int,
    *,
    using: str = DEFAULT_DB_ALIAS,
    baseline_recipients: int = DEFAULT_BASELINE_RECIPIENTS,
) -> list[dict[str, Any]]:
    """Time Q1 for one update to `recipients` people: ours and the per-row baseline.

    Returns one result dict per path in the QUALITY.md JSON format (`name`, `baseline`,
    `database`, `recipients`, `seconds`, `per_s`, plus what each path adds).
    """
    if recipients < 1:
        raise ValueError("The benchmark needs at least one recipient.")
    connection = connections[using]
    vendor = connection.vendor
    step("Q1: removing any earlier run's people")
    _remove_bench_data(using)
    try:
        step(f"Q1: making a group of {recipients:,} people, with a week of mail behind them")
        started = clock.perf_counter()
        world = _build_world(recipients, using)
        built = clock.perf_counter() - started
        measured = min(baseline_recipients, recipients)
        step(f"Q1: timing the per-row baseline on {measured:,} of them")
        baseline_seconds, baseline_counts = _run_baseline(world, measured, using)
        step("Q1: timing ours")
        ours_seconds, ours_counts, sent = _run_ours(world, using)
        step("Q1: timing the writes alone")
        writes_seconds, writes_rows = _run_writes_alone(world, sent, using)
    finally:
        step("Q1: removing the benchmark's people")
        _remove_bench_data(using)
    scaled = baseline_seconds * recipients / measured
    return [
        {
            "name": "pacing + ledger + outbox, set-based (ours)",
            "baseline": False,
            "database": vendor,
            "recipients": recipients,
            "seconds": round(ours_seconds, 3),
            "per_s": round(recipients / ours_seconds, 1),
            "target_seconds": TARGET_SECONDS.get(vendor),
            "decisions": ours_counts,
            "setup_seconds": round(built, 3),
        },
        {
            "name": "writes alone: ours' ledger and outbox rows, already decided",
            "baseline": False,
            "floor": True,
            "database": vendor,
            "recipients": recipients,
            "seconds": round(writes_seconds, 3),
            "per_s": round(recipients / writes_seconds, 1),
            "rows_written": writes_rows,
        },
        {
            "name": (
                f"per-row loop (measured on {measured} recipients, scaled to {recipients})"
                if measured < recipients
                else "per-row loop"
            ),
            "baseline": True,
            "database": vendor,
            "recipients": recipients,
            "seconds": round(scaled, 3),
            "per_s": round(measured / baseline_seconds, 1),
            "measured_recipients": measured,
            "measured_seconds": round(baseline_seconds, 3),
            "scaled": measured < recipients,
            "decisions": baseline_counts,
        },
    ]


def messaging_report(
    recipients: int,
    baseline_recipients: int | None = None,
    *,
    delivery_recipients: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> dict[str, Any]:
    """`handsup bench messaging`: the results with the machine, in the QUALITY.md shape.

    Q1 first (ours, the baseline), then Q2, delivery to a local SMTP server
    (`bench_delivery`: ours on one worker, and two on PostgreSQL; the normal path for
    reference; Django's `send_mass_mail` as the baseline) for `delivery_recipients`
    people (default: `recipients`, at most 20,000; 0 leaves it out). Each result also
    carries `rows` (= `recipients`), the size column the command's table prints for every
    benchmark.
    """
    measured = baseline_recipients or min(recipients, DEFAULT_BASELINE_RECIPIENTS)
    results = bench_messaging(recipients, using=using, baseline_recipients=measured)
    vendor = connections[using].vendor
    target = TARGET_SECONDS.get(vendor)
    notes = []
    if target is not None:
        notes.append(
            f"Target (Q1): ≤ {target:g} s on {vendor} for 500,000 recipients; "
            f"ours took {results[0]['seconds']:.2f} s for {recipients:,}."
        )
    floor = next(r for r in results if r.get("floor"))
    notes.append(
        f"Writing alone (ours' {floor['rows_written']:,} ledger and outbox rows, already "
        f"decided, with the same statements) took {floor['seconds']:.2f} s of ours' "
        f"{results[0]['seconds']:.2f} s; the rest is deciding and committing."
    )
    results = [{**result, "rows": result["recipients"]} for result in results]
    if delivery_recipients is None:
        delivery_recipients = min(recipients, DEFAULT_MESSAGES)
    if delivery_recipients > 0:
        step(f"Q2: delivering {delivery_recipients:,} messages to a local SMTP server")
        delivery = bench_delivery(delivery_recipients, using=using)
        results += delivery
        ours = [r for r in delivery if r.get("target_per_s")]
        baseline = next(r for r in delivery if r["baseline"])
        best = max(ours, key=lambda r: r["per_s"]) if ours else None
        if best is not None:
            notes.append(
                f"Target (Q2): ≥ {TARGET_PER_S[vendor]:,.0f} messages/s on {vendor} with at "
                f"most {TARGET_WORKERS[vendor]} worker(s); ours {best['per_s']:,.0f}/s with "
                f"{best['workers']}, Django's send_mass_mail {baseline['per_s']:,.0f}/s "
                f"({delivery_recipients:,} messages)."
            )
        ceiling = [r for r in delivery if r.get("ceiling")]
        if ceiling:
            top = max(ceiling, key=lambda r: r["per_s"])
            notes.append(
                f"The SMTP server's ceiling here: {top['per_s']:,.0f} messages/s at best, "
                f"from {top['clients']} bare client(s) sending one pre-built message "
                f"({top['server_cpu_ms_per_message']} ms of the server's CPU a message)."
            )
    return {
        "benchmark": "messaging",
        "figure": "Q1",
        "figures": ["Q1", "Q2"] if delivery_recipients > 0 else ["Q1"],
        "results": results,
        "machine": machine(using),
        "notes": notes,
    }


# --- The data --------------------------------------------------------------------------


def _build_world(recipients: int, using: str) -> _World:
    connection = connections[using]
    stamp = connection.ops.adapt_datetimefield_value
    with transaction.atomic(using=using), bulk_loading(using):
        group = Group.objects.using(using).create(
            name="Q1 benchmark group",
            slug=BENCH_SLUG,
            kind=Group.Kind.BRANCH,
            updates_per_week_normal=1,
            updates_per_week_campaign=1,
        )
        other = Group.objects.using(using).create(
            name="Q1 benchmark neighbour", slug=OTHER_SLUG, kind=Group.Kind.BRANCH
        )
        ContactLimits.objects.using(using).get_or_create(pk=1)
        user_ids = reserve_ids(User, recipients, using=using).tolist()
        person_ids = reserve_ids(Person, recipients, using=using).tolist()
        joined = stamp(BENCH_NOW - timedelta(days=400))

        bulk_insert(
            User,
            [
                "id",
                "password",
                "is_superuser",
                "public_id",
                "email",
                "full_name",
                "is_active",
                "is_staff",
                "date_joined",
            ],
            (
                (
                    uid,
                    "!",
                    False,
                    f"q1b{uid:013d}",
                    f"v{uid}@{BENCH_DOMAIN}",
                    "",
                    True,
                    False,
                    joined,
                )
                for uid in user_ids
            ),
            using=using,
        )
        bulk_insert(
            Person,
            [
                "id",
                "public_id",
                "user",
                "display_name",
                "email",
                "postcode",
                "district",
                "created_at",
                "verified",
                "seeded",
            ],
            (
                (pid, f"q1p{pid:013d}", uid, "Bench volunteer", "", "", "", joined, True, False)
                for pid, uid in zip(person_ids, user_ids, strict=True)
            ),
            using=using,
        )
        quiet_from = connection.ops.adapt_timefield_value(time(21, 0))
        quiet_until = connection.ops.adapt_timefield_value(time(8, 0))
        bulk_insert(
            Profile,
            [
                "person",
                "availability",
                "hours_normal",
                "hours_campaign",
                "travel_radius_km",
                "talents",
                "languages",
                "accessibility_needs",
                "phone",
                "postal_address",
                "contact_by_email",
                "contact_by_phone",
                "contact_by_post",
                "asks_per_week_normal",
                "asks_per_week_campaign",
                "digest_cadence",
                "quiet_from",
                "quiet_until",
                "time_zone",
                "updated_at",
            ],
            (
                (
                    pid,
                    0,
                    2,
                    4,
                    10,
                    "",
                    "[]",
                    "",
                    "",
                    "",
                    True,
                    False,
                    False,
                    1,
                    3,
                    "weekly",
                    quiet_from,
                    quiet_until,
                    "America/New_York" if index % 20 == 7 else "Europe/London",
                    joined,
                )
                for index, pid in enumerate(person_ids)
            ),
            using=using,
        )
        bulk_insert(
            Membership,
            ["public_id", "user", "group", "role", "joined_at"],
            ((f"q1m{uid:013d}", uid, group.pk, "member", joined) for uid in user_ids),
            using=using,
        )
        purpose = Purpose.objects.using(using).get(code=PurposeCode.GROUP_EMAIL)
        notice = PrivacyNotice.objects.using(using).order_by("-version").first()
        if notice is None:
            raise RuntimeError("No privacy notice: run `handsup migrate` first.")
        bulk_insert(
            ConsentEvent,
            [
                "user",
                "purpose",
                "group",
                "channel",
                "given",
                "at",
                "source",
                "notice_version",
                "wording",
            ],
            (
                (uid, purpose.pk, group.pk, "", True, joined, "import", notice.pk, purpose.text)
                for index, uid in enumerate(user_ids)
                if index % 20 != 3  # 5% never agreed
            ),
            using=using,
        )
        bulk_insert(
            Unsubscribe,
            ["user", "scope", "kind", "created_at"],
            ((uid, "everything", "", joined) for uid in user_ids[11::100]),
            using=using,
        )
        bulk_insert(
            GroupBlock,
            ["user", "group", "created_at"],
            ((uid, group.pk, joined) for uid in user_ids[13::500]),
            using=using,
        )
        # Earlier updates, so budgets are counted from a ledger that has rows to count.
        for source, ago, users in (
            (other, timedelta(days=2), user_ids),
            (group, timedelta(days=3), user_ids[::10]),
        ):
            earlier = Message.objects.using(using).create(
                kind=Kind.GROUP_UPDATE,
                group=source,
                subject="Earlier update",
                created_at=BENCH_NOW - ago,
                sent_at=BENCH_NOW - ago,
            )
            decided = stamp(BENCH_NOW - ago)
            bulk_insert(
                LedgerEntry,
                ["user", "message", "kind", "group", "at", "decision", "reason"],
                (
                    (
                        uid,
                        earlier.pk,
                        Kind.GROUP_UPDATE,
                        source.pk,
                        decided,
                        "sent",
                        "within_budget",
                    )
                    for uid in users
                ),
                using=using,
            )
    if connection.vendor == "postgresql":
        # VACUUM too when we may (not inside a test's transaction): it sets the hint bits
        # of the rows just loaded, which the timed send would otherwise set, dirtying and
        # writing every page it reads, as no long-lived table does.
        tidy_tables(
            (User, Person, Profile, Membership, ConsentEvent, LedgerEntry),
            vacuum=not connection.in_atomic_block,
            using=using,
        )
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return _World(group=group, other=other, users=recipients)


def _remove_bench_data(using: str) -> None:
    """Delete every row the benchmark made, set-based, children first."""
    groups = list(
        Group.objects.using(using)
        .filter(slug__in=(BENCH_SLUG, OTHER_SLUG))
        .values_list("pk", flat=True)
    )
    users = User.objects.using(using).filter(email__endswith=f"@{BENCH_DOMAIN}").values("pk")
    messages = Message.objects.using(using).filter(group_id__in=groups).values("pk")
    with transaction.atomic(using=using):
        # Raw deletes: Django's cascade would fetch every row into Python first.
        steps: list[tuple[type[models.Model], models.QuerySet[Any, Any]]] = [
            (OutboxItem, OutboxItem.objects.filter(message_id__in=messages)),
            (LedgerEntry, LedgerEntry.objects.filter(message_id__in=messages)),
            (LedgerEntry, LedgerEntry.objects.filter(user_id__in=users)),
            (OutboxItem, OutboxItem.objects.filter(user_id__in=users)),
            (AuditEntry, AuditEntry.objects.filter(group_id__in=groups)),
            (Message, Message.objects.filter(group_id__in=groups)),
            (Unsubscribe, Unsubscribe.objects.filter(user_id__in=users)),
            (GroupBlock, GroupBlock.objects.filter(group_id__in=groups)),
            (ConsentEvent, ConsentEvent.objects.filter(group_id__in=groups)),
            (Membership, Membership.objects.filter(group_id__in=groups)),
            (Profile, Profile.objects.filter(person__user_id__in=users)),
            (Person, Person.objects.filter(user_id__in=users)),
            (User, User.objects.filter(email__endswith=f"@{BENCH_DOMAIN}")),
            (Group, Group.objects.filter(pk__in=groups)),
        ]
        for _model, queryset in steps:
            queryset.using(using)._raw_delete(using)


# --- Ours ------------------------------------------------------------------------------


def _run_ours(world: _World, using: str) -> tuple[float, dict[str, int], Message]:
    message = Message.objects.using(using).create(
        kind=Kind.GROUP_UPDATE, group=world.group, subject="Q1: canvassing on Saturday"
    )
    audience = Membership.objects.using(using).filter(group=world.group).values("user_id")
    started = clock.perf_counter()
    counts = do_send_message(
        actor=None, message=message, audience=audience, now=BENCH_NOW, using=using
    )
    seconds = clock.perf_counter() - started
    if counts.recipients != world.users:
        raise RuntimeError(f"Paced {counts.recipients} of {world.users} recipients.")
    return seconds, counts.as_json(), message


def _run_writes_alone(world: _World, sent: Message, using: str) -> tuple[float, int]:
    """Time only the writing: ours' ledger and outbox rows again, for another message,
    from a table that already holds every decision and address (made first, untimed).

    Any pacing that keeps a ledger row per person and an outbox row per recipient has at
    least this to write, with `pace`'s own statements (`insert_decided`) and settings; the rest of
    ours is deciding (and committing). Rolled back. Returns (seconds, rows written).
    """
    connection = connections[using]
    postgresql = connection.vendor == "postgresql"
    decided = "bench_q1_decided"
    seconds, written = 0.0, 0
    try:
        with transaction.atomic(using=using), tuned_for_a_large_batch(connection):
            again = Message.objects.using(using).create(
                kind=Kind.GROUP_UPDATE, group=world.group, subject="Q1: writes alone"
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE {decided} AS SELECT l.user_id, l.decision, l.reason, "  # noqa: S608
                    f"l.release_at, u.email AS address FROM {LedgerEntry._meta.db_table} l "
                    f"JOIN {User._meta.db_table} u ON u.id = l.user_id WHERE l.message_id = %s",
                    [sent.pk],
                )
                if postgresql:
                    cursor.execute(f"ANALYZE {decided}")
                at = connection.ops.adapt_datetimefield_value(BENCH_NOW)
                started = clock.perf_counter()
                written = insert_decided(
                    cursor,
                    decided,
                    [again.pk, Kind.GROUP_UPDATE, world.group.pk, at],
                    [again.pk, OutboxItem.Status.QUEUED, at],
                    postgresql=postgresql,
                )
                seconds = clock.perf_counter() - started
            raise _Rollback  # the table and the rows go with it
    except _Rollback:
        pass
    return seconds, written


# --- The baseline: the obvious per-row loop --------------------------------------------


class _Rollback(Exception):
    pass


def _run_baseline(world: _World, measured: int, using: str) -> tuple[float, dict[str, int]]:
    """Decide person by person through the ORM, as code without a set-based path would.

    Given every advantage it fairly can: one transaction, the message's rules worked out
    once, the same checks in the same order; only the per-person work is per person.
    """
    message = Message.objects.using(using).create(
        kind=Kind.GROUP_UPDATE, group=world.group, subject="Q1 baseline"
    )
    counts: dict[str, int] = {}
    seconds = 0.0
    try:
        with transaction.atomic(using=using):
            started = clock.perf_counter()
            for decision, reason in _baseline_loop(world, message, measured, using):
                key = f"{decision}:{reason}"
                counts[key] = counts.get(key, 0) + 1
            seconds = clock.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    Message.objects.using(using).filter(pk=message.pk).delete()
    return seconds, dict(sorted(counts.items()))


def _baseline_loop(
    world: _World, message: Message, measured: int, using: str
) -> Iterator[tuple[str, str]]:
    now = BENCH_NOW
    rules = rules_for(message, now=now, using=using)
    group = world.group
    members = (
        Membership.objects.using(using)
        .filter(group=group)
        .select_related("user")
        .order_by("pk")[:measured]
    )
    for membership in members:
        user = membership.user
        profile = Profile.objects.using(using).filter(person__user=user).first()
        release = None
        if not user.email or not user.is_active:
            decision, reason = Decision.SUPPRESSED, Reason.NO_ADDRESS
        elif (
            Unsubscribe.objects.using(using)
            .filter(user=user)
            .filter(Q(scope="everything") | Q(kind=message.kind) | Q(scope="group", group=group))
            .exists()
        ):
            decision, reason = Decision.SUPPRESSED, Reason.UNSUBSCRIBED
        elif GroupBlock.objects.using(using).filter(user=user, group=group).exists():
            decision, reason = Decision.SUPPRESSED, Reason.BLOCKED
        elif not has_consent(user, PurposeCode.GROUP_EMAIL, group=group):
            decision, reason = Decision.SUPPRESSED, Reason.NO_CONSENT
        elif profile is not None and not profile.contact_by_email:
            decision, reason = Decision.SUPPRESSED, Reason.EMAIL_OFF
        else:
            counted = LedgerEntry.objects.using(using).filter(
                user=user, kind=message.kind, decision__in=("sent", "held"), at__lte=now
            )
            day = counted.filter(at__gt=now - timedelta(days=1)).count()
            week = counted.filter(at__gt=now - timedelta(days=7)).count()
            from_group = counted.filter(group=group, at__gt=now - timedelta(days=7)).count()
            if rules.per_day is not None and day >= rules.per_day:
                decision, reason = Decision.FOLDED, Reason.OVER_BUDGET_DAY
            elif rules.per_week is not None and week >= rules.per_week:
                decision, reason = Decision.FOLDED, Reason.OVER_BUDGET_WEEK
            elif rules.group_per_week is not None and from_group >= rules.group_per_week:
                decision, reason = Decision.FOLDED, Reason.OVER_GROUP_POLICY
            else:
                release = quiet_release(
                    now,
                    profile.time_zone if profile else "Europe/London",
                    profile.quiet_from if profile else time(21),
                    profile.quiet_until if profile else time(8),
                )
                if release is not None:
                    decision, reason = Decision.HELD, Reason.QUIET_HOURS
                else:
                    decision, reason = Decision.SENT, Reason.WITHIN_BUDGET
        LedgerEntry(
            user=user,
            message=message,
            kind=message.kind,
            group=group,
            at=now,
            decision=decision,
            reason=reason,
            release_at=release,
        ).save(using=using)
        if decision in (Decision.SENT, Decision.HELD):
            OutboxItem(message=message, user=user, address=user.email, due_at=release or now).save(
                using=using
            )
        yield decision, reason
