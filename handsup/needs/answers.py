"""Answers to invitations, and the contact-release grants and introductions they make.

Someone the group asked says yes or no; an organiser accepts or turns down someone's
offer; an organiser who phoned or wrote to someone records their answer (the relay
channel). Saying yes takes a place on the need and makes a `ContactGrant`: for as long as
it is current the group's organisers may see the volunteer's name and email (and phone,
if they chose), and both sides get an introduction. The volunteer can stop sharing at any
time (`do_revoke_grant`) or, for an ongoing need, renew the grant when it runs out.

Who may answer lives in one place, `may_answer`. Every `do_*` function locks the need row
first and the invitation second (the same order as the needs actions), checks the rules
again under those locks, and refuses with `InvitationProblem` — a `ValidationError` whose
message can be shown to the person as it is — leaving nothing changed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.groups.permissions import PRIVILEGED_GROUP_ROLES, group_policy
from handsup.needs.models import (
    GRANT_DAYS_AFTER_NEED,
    GRANT_MAX_DAYS,
    INVITATION_LIFETIME_DAYS,
    ContactGrant,
    Invitation,
    Need,
)
from handsup.needs.notices import send_notice
from handsup.people.models import Profile
from handsup.privacy.access import log_access
from handsup.privacy.audit import audit_entry, record_audit, record_audits

__all__ = [
    "InvitationProblem",
    "access_own_invitation",
    "current_grants",
    "do_accept",
    "do_decline",
    "do_reconfirm",
    "do_renew_grant",
    "do_revoke_grant",
    "do_withdraw_acceptance",
    "do_withdraw_open_invitations",
    "expire_invitations",
    "grant_expiry",
    "invitation_expiry",
    "may_answer",
    "need_ends_at",
    "renewal_expiry",
]


class InvitationProblem(ValidationError):
    """An answer can't be taken now; the message says why, in words for the person."""


def _problem(message: str, code: str) -> InvitationProblem:
    return InvitationProblem(message, code=code)


# --- Dates -------------------------------------------------------------------------------


def _end_of_day(day: date) -> datetime:
    """Midnight at the end of `day` in the site's time zone (what "closes on" means)."""
    tz = timezone.get_default_timezone()
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def invitation_expiry(need: Need, created_at: datetime) -> datetime:
    """When an invitation made at `created_at` lapses: two weeks on, or when the need
    closes if that is sooner."""
    return min(created_at + timedelta(days=INVITATION_LIFETIME_DAYS), _end_of_day(need.closes_on))


def need_ends_at(need: Need) -> datetime:
    """When the help is over: the end of the last set time, else the closing date."""
    if need.schedule_kind == Need.ScheduleKind.WINDOWS:
        last = max((w.ends_at for w in need.windows.all()), default=None)
        if last is not None:
            return last
    return _end_of_day(need.closes_on)


def grant_expiry(need: Need, now: datetime) -> datetime:
    """How long a grant made (or renewed) at `now` lasts: a month after the need ends,
    and for an ongoing need at most about six months from now."""
    expires = need_ends_at(need) + timedelta(days=GRANT_DAYS_AFTER_NEED)
    if need.schedule_kind == Need.ScheduleKind.ONGOING:
        expires = min(expires, now + timedelta(days=GRANT_MAX_DAYS))
    # A need whose set times have all passed (but is still open) still gets a month.
    return max(expires, now + timedelta(days=1))


def current_grants(now: datetime | None = None) -> QuerySet[ContactGrant]:
    """Grants the group may act on now: not revoked and not expired."""
    now = now or timezone.now()
    return ContactGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=now)


# --- Who may answer ----------------------------------------------------------------------


def _may_relay_for(actor: User, invitation: Invitation) -> bool:
    # The relay list belongs to the asks work; without it nobody relays.
    try:
        from handsup.needs import relay
    except ImportError:
        return False
    check = getattr(relay, "may_relay_for", None)
    return bool(check(actor, invitation)) if check is not None else False


def _organises(actor: User, group: Group) -> bool:
    return group_policy.allows(actor, "organise", group)


AnswerStep = Literal["answer", "accept", "change"]


