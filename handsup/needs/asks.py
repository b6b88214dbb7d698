"""Asking people from the shortlist: what would happen (`plan_asks`) and doing it (`do_invite`).

An organiser ticks cards on a need's shortlist. The form posts the cards' pseudonym
hashes, never ids; `matching.people_for_digests` maps them back by working out the
eligible set again, so anyone who can no longer be asked is reported, not asked.

Each person is asked one of two ways:

- **by email**: one ask message (kind `ask`, from the need's group) for all of them,
  through messaging's pacing, which decides per person: sent now, held until their
  quiet hours end, or not sent (unsubscribed, no consent, over budget...). Everyone sent
  or held gets an invitation; nobody else does. The message's two links ("Yes, I can
  help", "No, thanks") are the same for everyone: the answer page finds the signed-in
  person's own invitation, so a forwarded email gives nobody else anything.
- **through a relay**: people with no email we may use (none, the placeholder address of
  someone registered on paper, or they said no to email) whom a group registered and
  may phone or write to (`relay.relay_route`). Their invitation goes on that group's
  relay list; the ask is written on their contact ledger as a sent ask, so it counts
  against their budget and in fairness like any other.

People with no usable email and no relay route can't be asked at all; they are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from handsup.accounts.models import User
from handsup.messaging.actions import do_create_message, do_send_message
from handsup.messaging.models import Decision, Kind, LedgerEntry, Message
from handsup.messaging.pacing import audience_of_users, preview, quiet_release
from handsup.needs.answers import invitation_expiry
from handsup.needs.matching import eligible_people, pseudonym_digest
from handsup.needs.models import Invitation, Need
from handsup.needs.narrow import note_asks
from handsup.needs.permissions import need_policy
from handsup.needs.relay import has_no_usable_email, record_relayed_asks, relayable_user_ids
from handsup.people.forms import WEEKLY_SLOT_CHOICES
from handsup.people.models import Person, Profile
from handsup.people.offline import PLACEHOLDER_EMAIL_DOMAIN
from handsup.privacy.audit import record_audit

# Why someone can't be asked at all, beside pacing's reasons.
NO_WAY_TO_REACH = "no_way_to_reach"
NO_LONGER_ELIGIBLE = "no_longer_eligible"
ALREADY_ASKED = "already_asked"
# How much of the need's description the ask email quotes.
DESCRIPTION_IN_ASK = 600


class AskProblem(ValidationError):
    """The asks can't go as they are; the message is for the organiser, and nothing
    has been changed."""


# --- Who goes which way -------------------------------------------------------------------


@dataclass(frozen=True)
class Routes:
    email: list[int]
    relay: list[int]
    unreachable: list[int]  # no email we may use, and nobody to phone or write


def route_people(user_ids: Collection[int]) -> Routes:
    """Sort people by how an ask can reach them (a few queries, not one per person)."""
    rows = list(
        Person.objects.filter(user_id__in=list(user_ids)).values(
            "user_id", "user__email", "profile__contact_by_email"
        )
    )
    offline = {
        row["user_id"]
        for row in rows
        if has_no_usable_email(
            email=row["user__email"], contact_by_email=row["profile__contact_by_email"]
        )
    }
    relay = relayable_user_ids(offline) if offline else set()
    # Someone with a real address who turned email off and can't be phoned stays with
    # email: pacing refuses them with its own reason ("email_off"), which is shown.
    real_address = {
        row["user_id"]
        for row in rows
        if row["user__email"] and not row["user__email"].endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)
    }
    everyone = {row["user_id"] for row in rows}
    email = (everyone - offline) | ((offline - relay) & real_address)
    return Routes(
        email=sorted(email), relay=sorted(relay), unreachable=sorted(everyone - email - relay)
    )


# --- What would happen --------------------------------------------------------------------


@dataclass
class AskPlan:
    """What asking these people now would do, worked out without writing anything."""

    user_ids: list[int]  # still eligible: these would be asked
    not_eligible: int  # picked, but no longer eligible (or never were)
    sent: int = 0
    held: int = 0
    held_until: datetime | None = None  # the latest end of quiet hours among the held
    relay: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # reason -> people

    @property
    def asked(self) -> int:
        return self.sent + self.held + self.relay

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


def plan_asks(
    need: Need,
    user_ids: Sequence[int],
    *,
    not_eligible: int = 0,
    already_asked: int = 0,
    now: datetime | None = None,
) -> AskPlan:
    """Pacing's preview for the email people, plus who goes on a relay list and who
    can't be reached. Writes nothing. `not_eligible` and `already_asked` count picks
    the caller could not map to anyone (`matching.people_for_digests`)."""
    now = now or timezone.now()
    wanted = list(dict.fromkeys(user_ids))
    eligible = set(
        eligible_people(need, now=now).filter(user_id__in=wanted).values_list("user_id", flat=True)
    )
    ids = [user_id for user_id in wanted if user_id in eligible]
    plan = AskPlan(user_ids=ids, not_eligible=not_eligible + len(wanted) - len(ids))
    refused: Counter[str] = Counter()
    if already_asked:
        refused[ALREADY_ASKED] = already_asked
        plan.refused = dict(refused)
    if not ids:
        return plan
    routes = route_people(ids)
    plan.relay = len(routes.relay)
    if routes.unreachable:
        refused[NO_WAY_TO_REACH] = len(routes.unreachable)
    if routes.email:
        draft = Message(kind=Kind.ASK, group=need.group, subject=ask_subject(need))
        counts = preview(draft, audience_of_users(routes.email), now=now)
        plan.sent, plan.held = counts.sent, counts.held
        refused.update(counts.reasons(Decision.SUPPRESSED))
        if plan.held:
            plan.held_until = _latest_quiet_release(routes.email, now)
    plan.refused = dict(sorted(refused.items(), key=lambda item: (-item[1], item[0])))
    return plan


def _latest_quiet_release(user_ids: list[int], now: datetime) -> datetime | None:
    """Roughly when the last held ask would go: the latest end of quiet hours among
    these people who are in quiet hours now."""
    blank = Profile()  # someone without a profile row has its defaults
    defaults = (blank.time_zone, blank.quiet_from, blank.quiet_until)
    rows = list(
        Profile.objects.filter(person__user_id__in=user_ids).values_list(
            "time_zone", "quiet_from", "quiet_until"
        )
    )
    combinations = set(rows) | ({defaults} if len(rows) < len(user_ids) else set())
    releases = [
        release
        for time_zone, quiet_from, quiet_until in combinations
        if (release := quiet_release(now, time_zone, quiet_from, quiet_until)) is not None
    ]
    return max(releases, default=None)


def count_already_asked(need: Need, digests: Collection[str]) -> int:
    """How many of these cards (pseudonym hashes) belong to people who already have an
    invitation for the need: a second click on "Send", or a shortlist left open."""
    if not digests:
        return 0
    invited = Person.objects.filter(
        user_id__in=Invitation.objects.filter(need=need).values("user_id")
    ).values_list("pk", flat=True)
    return len(set(digests) & {pseudonym_digest(need, person_id) for person_id in invited})


# --- The words of an ask ------------------------------------------------------------------


def ask_subject(need: Need) -> str:
    return _("Can you help with “%(title)s”?") % {"title": need.title}


def answer_url(need: Need, answer: str) -> str:
    """The answer page's address (`needs:answer`), the same for every recipient."""
    return f"{settings.SITE_URL}/needs/{need.public_id}/answer/?answer={answer}"


