"""Consent: what each person has allowed, per purpose, group and channel, with its history.

Consent is never a column on a person. Every change is a new `ConsentEvent`; a person's
current state for a key (purpose, group, channel) is their latest event for it. A key
nobody has recorded anything for means "not given".

* `group` is None for movement-wide purposes (`found_movement`) and required for
  group purposes (`group_email`).
* `channel` is empty for a purpose that is already about one channel (`group_email`
  is email) or about none; it splits a general purpose by channel, should a journey ever
  let people choose per channel. It is part of the key: "" and "email" are different keys.

Write through `do_record_consent`; read through `has_consent` (one person),
`users_with_consent` (an audience, set-based) and `current_consents` (one person's
ledger).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import BooleanField, OuterRef, Subquery

from handsup.accounts.models import User
from handsup.privacy.audit import audit_entry, record_audits
from handsup.privacy.models import AuditEntry, Channel, ConsentEvent, PrivacyNotice, Purpose
from handsup.privacy.register import PurposeCode

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet

    from handsup.groups.models import Group

# (purpose id, group id or None, channel): what "the latest row" is the latest of.
ConsentKey = tuple[int, int | None, str]


class NoPublishedNotice(Exception):
    """Consent can't be recorded before a privacy notice has been published."""


@transaction.atomic
def do_record_consent(
    *,
    user: User,
    purpose: str,
    given: bool,
    source: str,
    recorded_by: User | None,
    group: Group | None = None,
    channel: str = "",
    wording: str | None = None,
) -> ConsentEvent:
    """Record that `user` gave (or withdrew) consent for `purpose`, and audit it.

    `source` is a `ConsentEvent.Source` value (web, paper, phone, import); `recorded_by`
    is the person themselves, or the organiser who took the consent on paper or by phone.
    The event cites the current privacy notice and keeps `wording`, the exact words the
    person was shown (the purpose's text unless the journey showed other words).

    Raises `Purpose.DoesNotExist` for an unknown purpose, `ValueError` when the group or
    channel does not fit the purpose, and `NoPublishedNotice` before any notice exists.
    """
    purpose_row = Purpose.objects.get(code=purpose)
    notice = _current_notice()
    event = _new_event(
        user=user,
        purpose=purpose_row,
        notice=notice,
        given=given,
        source=source,
        recorded_by=recorded_by,
        group=group,
        channel=channel,
        wording=wording,
    )
    event.save()
    _audit_for(event, purpose_row, notice).save()
    return event


def has_consent(
    user: User | AnonymousUser,
    purpose: str | Purpose,
    *,
    group: Group | None = None,
    channel: str = "",
) -> bool:
    """Whether `user`'s latest event for this key gives consent (one query)."""
    if user.pk is None:
        return False
    latest = (
        ConsentEvent.objects.filter(user_id=user.pk)
        .for_key(purpose, group=group, channel=channel)
        .order_by("-at", "-pk")
        .values_list("given", flat=True)
        .first()
    )
    return bool(latest)


def current_consents(user: User) -> list[ConsentEvent]:
    """The latest event for every key `user` has ever recorded, given or withdrawn.

    For the person's own ledger: each row carries its purpose, group and notice version
    (fetched in the same query), and `.given` says whether it is in force.
    """
    events = (
        ConsentEvent.objects.filter(user=user)
        .select_related("purpose", "group", "notice_version")
        .order_by("at", "pk")
    )
    latest: dict[ConsentKey, ConsentEvent] = {}
    for event in events:
        latest[(event.purpose_id, event.group_id, event.channel)] = event
    return sorted(
        latest.values(),
        key=lambda e: (e.purpose.code, e.group.name if e.group else "", e.channel),
    )


def user_ids_with_consent(
    purpose: str | Purpose, *, group: Group | None = None, channel: str = ""
) -> QuerySet[ConsentEvent, dict[str, Any]]:
    """The ids of everyone whose latest event for this key gives consent, as a subquery.

    For filtering other tables without a join through the user table, e.g.
    `Person.objects.filter(user_id__in=user_ids_with_consent("found_movement"))`.
    """
    return (
        ConsentEvent.objects.for_key(purpose, group=group, channel=channel)
        .latest_per_person()
        .filter(given=True)
        .values("user_id")
    )