def may_answer(actor: User, invitation: Invitation, *, to: AnswerStep = "answer") -> bool:
    """May `actor` answer `invitation`? The one place that decides.

    - "answer" (say yes or no): the person invited, always; for an offer, the organisers
      of the need's group, who accept it or turn it down; for the relay channel, whoever
      may relay for that person.
    - "accept" is narrower: an offer is accepted by the group, never by the person who
      made it; an ask by the person asked (or whoever relays their answer).
    - "change" (withdraw a yes, or confirm it again): the person, or whoever relays.
    """
    if not getattr(actor, "is_authenticated", False):
        return False
    is_offer = invitation.source == Invitation.Source.OFFER
    relays = invitation.channel == Invitation.Channel.RELAY and _may_relay_for(actor, invitation)
    if to == "accept" and is_offer:
        return _organises(actor, invitation.need.group)
    if actor.pk == invitation.user_id or relays:
        return True
    return to == "answer" and is_offer and _organises(actor, invitation.need.group)


def _relayed(actor: User, invitation: Invitation) -> bool:
    return invitation.channel == Invitation.Channel.RELAY and actor.pk != invitation.user_id


def access_own_invitation(user: User, need_public_id: str) -> Invitation:
    """The signed-in person's own invitation to a need; 404 alike for a need that
    doesn't exist, one they weren't invited to, and someone else's invitation."""
    invitation = (
        Invitation.objects.filter(user=user, need__public_id=need_public_id)
        .select_related("need__group", "grant")
        .first()
    )
    if invitation is None:
        raise Http404("No invitation for you on this need.")
    return invitation


# --- Locking and the rules an answer must keep -------------------------------------------


def _lock(invitation: Invitation) -> tuple[Need, Invitation]:
    """The need then the invitation, locked and fresh (need first, like the needs actions)."""
    need = (
        Need.objects.select_for_update(of=("self",))
        .select_related("group")
        .get(pk=invitation.need_id)
    )
    fresh = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("user", "invited_by")
        .get(pk=invitation.pk)
    )
    fresh.need = need
    return need, fresh


def _is_expired(invitation: Invitation, now: datetime) -> bool:
    return invitation.status == Invitation.Status.EXPIRED or (
        invitation.status == Invitation.Status.PENDING and invitation.expires_at <= now
    )


def _need_taking_people(need: Need, now: datetime) -> bool:
    return (
        need.status == Need.Status.OPEN
        and need.closes_on >= timezone.localdate(now)
        and need.group.status == Group.Status.ACTIVE
    )


def check_can_answer(invitation: Invitation, need: Need, now: datetime) -> None:
    """Refuse (with the reason) unless the invitation is waiting for an answer."""
    if invitation.status in (Invitation.Status.ACCEPTED, Invitation.Status.DECLINED):
        raise _problem(_("You've already answered this invitation."), "answered")
    if _is_expired(invitation, now):
        raise _problem(_("This invitation has expired."), "expired")
    if need.status == Need.Status.FILLED:
        raise _problem(_("This need is already filled — thank you for offering."), "filled")
    if invitation.status == Invitation.Status.WITHDRAWN:
        if need.status == Need.Status.CLOSED:
            raise _problem(_("This need is closed."), "closed")
        raise _problem(
            _("This invitation was withdrawn, so there's nothing to answer."), "withdrawn"
        )


def check_can_accept(invitation: Invitation, need: Need, now: datetime) -> None:
    check_can_answer(invitation, need, now)
    if not _need_taking_people(need, now):
        raise _problem(_("This need is closed."), "closed")
    if need.places_left <= 0:
        raise _problem(_("This need is already filled — thank you for offering."), "filled")


# --- Accepting ---------------------------------------------------------------------------

FILLED_NOTE = gettext_lazy(
    "Thank you — this need has all the people it needs now, so we've withdrawn our ask. "
    "Nothing more to do."
)


def _phone_of(user: User) -> str:
    phone = Profile.objects.filter(person__user=user).values_list("phone", flat=True).first()
    return (phone or "").strip()


