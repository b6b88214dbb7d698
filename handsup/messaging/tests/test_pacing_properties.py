"""R3: for any sequence of messages, no budget or quiet hours are exceeded, nothing is lost.

Hypothesis draws a small movement (a tree of groups with their policies, the movement's
limits, people in several time zones with their own limits, quiet hours, consents,
unsubscribes and blocks, campaign periods movement-wide or for part of the tree) and a
sequence of messages of every kind, from any group, at times around the DST changes of
both hemispheres. Every message goes through `do_send_message`; then the whole ledger
and outbox are checked against a plain re-statement of the rules written here, row by
row, and against the invariants themselves:

* each person in each audience has exactly one ledger row, with a reason that fits the
  decision; an outbox row exists exactly for those sent or held, due when they are;
* no person ever has more budgeted rows of a kind in a rolling day or week than the
  limits that applied (the ceiling holds), and nothing was folded or refused that was
  within them (no message is lost to a wrong count);
* nothing but service mail is sent in the person's quiet hours, and every hold ends at
  the first moment out of them.

`HANDSUP_HYPOTHESIS_EXAMPLES` sets the number of examples (default 60, for CI).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handsup.accounts.models import User
from handsup.groups.models import Group, GroupBlock, Membership, MovementLimits
from handsup.messaging.actions import do_create_message, do_send_message, do_unsubscribe
from handsup.messaging.models import (
    CampaignPeriod,
    ContactLimits,
    Decision,
    Kind,
    LedgerEntry,
    OutboxItem,
    Reason,
)
from handsup.messaging.pacing import DIGEST_INTERVAL_DAYS
from handsup.people.models import Person, Profile
from handsup.privacy.consent import do_record_consent

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("HANDSUP_HYPOTHESIS_EXAMPLES", "60"))
ZONES = ("Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC")
# Just before the clocks change: London and New York in spring and autumn, Sydney in April.
STARTS = (
    datetime(2026, 3, 27, 12, tzinfo=UTC),
    datetime(2026, 10, 23, 12, tzinfo=UTC),
    datetime(2026, 3, 6, 12, tzinfo=UTC),
    datetime(2026, 4, 3, 0, tzinfo=UTC),
    datetime(2026, 6, 10, 0, tzinfo=UTC),
)
GROUPS = ("national", "region", "branch_a", "branch_b", "other")
PARENT = {"region": "national", "branch_a": "region", "branch_b": "region"}
KINDS = (
    Kind.GROUP_UPDATE,
    Kind.GROUP_UPDATE,
    Kind.ASK,
    Kind.MOVEMENT_NEWS,
    Kind.DIGEST,
    Kind.SERVICE,
)


@dataclass
class PersonSpec:
    tz: str
    quiet_from: time
    quiet_until: time
    asks_normal: int
    asks_campaign: int
    cadence: str
    by_email: bool
    has_profile: bool
    groups: frozenset[str]
    consents: frozenset[str]
    unsubscribe: tuple[str, str] | None  # (scope, group key or kind)
    blocks: frozenset[str]


@dataclass
class MessageSpec:
    kind: str
    group: str
    gap_minutes: int
    everyone: bool


quarter_hours = st.builds(time, st.integers(0, 23), st.sampled_from([0, 30]))


@st.composite
def people(draw: st.DrawFn) -> PersonSpec:
    quiet_from = draw(quarter_hours)
    # Any other half hour of the day (the two may not be equal).
    shift = draw(st.integers(1, 47)) * 30
    minutes = (quiet_from.hour * 60 + quiet_from.minute + shift) % 1440
    quiet_until = time(minutes // 60, minutes % 60)
    groups = draw(st.frozensets(st.sampled_from(GROUPS), max_size=3))
    normal = draw(st.integers(0, 4))
    unsubscribe = draw(
        st.one_of(
            st.none(),
            st.none(),
            st.none(),
            st.tuples(st.just("everything"), st.just("")),
            st.tuples(st.just("group"), st.sampled_from(GROUPS)),
            st.tuples(st.just("kind"), st.sampled_from(KINDS[:-1])),
        )
    )
    return PersonSpec(
        tz=draw(st.sampled_from(ZONES)),
        quiet_from=quiet_from,
        quiet_until=quiet_until,
        asks_normal=normal,
        asks_campaign=draw(st.integers(normal, 6)),
        cadence=draw(st.sampled_from(Profile.Cadence.values)),
        by_email=draw(st.booleans() | st.just(True)),
        has_profile=draw(st.integers(0, 5)) > 0,
        groups=groups,
        consents=draw(st.frozensets(st.sampled_from(GROUPS)))
        | (groups if draw(st.booleans()) else frozenset()),
        unsubscribe=unsubscribe,
        blocks=draw(st.frozensets(st.sampled_from(GROUPS), max_size=1)),
    )


@st.composite
def limits(draw: st.DrawFn) -> dict[str, int]:
    values: dict[str, int] = {}
    for kind in ("group_updates", "asks", "news"):
        normal = draw(st.integers(0, 3))
        campaign = draw(st.integers(normal, 5))
        values[f"{kind}_per_week_normal"] = normal
        values[f"{kind}_per_week_campaign"] = campaign
        values[f"{kind}_per_day"] = draw(st.integers(0, min(2, campaign)))
    return values


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    policies = {}
    for key in GROUPS:
        normal = draw(st.integers(0, 3))
        policies[key] = (normal, draw(st.integers(normal, 4)))
    movement_normal = draw(st.integers(0, 3))
    return {
        "start": draw(st.sampled_from(STARTS)) + timedelta(minutes=draw(st.integers(0, 1440))),
        "contact_limits": draw(limits()),
        "movement": (movement_normal, draw(st.integers(movement_normal, 5))),
        "policies": policies,
        "people": draw(st.lists(people(), min_size=1, max_size=5)),
        "campaigns": draw(
            st.lists(
                st.tuples(
                    st.sampled_from((None, *GROUPS)),
                    st.integers(-48, 120),  # starts, hours after the start
                    st.integers(1, 96),  # lasts, hours
                ),
                max_size=2,
            )
        ),
        "messages": draw(
            st.lists(
                st.builds(
                    MessageSpec,
                    kind=st.sampled_from(KINDS),
                    group=st.sampled_from(GROUPS),
                    gap_minutes=st.one_of(st.integers(0, 180), st.integers(0, 3000)),
                    everyone=st.booleans(),
                ),
                min_size=1,
                max_size=10,
            )
        ),
    }


def build(scenario: dict[str, Any]) -> tuple[dict[str, Group], list[tuple[User, PersonSpec]]]:
    ContactLimits.objects.update_or_create(pk=1, defaults=scenario["contact_limits"])
    normal, campaign = scenario["movement"]
    MovementLimits.objects.update_or_create(
        pk=1, defaults={"updates_per_week_normal": normal, "updates_per_week_campaign": campaign}
    )
    groups: dict[str, Group] = {}
    for key in GROUPS:
        normal, campaign = scenario["policies"][key]
        groups[key] = Group.objects.create(
            name=key,
            slug=f"prop-{key}",
            kind="branch",
            parent=groups.get(PARENT.get(key, "")),
            updates_per_week_normal=normal,
            updates_per_week_campaign=campaign,
        )
    start = scenario["start"]
    for index, (key, begins, lasts) in enumerate(scenario["campaigns"]):
        CampaignPeriod.objects.create(
            name=f"campaign {index}",
            group=groups[key] if key else None,
            starts_at=start + timedelta(hours=begins),
            ends_at=start + timedelta(hours=begins + lasts),
        )
    cast = []
    for index, spec in enumerate(scenario["people"]):
        user = User.objects.create_user(f"prop{index}@test.handsup.invalid")
        if spec.has_profile:
            person = Person.objects.create(user=user, display_name=f"P{index}")
            Profile.objects.create(
                person=person,
                time_zone=spec.tz,
                quiet_from=spec.quiet_from,
                quiet_until=spec.quiet_until,
                asks_per_week_normal=spec.asks_normal,
                asks_per_week_campaign=spec.asks_campaign,
                digest_cadence=spec.cadence,
                contact_by_email=spec.by_email,
            )
        for key in spec.groups:
            Membership.objects.create(user=user, group=groups[key])
        for key in spec.consents:
            do_record_consent(
                user=user,
                purpose="group_email",
                given=True,
                source="web",
                recorded_by=user,
                group=groups[key],
            )
        for key in spec.blocks:
            GroupBlock.objects.create(user=user, group=groups[key])
        if spec.unsubscribe:
            scope, value = spec.unsubscribe
            do_unsubscribe(
                user=user,
                scope=scope,
                group=groups[value] if scope == "group" else None,
                kind=value if scope == "kind" else "",
            )
        cast.append((user, spec))
    return groups, cast


# --- The rules, restated plainly, one person and one message at a time -----------------


def effective(spec: PersonSpec) -> PersonSpec:
    """What pacing uses for someone without a profile: the profile's defaults."""
    if spec.has_profile:
        return spec
    return PersonSpec(
        tz="Europe/London",
        quiet_from=time(21),
        quiet_until=time(8),
        asks_normal=1,
        asks_campaign=3,
        cadence="weekly",
        by_email=True,
        has_profile=False,
        groups=spec.groups,
        consents=spec.consents,
        unsubscribe=spec.unsubscribe,
        blocks=spec.blocks,
    )