def latest_consent_given(
    purpose: str | Purpose,
    *,
    user_ref: str = "user_id",
    group: Group | None = None,
    channel: str = "",
) -> Subquery:
    """Per row of an outer query: whether that person's latest event for this key gives
    consent (NULL when they have none).

    A correlated lookup that the (purpose, group, channel, user, at) index answers with
    one probe per outer row: the tool when the outer rows are already few (the people in
    a need's box, a shortlist to re-check). `user_ids_with_consent` is the set-based tool
    for large audiences, where one pass over the events beats a probe per person.
    """
    latest = (
        ConsentEvent.objects.for_key(purpose, group=group, channel=channel)
        .filter(user_id=OuterRef(user_ref))
        .order_by("-at", "-pk")
        .values("given")[:1]
    )
    return Subquery(latest, output_field=BooleanField())


def users_with_consent(
    purpose: str | Purpose, *, group: Group | None = None, channel: str = ""
) -> QuerySet[User]:
    """Everyone whose latest event for this key gives consent, as a `User` queryset.

    One SQL statement with a subquery (no rows fetched into Python), so audiences of
    hundreds of thousands can be filtered, counted or joined further.
    """
    return User.objects.filter(pk__in=user_ids_with_consent(purpose, group=group, channel=channel))


# The consents a demo or test person has given: be found, be emailed by each of their
# groups, and let each group's organisers see their contact details.
STANDARD_GROUP_PURPOSES = (PurposeCode.GROUP_EMAIL, PurposeCode.SHARE_CONTACT_WITH_GROUP)


@transaction.atomic
def grant_standard_consents(
    user: User,
    groups: Iterable[Group],
    *,
    source: str,
    recorded_by: User | None,
    none_yet: bool = False,
) -> list[ConsentEvent]:
    """Give `found_movement`, and `group_email` and `share_contact_with_group` for each group.

    For personas and demo data. Keys already given are left alone, so running it twice
    records nothing new (`none_yet`: the caller has just made the account, so there is
    nothing to look for). Writes the events and their audit rows in two inserts.
    """
    wanted: list[tuple[str, Group | None]] = [(PurposeCode.FOUND_MOVEMENT, None)]
    wanted += [(code, group) for group in groups for code in STANDARD_GROUP_PURPOSES]
    purposes = {p.code: p for p in Purpose.objects.filter(code__in={code for code, _ in wanted})}
    already = (
        set()
        if none_yet
        else {
            (event.purpose_id, event.group_id, event.channel)
            for event in current_consents(user)
            if event.given
        }
    )
    notice = _current_notice()
    events = [
        _new_event(
            user=user,
            purpose=purposes[code],
            notice=notice,
            given=True,
            source=source,
            recorded_by=recorded_by,
            group=group,
            channel="",
            wording=None,
        )
        for code, group in wanted
        if (purposes[code].pk, group.pk if group else None, "") not in already
    ]
    if not events:
        return []
    events = ConsentEvent.objects.bulk_create(events)
    record_audits(_audit_for(event, event.purpose, notice) for event in events)
    return events


def _current_notice() -> PrivacyNotice:
    notice = PrivacyNotice.objects.current()
    if notice is None:
        raise NoPublishedNotice("Publish a privacy notice before recording consent.")
    return notice


def _new_event(
    *,
    user: User,
    purpose: Purpose,
    notice: PrivacyNotice,
    given: bool,
    source: str,
    recorded_by: User | None,
    group: Group | None,
    channel: str,
    wording: str | None,
) -> ConsentEvent:
    # Programming errors, not bad input: journeys offer only valid choices.
    if source not in ConsentEvent.Source.values:
        raise ValueError(f"Unknown consent source {source!r}.")
    if channel and channel not in Channel.values:
        raise ValueError(f"Unknown channel {channel!r}.")
    if channel and purpose.channel:
        raise ValueError(f"{purpose.code} is about {purpose.channel}: record it without a channel.")
    if purpose.scope == Purpose.Scope.GROUP and group is None:
        raise ValueError(f"{purpose.code} is given to one group: name the group.")
    if purpose.scope == Purpose.Scope.MOVEMENT and group is not None:
        raise ValueError(f"{purpose.code} is movement-wide: it is not given to one group.")
    return ConsentEvent(
        user=user,
        purpose=purpose,
        group=group,
        channel=channel,
        given=given,
        source=source,
        recorded_by=recorded_by,
        notice_version=notice,
        wording=purpose.text if wording is None else wording,
    )


def _audit_for(event: ConsentEvent, purpose: Purpose, notice: PrivacyNotice) -> AuditEntry:
    return audit_entry(
        actor=event.recorded_by,
        action="privacy.consent_given" if event.given else "privacy.consent_withdrawn",
        obj=event.user,
        group=event.group,
        details={
            "purpose": purpose.code,
            "channel": event.channel,
            "source": event.source,
            "notice_version": notice.version,
            "consent_event": event.pk,
        },
    )