def _escape(text: str) -> str:
    """Organisers' words as plain text inside Markdown: no link, heading or markup."""
    specials = set("\\`*_{}[]()<>#+-.!|~")
    return "".join("\\" + ch if ch in specials else ch for ch in text)


def when_text(need: Need) -> str:
    """When the need happens, in words: its set times, or its weekly slots."""
    if need.schedule_kind == Need.ScheduleKind.ONGOING:
        slots = [label for bit, label in WEEKLY_SLOT_CHOICES if need.weekly_slots & (1 << bit)]
        return _("ongoing, on %(slots)s, until %(closes)s") % {
            "slots": ", ".join(str(slot) for slot in slots),
            "closes": date_format(need.closes_on, "j F Y"),
        }
    times = []
    for window in need.windows.all():
        start = timezone.localtime(window.starts_at)
        end = timezone.localtime(window.ends_at)
        same_day = start.date() == end.date()
        times.append(
            f"{date_format(start, 'D j M Y, H:i')}–"
            f"{date_format(end, 'H:i' if same_day else 'D j M Y, H:i')}"
        )
    return "; ".join(times)


def ask_body(need: Need, *, expires_at: datetime) -> str:
    """The ask email, in Markdown: what, where, when, effort, closing date, and the two
    answer links. Nothing about anyone; the same for everyone it goes to."""
    description = need.description.strip()
    if len(description) > DESCRIPTION_IN_ASK:
        description = description[:DESCRIPTION_IN_ASK].rsplit(" ", 1)[0] + "…"
    where = (
        _("anywhere, remotely")
        if need.location_kind == Need.LocationKind.REMOTE
        else need.area_name
    )
    lines = [
        _(
            "%(group)s is looking for people to help with “%(title)s”, and what you have "
            "told us about yourself fits."
        )
        % {"group": _escape(need.group.name), "title": _escape(need.title)},
        "",
        _escape(description),
        "",
        "- " + _("Where: %(where)s") % {"where": _escape(where)},
        "- " + _("When: %(when)s") % {"when": _escape(when_text(need))},
        "- " + _("Effort: about %(hours)s hours") % {"hours": format(need.hours.normalize(), "f")},
        "- "
        + _("Please answer by: %(date)s")
        # An invitation lapses at midnight at the end of the day it names.
        % {"date": date_format(timezone.localtime(expires_at - timedelta(seconds=1)), "j F Y")},
        "",
        _(
            "Your name and contact details stay with us unless you say yes; then the "
            "group's organisers see your name and email (and your phone number, if you "
            "choose)."
        ),
        "",
        f"[{_('Yes, I can help')}]({answer_url(need, 'yes')})",
        "",
        f"[{_('No, thanks')}]({answer_url(need, 'no')})",
        "",
        _(
            "Saying no is fine: the group will ask someone else. You will need to sign in "
            "to answer."
        ),
    ]
    return "\n".join(lines)