def is_quiet(moment: datetime, spec: PersonSpec) -> bool:
    local = moment.astimezone(ZoneInfo(spec.tz)).time()
    if spec.quiet_from < spec.quiet_until:
        return spec.quiet_from <= local < spec.quiet_until
    return local >= spec.quiet_from or local < spec.quiet_until


def in_campaign(scenario: dict[str, Any], group_key: str | None, moment: datetime) -> bool:
    chain = set()
    key = group_key
    while key:
        chain.add(key)
        key = PARENT.get(key)
    start = scenario["start"]
    for where, begins, lasts in scenario["campaigns"]:
        covers = where is None or (group_key is not None and where in chain)
        if covers and start + timedelta(hours=begins) <= moment < start + timedelta(
            hours=begins + lasts
        ):
            return True
    return False


def expected_suppression(kind: str, group_key: str | None, spec: PersonSpec) -> str | None:
    if kind == Kind.SERVICE:
        return None
    if spec.unsubscribe:
        scope, value = spec.unsubscribe
        if (
            scope == "everything"
            or (scope == "kind" and value == kind)
            or (scope == "group" and value == group_key)
        ):
            return Reason.UNSUBSCRIBED
    if group_key is not None:
        if group_key in spec.blocks:
            return Reason.BLOCKED
        if group_key not in spec.consents:
            return Reason.NO_CONSENT
    if not spec.by_email:
        return Reason.EMAIL_OFF
    if kind == Kind.DIGEST and spec.cadence == "never":
        return Reason.DIGEST_OFF
    return None


