"""The personal ledger, "Your data": what has happened to one person's data, for them.

Who has seen their details (the access log, by group: never the reader's name, since
the group is who answers for it), who asked them and what they answered, which groups
hold their contact details now, what we sent them or held back, their consents with
every change, and their groups' retention policies.

Reads only, and only the signed-in person's own rows, in eight queries however long
the person's history (one per list, two for messages and groups). The long lists (the
access log, asks, current grants) bring back the latest `LATEST` rows with the total
counted in the same statement, so the page can say "showing the latest 50 of 812".
Consent history is read whole: every event is a choice the person made, and there are
only ever a handful.

The changes the page offers are other modules' actions: stopping sharing posts to the
needs app's `revoke_grant`, withdrawing a consent records a new event through
`do_record_consent` (see `views_ledger.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Window
from django.http import Http404
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from handsup.accounts.models import User
from handsup.groups.models import Departure, Group, Membership
from handsup.messaging.models import Decision, LedgerEntry
from handsup.needs.answers import current_grants
from handsup.needs.models import ContactGrant, Invitation
from handsup.privacy.models import AccessLogEntry, ConsentEvent

# How many rows of each long list the page shows.
LATEST = 50
# How many of the latest message decisions the page repeats (the messages page has all).
LATEST_MESSAGES = 5


@dataclass(frozen=True)
class Latest[T]:
    """The newest rows of a list, and how many there are in all."""

    rows: list[T]
    total: int  # records in all
    fetched: int  # records read (some lists fold several records into one row)

    @property
    def is_capped(self) -> bool:
        return self.total > self.fetched


def latest(queryset: QuerySet[Any], limit: int = LATEST) -> Latest[Any]:
    """The first `limit` rows of an ordered queryset and its full count, in one query.

    The count is a window over the whole filtered set, computed before the LIMIT."""
    rows = list(queryset.annotate(ledger_total=Window(Count("pk")))[:limit])
    return Latest(rows=rows, total=rows[0].ledger_total if rows else 0, fetched=len(rows))


# --- Who has seen your details ------------------------------------------------------------

# Why a group read someone's data (the access log's purpose codes), as the person is told.
PURPOSE_WORDS: dict[str, Any] = {
    "shortlist": _("Had you on a shortlist for a need (no name or contact details)"),
    "ask_preview": _("Checked how you like to be asked, before asking you"),
    "relay": _("Looked up how to phone or write to you, to pass on an ask"),
    "introduction": _("Were sent your details by email when you said yes to a need"),
    "introduction_details": _("Saw your contact details for a need you said yes to"),
    "offer_card": _("Looked at your offer to help"),
    "member_list": _("Looked at the group's list of members"),
    "member_profile": _("Looked at your member profile"),
    "member_export": _("Downloaded the group's list of members"),
    "change_role": _("Changed your role in the group"),
    "join_requests": _("Looked at your request to join"),
    "import_list": _("Imported a list of people that included you"),
    "offline_people": _("Looked at the people they registered on paper or by phone"),
    "offline_person": _("Looked at the details they registered for you"),
    "offline_claim_letter": _("Printed a letter so you could claim your account"),
    "story_review": _("A story curator saw your name on a story you sent or edited"),
}

# The access log's field names, in words.
FIELD_WORDS: dict[str, Any] = {
    "full_name": _("name"),
    "email": _("email address"),
    "phone": _("phone number"),
    "postal_address": _("postal address"),
    "district": _("postcode district"),
    "skills": _("skills"),
    "distance_band": _("roughly how far away you are"),
    "availability": _("when you're free"),
    "asks_history": _("how often you've been asked"),
    "contact_preferences": _("how you like to be contacted"),
    "hours": _("hours you can give"),
    "travel_radius_km": _("how far you'll travel"),
    "languages": _("languages"),
    "talents": _("what you're good at"),
    "dates_away": _("dates you're away"),
}


def _in_words(code: str, words: dict[str, Any]) -> str:
    # A code nobody has described yet is still shown, readably, rather than hidden.
    return str(words.get(code, code.replace("_", " ")))


# Reads of the same kind by one group this close together are one row on the page: an
# introduction emailed to each of a group's organisers is one event to the person.
SAME_READ = timedelta(minutes=1)


@dataclass(frozen=True)
class SeenRow:
    group: Group | None  # None: read movement-wide (a platform admin), or the group is gone
    purpose: str
    fields: str
    at: datetime  # the latest of the reads
    reads: int = 1


def seen_by(user: User) -> Latest[SeenRow]:
    """The latest reads of `user`'s data by others, newest first, by group not reader."""
    entries = latest(
        AccessLogEntry.objects.filter(subject=user).select_related("group").order_by("-at", "-pk")
    )
    rows: list[SeenRow] = []
    kinds: list[tuple[int | None, str, list[str]]] = []
    for entry in entries.rows:
        kind = (entry.group_id, entry.purpose, entry.fields)
        if rows and kinds[-1] == kind and rows[-1].at - entry.at < SAME_READ:
            rows[-1] = replace(rows[-1], reads=rows[-1].reads + 1)
            continue
        kinds.append(kind)
        rows.append(
            SeenRow(
                group=entry.group,
                purpose=capfirst(_in_words(entry.purpose, PURPOSE_WORDS)),
                fields=capfirst(", ".join(_in_words(name, FIELD_WORDS) for name in entry.fields)),
                at=entry.at,
            )
        )
    return Latest(rows=rows, total=entries.total, fetched=entries.fetched)


# --- Asks and your answers -----------------------------------------------------------------