@transaction.atomic
def do_accept(
    *, invitation: Invitation, actor: User, share_phone: bool, now: datetime | None = None
) -> ContactGrant:
    """Say yes: take a place, release the chosen details to the group, introduce both
    sides. The last place closes the need as filled and withdraws the other asks."""
    now = now or timezone.now()
    need, invitation = _lock(invitation)
    if not may_answer(actor, invitation, to="accept"):
        raise PermissionDenied("You can't accept this invitation.")
    check_can_accept(invitation, need, now)
    volunteer = invitation.user
    phone = _phone_of(volunteer) if share_phone else ""
    invitation.status = Invitation.Status.ACCEPTED
    invitation.answered_at = now
    invitation.share_phone = bool(phone)
    invitation.decline_reason = ""
    if _relayed(actor, invitation):
        invitation.relayed_by = actor
    invitation.save(
        update_fields=["status", "answered_at", "share_phone", "decline_reason", "relayed_by"]
    )
    grant = ContactGrant.objects.create(
        invitation=invitation,
        user=volunteer,
        group=need.group,
        need=need,
        share_phone=bool(phone),
        created_at=now,
        expires_at=grant_expiry(need, now),
    )
    # F() under the row lock: the count and the grants can't disagree.
    Need.objects.filter(pk=need.pk).update(filled_count=F("filled_count") + 1, updated_at=now)
    need.refresh_from_db(fields=["filled_count"])
    filled = need.filled_count >= need.people_needed
    if filled:
        need.status = Need.Status.FILLED
        need.closed_at = now
        need.save(update_fields=["status", "closed_at", "updated_at"])
    record_audit(
        actor=actor,
        action="needs.invitation_accepted",
        obj=invitation,
        group=need.group,
        details={
            "need": need.public_id,
            "source": invitation.source,
            "channel": invitation.channel,
            "fields": grant.fields,
            "filled": filled,
        },
    )
    from handsup.platform.events import emit_invitation_accepted, emit_need_filled

    emit_invitation_accepted(invitation)
    if filled:
        emit_need_filled(need)
        do_withdraw_open_invitations(need=need, actor=actor, now=now, why=str(FILLED_NOTE))
    _introduce(invitation=invitation, grant=grant, actor=actor, phone=phone, now=now)
    return grant


def _markdown_text(text: str) -> str:
    """Someone's name or a title, safe to put in a notice's Markdown as plain text."""
    escaped = re.sub(r"([\\`*_{}\[\]()<>!|~&])", r"\\\1", " ".join(text.split()))
    # What starts a block (a heading, a list, a quote) only matters at the start.
    escaped = re.sub(r"^([#+=-])", r"\\\1", escaped)
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", escaped)


def _subject(text: str) -> str:
    return text if len(text) <= 200 else text[:199] + "…"


def _name_of(user: User) -> str:
    return user.full_name.strip() or user.email


def _organisers_of(group: Group) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__group=group,
            memberships__role__in=PRIVILEGED_GROUP_ROLES,
        )
        .distinct()
        .order_by("pk")
    )


def _organisers_to_tell(invitation: Invitation, need: Need) -> list[User]:
    """The organiser who sent the ask, while they still organise the group; else all."""
    inviter = invitation.invited_by
    if inviter is not None and inviter.is_active and _organises(inviter, need.group):
        return [inviter]
    return _organisers_of(need.group)


def people_page_url(need: Need) -> str:
    """The organisers' page of everyone invited to a need (the people-page work)."""
    return settings.SITE_URL + reverse("needs:people", args=[need.group.public_id, need.public_id])