def budget_limits(
    scenario: dict[str, Any], kind: str, group_key: str | None, spec: PersonSpec, campaign: bool
) -> tuple[int, int, int | None]:
    """(per day, per week, the group's own per week) that applied."""
    mode = "campaign" if campaign else "normal"
    hard = scenario["contact_limits"]
    if kind == Kind.GROUP_UPDATE:
        movement = scenario["movement"][1 if campaign else 0]
        own = scenario["policies"][group_key][1 if campaign else 0]
        return (
            hard["group_updates_per_day"],
            hard[f"group_updates_per_week_{mode}"],
            min(own, movement),
        )
    if kind == Kind.ASK:
        person = spec.asks_campaign if campaign else spec.asks_normal
        return hard["asks_per_day"], min(person, hard[f"asks_per_week_{mode}"]), None
    return hard["news_per_day"], hard[f"news_per_week_{mode}"], None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(scenario=scenarios())
def test_no_budget_or_quiet_hours_exceeded_and_no_message_lost(db, scenario):
    with transaction.atomic():
        check_scenario(scenario)
        transaction.set_rollback(True)


def check_scenario(scenario: dict[str, Any]) -> None:
    groups, cast = build(scenario)
    everyone = [user.pk for user, _ in cast]
    specs = {user.pk: effective(spec) for user, spec in cast}
    key_of = {group.pk: key for key, group in groups.items()}
    # Per person: the budgeted rows so far, as (kind, group key, at).
    history: dict[int, list[tuple[str, str | None, datetime]]] = defaultdict(list)
    now = scenario["start"]
    for spec in scenario["messages"]:
        now += timedelta(minutes=spec.gap_minutes, seconds=1)
        group_key = None if spec.kind in (Kind.SERVICE, Kind.DIGEST) else spec.group
        group = groups[group_key] if group_key else None
        message = do_create_message(author=None, kind=spec.kind, group=group, subject="s")
        if spec.everyone or group is None:
            audience_ids = set(everyone)
        else:
            audience_ids = set(
                Membership.objects.filter(group=group).values_list("user_id", flat=True)
            )
        if not audience_ids:
            continue
        counts = do_send_message(
            actor=None,
            message=message,
            audience=User.objects.filter(pk__in=audience_ids).values("pk"),
            now=now,
        )
        rows = {row.user_id: row for row in LedgerEntry.objects.filter(message=message)}
        # Nothing lost: exactly one decision, with a reason, per person in the audience.
        assert set(rows) == audience_ids
        assert counts.recipients == len(audience_ids)
        outbox = {item.user_id: item for item in OutboxItem.objects.filter(message=message)}
        assert set(outbox) == {
            uid for uid, row in rows.items() if row.decision in (Decision.SENT, Decision.HELD)
        }
        campaign = in_campaign(scenario, group_key, now)
        for uid, row in rows.items():
            person = specs[uid]
            assert row.at == now and row.kind == spec.kind
            assert row.group_id == (group.pk if group else None)
            expected = expected_decision(
                scenario, spec.kind, group_key, person, now, campaign, history[uid]
            )
            assert (row.decision, row.reason) == expected, (uid, person, history[uid])
            event(f"{row.decision}: {row.reason}")
            if row.decision == Decision.HELD:
                assert row.release_at is not None and row.release_at > now
                assert not is_quiet(row.release_at, person)
                assert is_quiet(row.release_at - timedelta(seconds=1), person)
                assert outbox[uid].due_at == row.release_at
            else:
                assert row.release_at is None
            if row.decision == Decision.SENT:
                assert spec.kind == Kind.SERVICE or not is_quiet(now, person)
                assert outbox[uid].due_at == now
            if row.decision in (Decision.SENT, Decision.HELD):
                history[uid].append((spec.kind, group_key, now))
    assert_ceiling_holds(scenario, specs, key_of)