# --- Asking -------------------------------------------------------------------------------


@dataclass
class AskResult:
    """What `do_invite` did."""

    invitations: list[Invitation]
    message: Message | None  # the ask email (None when nobody went by email)
    sent: int
    held: int
    held_until: datetime | None
    relay: int
    refused: dict[str, int]  # reason -> people not asked (pacing's, or ours)

    @property
    def asked(self) -> int:
        return len(self.invitations)

    def summary(self) -> str:
        """One sentence for the organiser: "Asked 3 people; 1 goes on the relay list."."""
        text = ngettext("Asked %(n)d person", "Asked %(n)d people", self.asked) % {"n": self.asked}
        if self.relay:
            text += ngettext(
                "; %(n)d goes on the relay list", "; %(n)d go on the relay list", self.relay
            ) % {"n": self.relay}
        text += "."
        if self.held:
            text += " " + ngettext(
                "%(n)d ask waits until the person's quiet hours end.",
                "%(n)d asks wait until the people's quiet hours end.",
                self.held,
            ) % {"n": self.held}
        refused = sum(self.refused.values())
        if refused:
            text += " " + ngettext(
                "%(n)d person could not be asked.", "%(n)d people could not be asked.", refused
            ) % {"n": refused}
        return text


@transaction.atomic
def do_invite(
    *, actor: User, need: Need, user_ids: Sequence[int], now: datetime | None = None
) -> AskResult:
    """Ask these people to help with `need`: one ask email through pacing, relay-list
    invitations for people who are not online, an invitation for everyone asked.

    Raises `AskProblem` (nothing changed) when the actor may not manage the need, it is
    not open, nobody was picked, or nobody picked can still be asked. Someone picked who
    is no longer eligible (already invited, over budget since, ...) is not asked and is
    counted in `refused`.
    """
    now = now or timezone.now()
    # Lock the need: two organisers asking at once (or a double click) take turns, so
    # the second sees the first's invitations and asks nobody twice.
    locked = Need.objects.select_for_update().select_related("group").get(pk=need.pk)
    if not need_policy.allows(actor, "manage", locked):
        raise AskProblem(_("You can't ask people for this need."), code="not_allowed")
    if locked.status != Need.Status.OPEN:
        raise AskProblem(
            _("“%(title)s” is not open, so nobody can be asked for it.") % {"title": locked.title},
            code="not_open",
        )
    wanted = list(dict.fromkeys(int(user_id) for user_id in user_ids))
    if not wanted:
        raise AskProblem(_("Pick at least one person to ask."), code="nobody_picked")
    already = set(
        Invitation.objects.filter(need=locked, user_id__in=wanted).values_list("user_id", flat=True)
    )
    eligible = set(
        eligible_people(locked, now=now)
        .filter(user_id__in=wanted)
        .values_list("user_id", flat=True)
    )
    if not eligible:
        if already == set(wanted):
            raise AskProblem(
                _(
                    "Everyone you picked has already been asked for this need, or offered "
                    "to help: nobody was asked again."
                ),
                code="already_asked",
            )
        raise AskProblem(
            _(
                "None of the people you picked can be asked now: they may have been asked "
                "since, reached their limit of asks, or changed their settings. Pick "
                "others from the shortlist."
            ),
            code="none_eligible",
        )
    refused: Counter[str] = Counter()
    if already:
        refused[ALREADY_ASKED] = len(already)
    if len(wanted) - len(eligible) - len(already) > 0:
        refused[NO_LONGER_ELIGIBLE] = len(wanted) - len(eligible) - len(already)
    routes = route_people(sorted(eligible))
    if routes.unreachable:
        refused[NO_WAY_TO_REACH] = len(routes.unreachable)
    if not routes.email and not routes.relay:
        raise AskProblem(
            _(
                "None of the people you picked can be reached: they have no email address "
                "we may use, and no group may phone or write to them."
            ),
            code="unreachable",
        )
    expires_at = invitation_expiry(locked, now)
    subject = ask_subject(locked)
    body = ask_body(locked, expires_at=expires_at)
    invitations: list[Invitation] = []
    message = None
    sent = held = 0
    held_until = None
    if routes.email:
        message = do_create_message(
            author=actor,
            kind=Kind.ASK,
            group=locked.group,
            subject=subject,
            body_markdown=body,
            audience_description=ngettext(
                "%(n)d person picked from the shortlist for “%(title)s”",
                "%(n)d people picked from the shortlist for “%(title)s”",
                len(routes.email),
            )
            % {"n": len(routes.email), "title": locked.title},
        )
        do_send_message(
            actor=actor, message=message, audience=audience_of_users(routes.email), now=now
        )
        for user_id, decision, reason, release_at in LedgerEntry.objects.filter(
            message=message
        ).values_list("user_id", "decision", "reason", "release_at"):
            if decision in (Decision.SENT, Decision.HELD):
                invitations.append(
                    _invitation(locked, user_id, actor, now, expires_at, message=message)
                )
                if decision == Decision.SENT:
                    sent += 1
                else:
                    held += 1
                    held_until = max(filter(None, [held_until, release_at]), default=None)
            else:
                refused[reason] += 1
    if routes.relay:
        record_relayed_asks(
            actor=actor, need=locked, user_ids=routes.relay, subject=subject, body=body, now=now
        )
        invitations += [
            _invitation(locked, user_id, actor, now, expires_at, channel=Invitation.Channel.RELAY)
            for user_id in routes.relay
        ]
    # The unique (need, user) constraint is the last line of defence: the lock above
    # and eligibility (which leaves out anyone invited) mean it should never fire.
    Invitation.objects.bulk_create(invitations)
    # The ledger rows pacing wrote reach matching's narrow table (no signal sees them).
    note_asks([invitation.user_id for invitation in invitations])
    result = AskResult(
        invitations=invitations,
        message=message,
        sent=sent,
        held=held,
        held_until=held_until,
        relay=len(routes.relay),
        refused=dict(sorted(refused.items(), key=lambda item: (-item[1], item[0]))),
    )
    record_audit(
        actor=actor,
        action="needs.asks_sent",
        obj=locked,
        group=locked.group,
        details={
            "message": message.public_id if message else None,
            "asked": result.asked,
            "sent": sent,
            "held": held,
            "relay": result.relay,
            "refused": result.refused,
        },
    )
    return result


def _invitation(
    need: Need,
    user_id: int,
    actor: User,
    now: datetime,
    expires_at: datetime,
    *,
    message: Message | None = None,
    channel: str = Invitation.Channel.EMAIL,
) -> Invitation:
    return Invitation(
        need=need,
        user_id=user_id,
        source=Invitation.Source.ASK,
        channel=channel,
        status=Invitation.Status.PENDING,
        invited_by=actor,
        message=message,
        created_at=now,
        expires_at=expires_at,
    )