def _introduce(
    *, invitation: Invitation, grant: ContactGrant, actor: User, phone: str, now: datetime
) -> None:
    need, group, volunteer = invitation.need, invitation.need.group, invitation.user
    until = format_date(timezone.localtime(grant.expires_at), "j F Y")
    title, group_name = _markdown_text(need.title), _markdown_text(group.name)

    # To the volunteer: who to contact at the group.
    contact: User | None = None
    inviter = invitation.invited_by
    if inviter is not None and inviter.is_active and _organises(inviter, group):
        contact = inviter
    elif actor.pk != volunteer.pk and _organises(actor, group):
        contact = actor
    if contact is not None:
        who = _("%(name)s, an organiser of %(group)s: %(email)s") % {
            "name": _markdown_text(_name_of(contact)),
            "group": group_name,
            "email": _markdown_text(contact.email),
        }
    elif group.public_contact:
        who = _("%(group)s: %(contact)s") % {
            "group": group_name,
            "contact": _markdown_text(group.public_contact),
        }
    else:
        who = _("The organisers of %(group)s will be in touch.") % {"group": group_name}
    shared = (
        _("your name, email address and phone number")
        if grant.share_phone
        else _("your name and email address")
    )
    body = "\n\n".join(
        [
            _("Thank you for saying yes to “%(title)s”.") % {"title": title},
            _("Here is who to contact:"),
            f"- {who}",
            _(
                "We've shared %(shared)s with the group's organisers until %(until)s. You "
                "can stop sharing them at any time: [your introductions](%(url)s)."
            )
            % {
                "shared": shared,
                "until": until,
                "url": settings.SITE_URL + reverse("needs:my_grants"),
            },
        ]
    )
    send_notice(
        actor=actor,
        to=[volunteer],
        group=group,
        subject=_subject(
            _("You're helping %(group)s with “%(title)s”")
            % {"group": group.name, "title": need.title}
        ),
        body_markdown=body,
        now=now,
    )
    if contact is not None:
        log_access(
            actor=volunteer,
            subjects=[contact],
            purpose="introduction",
            fields=["full_name", "email"],
            group=group,
        )

    # To the organisers: who said yes, and how to reach them.
    organisers = _organisers_to_tell(invitation, need)
    name = _name_of(volunteer)
    lines = [
        (
            _("%(name)s offered to help with “%(title)s”, and the group accepted.")
            if invitation.source == Invitation.Source.OFFER
            else _("%(name)s said yes to “%(title)s”.")
        )
        % {"name": _markdown_text(name), "title": title},
        "\n".join(
            [
                "- " + _("Name: %(name)s") % {"name": _markdown_text(name)},
                "- " + _("Email: %(email)s") % {"email": _markdown_text(volunteer.email)},
                *(
                    ["- " + _("Phone: %(phone)s") % {"phone": _markdown_text(phone)}]
                    if phone
                    else []
                ),
            ]
        ),
        _(
            "They share these with %(group)s until %(until)s, for this need only, and can "
            "stop sharing them at any time."
        )
        % {"group": group_name, "until": until},
        _("Everyone for this need: [the need's people page](%(url)s).")
        % {"url": people_page_url(need)},
    ]
    send_notice(
        actor=actor,
        to=organisers,
        group=group,
        subject=_subject(
            _("%(name)s will help with “%(title)s”") % {"name": name, "title": need.title}
        ),
        body_markdown="\n\n".join(lines),
        now=now,
    )
    for organiser in organisers:
        log_access(
            actor=organiser,
            subjects=[volunteer],
            purpose="introduction",
            fields=grant.fields,
            group=group,
        )


# --- Saying no, withdrawing, expiring ----------------------------------------------------


@transaction.atomic
def do_decline(
    *, invitation: Invitation, actor: User, reason: str, now: datetime | None = None
) -> Invitation:
    """Say no (the volunteer), or turn down an offer (an organiser). The reason is one of
    `Invitation.DeclineReason`, or "" for none."""
    now = now or timezone.now()
    if reason not in Invitation.DeclineReason.values:
        raise _problem(_("Choose one of the reasons, or none."), "bad_reason")
    need, invitation = _lock(invitation)
    if not may_answer(actor, invitation):
        raise PermissionDenied("You can't answer this invitation.")
    check_can_answer(invitation, need, now)
    invitation.status = Invitation.Status.DECLINED
    invitation.answered_at = now
    invitation.decline_reason = reason
    if _relayed(actor, invitation):
        invitation.relayed_by = actor
    invitation.save(update_fields=["status", "answered_at", "decline_reason", "relayed_by"])
    turned_down = actor.pk != invitation.user_id and invitation.source == Invitation.Source.OFFER
    record_audit(
        actor=actor,
        action="needs.invitation_declined",
        obj=invitation,
        group=need.group,
        details={
            "need": need.public_id,
            "source": invitation.source,
            "reason": reason,
            "by": "group" if turned_down else "volunteer",
        },
    )
    if turned_down:
        send_notice(
            actor=actor,
            to=[invitation.user],
            group=need.group,
            subject=_subject(_("Your offer to help with “%(title)s”") % {"title": need.title}),
            body_markdown=_(
                "Thank you for offering to help with “%(title)s”. %(group)s doesn't need "
                "more people for it this time, so there's nothing more to do. We hope "
                "you'll offer again."
            )
            % {"title": _markdown_text(need.title), "group": _markdown_text(need.group.name)},
            now=now,
        )
    return invitation