def expected_decision(
    scenario: dict[str, Any],
    kind: str,
    group_key: str | None,
    spec: PersonSpec,
    now: datetime,
    campaign: bool,
    history: list[tuple[str, str | None, datetime]],
) -> tuple[str, str]:
    if kind == Kind.SERVICE:
        return Decision.SENT, Reason.SERVICE
    suppressed = expected_suppression(kind, group_key, spec)
    if suppressed:
        return Decision.SUPPRESSED, suppressed
    same_kind = [(g, t) for k, g, t in history if k == kind]
    if kind == Kind.DIGEST:
        window = timedelta(days=DIGEST_INTERVAL_DAYS[spec.cadence])
        if any(t > now - window for _, t in same_kind):
            return Decision.SUPPRESSED, Reason.DIGEST_CADENCE
    else:
        over = Decision.SUPPRESSED if kind == Kind.ASK else Decision.FOLDED
        per_day, per_week, group_week = budget_limits(scenario, kind, group_key, spec, campaign)
        if sum(t > now - timedelta(days=1) for _, t in same_kind) >= per_day:
            return over, Reason.OVER_BUDGET_DAY
        if sum(t > now - timedelta(days=7) for _, t in same_kind) >= per_week:
            return over, Reason.OVER_BUDGET_WEEK
        if group_week is not None and (
            sum(g == group_key and t > now - timedelta(days=7) for g, t in same_kind) >= group_week
        ):
            return over, Reason.OVER_GROUP_POLICY
    if is_quiet(now, spec):
        return Decision.HELD, Reason.QUIET_HOURS
    return Decision.SENT, Reason.WITHIN_BUDGET


def assert_ceiling_holds(
    scenario: dict[str, Any], specs: dict[int, PersonSpec], key_of: dict[int, str]
) -> None:
    """The invariant itself, read from the ledger: at every budgeted row, the rolling day
    and week before it (itself included) hold no more than the limits then in force."""
    counted = LedgerEntry.objects.filter(decision__in=(Decision.SENT, Decision.HELD)).exclude(
        kind=Kind.SERVICE
    )
    rows = list(counted.values_list("user_id", "kind", "group_id", "at"))
    for uid, kind, group_id, moment in rows:
        group_key = key_of.get(group_id) if group_id else None
        same = [(g, t) for u, k, g, t in rows if u == uid and k == kind and t <= moment]
        if kind == Kind.DIGEST:
            window = timedelta(days=DIGEST_INTERVAL_DAYS[specs[uid].cadence])
            assert sum(t > moment - window for _, t in same) <= 1
            continue
        campaign = in_campaign(scenario, group_key, moment)
        per_day, per_week, group_week = budget_limits(
            scenario, kind, group_key, specs[uid], campaign
        )
        assert sum(t > moment - timedelta(days=1) for _, t in same) <= per_day
        assert sum(t > moment - timedelta(days=7) for _, t in same) <= per_week
        if group_week is not None:
            assert (
                sum(g == group_id and t > moment - timedelta(days=7) for g, t in same) <= group_week
            )