def _answer_words(invitation: Invitation) -> str:
    status, offer = invitation.status, invitation.source == Invitation.Source.OFFER
    Status = Invitation.Status
    if status == Status.PENDING:
        return str(_("Waiting for the group") if offer else _("Not answered yet"))
    if status == Status.ACCEPTED:
        return str(_("The group took up your offer") if offer else _("You said yes"))
    if status == Status.DECLINED:
        if offer:
            return str(_("The group didn't need you this time"))
        reason = invitation.get_decline_reason_display() if invitation.decline_reason else ""
        return str(
            _("You said no (%(reason)s)") % {"reason": reason} if reason else _("You said no")
        )
    if status == Status.EXPIRED:
        return str(_("Lapsed without an answer"))
    return str(_("Withdrawn"))


@dataclass(frozen=True)
class AskRow:
    invitation: Invitation
    answer: str

    @property
    def offered(self) -> bool:
        return self.invitation.source == Invitation.Source.OFFER

    @property
    def relayed(self) -> bool:
        return self.invitation.channel == Invitation.Channel.RELAY


def asks_of(user: User) -> Latest[AskRow]:
    """Every ask (and offer) about a need, newest first, with the answer in words."""
    invitations = latest(
        Invitation.objects.filter(user=user)
        .select_related("need__group")
        .order_by("-created_at", "-pk")
    )
    rows = [AskRow(invitation=i, answer=_answer_words(i)) for i in invitations.rows]
    return Latest(rows=rows, total=invitations.total, fetched=invitations.fetched)


# --- Who holds your contact details --------------------------------------------------------


def holders_of(user: User, now: datetime) -> Latest[ContactGrant]:
    """The grants in force now (`answers.current_grants`): soonest to end first."""
    return latest(
        current_grants(now)
        .filter(user=user)
        .select_related("group", "need", "invitation")
        .order_by("expires_at", "pk")
    )


# --- What we sent you and held back --------------------------------------------------------


@dataclass(frozen=True)
class MessageSummary:
    counts: list[tuple[str, int]]  # (what we did, how many), in Decision's order
    total: int
    latest: list[LedgerEntry]


def messages_to(user: User) -> MessageSummary:
    """How many messages we decided to send, hold, fold or not send, and the latest few."""
    by_decision = {
        row["decision"]: row["n"]
        for row in LedgerEntry.objects.filter(user=user)
        .values("decision")
        .annotate(n=Count("pk"))
        .order_by()
    }
    counts = [(str(label), by_decision.get(value, 0)) for value, label in Decision.choices]
    entries = list(
        LedgerEntry.objects.filter(user=user)
        .select_related("message", "group")
        .order_by("-at", "-pk")[:LATEST_MESSAGES]
    )
    return MessageSummary(counts=counts, total=sum(by_decision.values()), latest=entries)


# --- Your consents -------------------------------------------------------------------------


@dataclass
class ConsentRow:
    """One (purpose, group, channel): its latest event is the current state."""

    current: ConsentEvent
    history: list[ConsentEvent] = field(default_factory=list)  # newest first

    @property
    def given(self) -> bool:
        return self.current.given


def consents_of(user: User) -> list[ConsentRow]:
    """Each consent key `user` has recorded, with its whole history, in one query."""
    events = (
        ConsentEvent.objects.filter(user=user)
        .select_related("purpose", "group", "notice_version")
        .order_by("-at", "-pk")
    )
    by_key: dict[tuple[int, int | None, str], ConsentRow] = {}
    for event in events:
        key = (event.purpose_id, event.group_id, event.channel)
        if key not in by_key:
            by_key[key] = ConsentRow(current=event)
        by_key[key].history.append(event)
    return sorted(
        by_key.values(),
        key=lambda row: (
            row.current.purpose.name,
            row.current.group.name if row.current.group else "",
            row.current.channel,
        ),
    )


def access_own_consent(
    user: User, *, purpose: str, group_public_id: str, channel: str
) -> ConsentEvent:
    """`user`'s latest event for one consent key; 404 when they never recorded one, the
    same as for a purpose or group that doesn't exist."""
    events = ConsentEvent.objects.filter(user=user, purpose__code=purpose, channel=channel)
    if group_public_id:
        events = events.filter(group__public_id=group_public_id)
    else:
        events = events.filter(group__isnull=True)
    event = events.select_related("purpose", "group").order_by("-at", "-pk").first()
    if event is None:
        raise Http404("No such consent.")
    return event


# --- Your groups ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Groups:
    memberships: list[Membership]
    # Groups left whose retention has not run out: they may still hold the details.
    left: list[Departure]


def groups_of(user: User, today: date) -> Groups:
    return Groups(
        memberships=list(
            Membership.objects.filter(user=user).select_related("group").order_by("group__name")
        ),
        left=list(
            Departure.objects.filter(user=user, retain_until__gte=today)
            .select_related("group")
            .order_by("retain_until", "pk")
        ),
    )


# --- The whole page ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    seen: Latest[SeenRow]
    asks: Latest[AskRow]
    holders: Latest[ContactGrant]
    messages: MessageSummary
    consents: Sequence[ConsentRow]
    groups: Groups


def ledger_for(user: User, now: datetime | None = None) -> Ledger:
    """Everything the "Your data" page shows, in eight queries."""
    now = now or timezone.now()
    return Ledger(
        seen=seen_by(user),
        asks=asks_of(user),
        holders=holders_of(user, now),
        messages=messages_to(user),
        consents=consents_of(user),
        groups=groups_of(user, timezone.localdate(now)),
    )