@transaction.atomic
def do_withdraw_open_invitations(
    *, need: Need, actor: User | None, now: datetime | None = None, why: str
) -> int:
    """Withdraw every invitation to `need` still waiting for an answer, and tell those
    people `why`; returns how many. Callers hold the need's row lock."""
    now = now or timezone.now()
    waiting = list(
        Invitation.objects.select_for_update(of=("self",))
        .filter(need=need, status=Invitation.Status.PENDING)
        .select_related("user")
        .order_by("pk")
    )
    if not waiting:
        return 0
    Invitation.objects.filter(pk__in=[i.pk for i in waiting]).update(
        status=Invitation.Status.WITHDRAWN, answered_at=now
    )
    record_audits(
        audit_entry(
            actor=actor,
            action="needs.invitation_withdrawn",
            obj=invitation,
            group=need.group,
            details={"need": need.public_id, "source": invitation.source},
        )
        for invitation in waiting
    )
    send_notice(
        actor=actor,
        to=[i.user for i in waiting],
        group=need.group,
        subject=_subject(_("“%(title)s”: nothing more to do") % {"title": need.title}),
        body_markdown=_("About “%(title)s”, from %(group)s:")
        % {"title": _markdown_text(need.title), "group": _markdown_text(need.group.name)}
        + "\n\n"
        + why,
        now=now,
    )
    return len(waiting)


def _reopen_if_filled(need: Need, now: datetime) -> None:
    if need.status == Need.Status.FILLED and need.closes_on >= timezone.localdate(now):
        need.status = Need.Status.OPEN
        need.closed_at = None
        need.save(update_fields=["status", "closed_at", "updated_at"])


@transaction.atomic
def do_withdraw_acceptance(
    *, invitation: Invitation, actor: User, now: datetime | None = None
) -> Invitation:
    """The volunteer can't help after all: their details stop being shared, the place
    is free again (a filled need reopens), and the group's organisers are told."""
    now = now or timezone.now()
    need, invitation = _lock(invitation)
    if not may_answer(actor, invitation, to="change"):
        raise PermissionDenied("You can't change this answer.")
    if invitation.status != Invitation.Status.ACCEPTED:
        raise _problem(
            _("You haven't said yes to this need, so there's nothing to withdraw."), "not_accepted"
        )
    if invitation.helped is not None:
        raise _problem(
            _("The group has already recorded how it went, so your yes can't be withdrawn now."),
            "outcome_recorded",
        )
    if need.status not in (
        Need.Status.OPEN,
        Need.Status.FILLED,
    ) or need.closes_on < timezone.localdate(now):
        raise _problem(
            _(
                "This need is over, so there's nothing to withdraw from. You can still stop "
                "sharing your details on your introductions page."
            ),
            "need_over",
        )
    ContactGrant.objects.filter(invitation=invitation, revoked_at__isnull=True).update(
        revoked_at=now
    )
    invitation.status = Invitation.Status.WITHDRAWN
    invitation.answered_at = now
    invitation.reconfirm_requested_at = None
    invitation.save(update_fields=["status", "answered_at", "reconfirm_requested_at"])
    Need.objects.filter(pk=need.pk, filled_count__gt=0).update(
        filled_count=F("filled_count") - 1, updated_at=now
    )
    need.refresh_from_db(fields=["filled_count"])
    was = need.status
    _reopen_if_filled(need, now)
    record_audit(
        actor=actor,
        action="needs.acceptance_withdrawn",
        obj=invitation,
        group=need.group,
        details={"need": need.public_id, "reopened": was != need.status},
    )
    send_notice(
        actor=actor,
        to=_organisers_to_tell(invitation, need),
        group=need.group,
        subject=_subject(_("A place is free again on “%(title)s”") % {"title": need.title}),
        body_markdown=_(
            "Someone who said yes to “%(title)s” can't help after all, so one place is free "
            "again (%(left)d of %(needed)d left). Their details are no longer shared with "
            "the group. [The need's people page](%(url)s)"
        )
        % {
            "title": _markdown_text(need.title),
            "left": need.places_left,
            "needed": need.people_needed,
            "url": people_page_url(need),
        },
        now=now,
    )
    return invitation


@transaction.atomic
def do_reconfirm(*, invitation: Invitation, actor: User, now: datetime | None = None) -> Invitation:
    """After a material change to the need, the volunteer says their yes still stands."""
    now = now or timezone.now()
    need, invitation = _lock(invitation)
    if not may_answer(actor, invitation, to="change"):
        raise PermissionDenied("You can't change this answer.")
    if invitation.status != Invitation.Status.ACCEPTED:
        raise _problem(
            _("You haven't said yes to this need, so there's nothing to confirm."), "not_accepted"
        )
    if invitation.reconfirm_requested_at is None:
        raise _problem(
            _("Nothing has changed that needs you to confirm again."), "nothing_to_confirm"
        )
    invitation.reconfirm_requested_at = None
    invitation.save(update_fields=["reconfirm_requested_at"])
    record_audit(
        actor=actor,
        action="needs.acceptance_reconfirmed",
        obj=invitation,
        group=need.group,
        details={"need": need.public_id},
    )
    return invitation


@transaction.atomic
def expire_invitations(now: datetime | None = None) -> int:
    """Mark every invitation past its expiry and still unanswered as expired."""
    now = now or timezone.now()
    lapsed = list(
        Invitation.objects.select_for_update(of=("self",))
        .filter(status=Invitation.Status.PENDING, expires_at__lte=now)
        .select_related("need__group")
        .order_by("pk")
    )
    if not lapsed:
        return 0
    Invitation.objects.filter(
        pk__in=[i.pk for i in lapsed], status=Invitation.Status.PENDING
    ).update(status=Invitation.Status.EXPIRED, answered_at=now)
    record_audits(
        audit_entry(
            actor=None,
            action="needs.invitation_expired",
            obj=invitation,
            group=invitation.need.group,
            details={"need": invitation.need.public_id},
        )
        for invitation in lapsed
    )
    return len(lapsed)


# --- Grants, from the volunteer's side ---------------------------------------------------


def _lock_grant(grant: ContactGrant) -> tuple[Need, ContactGrant]:
    need = (
        Need.objects.select_for_update(of=("self",)).select_related("group").get(pk=grant.need_id)
    )
    fresh = ContactGrant.objects.select_for_update(of=("self",)).get(pk=grant.pk)
    fresh.need = need
    return need, fresh


@transaction.atomic
def do_revoke_grant(
    *, grant: ContactGrant, actor: User, now: datetime | None = None
) -> ContactGrant:
    """Stop sharing: from now on the group's organisers no longer see the details."""
    now = now or timezone.now()
    need, grant = _lock_grant(grant)
    if actor.pk != grant.user_id:
        raise PermissionDenied("Only the person who shared their details can stop sharing.")
    if grant.revoked_at is not None:
        raise _problem(_("You've already stopped sharing your details for this need."), "revoked")
    grant.revoked_at = now
    grant.save(update_fields=["revoked_at"])
    record_audit(
        actor=actor,
        action="needs.grant_revoked",
        obj=grant,
        group=need.group,
        details={"need": need.public_id, "was_current": grant.expires_at > now},
    )
    return grant


# Renewing must add at least this much, so the button isn't offered for a few seconds.
MIN_RENEWAL = timedelta(days=1)


def renewal_expiry(grant: ContactGrant, need: Need, now: datetime) -> datetime | None:
    """Until when renewing `grant` at `now` would share the details; None when that adds
    nothing worth having (the grant already lasts as long as the need allows)."""
    expires = grant_expiry(need, now)
    return expires if expires >= grant.expires_at + MIN_RENEWAL else None


@transaction.atomic
def do_renew_grant(
    *, grant: ContactGrant, actor: User, now: datetime | None = None
) -> ContactGrant:
    """Share again for longer, for an ongoing need that is still going."""
    now = now or timezone.now()
    need, grant = _lock_grant(grant)
    if actor.pk != grant.user_id:
        raise PermissionDenied("Only the person who shared their details can renew sharing.")
    if grant.revoked_at is not None:
        raise _problem(
            _("You stopped sharing your details for this need, so there's nothing to renew."),
            "revoked",
        )
    if need.status == Need.Status.CLOSED or need_ends_at(need) <= now:
        raise _problem(_("This need is over, so there's nothing to renew."), "need_over")
    expires = renewal_expiry(grant, need, now)
    if expires is None:
        raise _problem(
            _("Your details are already shared for as long as this need lasts, and a month after."),
            "nothing_to_renew",
        )
    was = grant.expires_at
    grant.expires_at = expires
    grant.renewed_at = now
    grant.save(update_fields=["expires_at", "renewed_at"])
    record_audit(
        actor=actor,
        action="needs.grant_renewed",
        obj=grant,
        group=need.group,
        details={"need": need.public_id, "from": was.isoformat(), "to": expires.isoformat()},
    )
    return grant
