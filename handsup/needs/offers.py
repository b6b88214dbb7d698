"""A volunteer offers to help with a need, without being asked.

An offer is an `Invitation` with source "offer": pending until the group's organisers
accept it (which releases the volunteer's name and chosen contact details, through
`answers.do_accept`) or turn it down. Until then the group sees a pseudonym only, so the
note telling its organisers names nobody.

Who may offer (`check_can_offer`, called by the view to show the reason and again by
`do_offer` under the need's lock):

- the need is open, and they may see its page (`need_policy` "view");
- they let groups find them for needs (`Person.objects.findable` by the need's group):
  an offer puts them in front of the group just as a shortlist would, so it needs the
  same consent, and withdrawing that consent must stop offers too;
- they have not blocked the group;
- they have no invitation for the need yet (asked, offered or answered: one per need).

What they are not asked for: the must-have skills, the distance, their ask budget. An
offer is their own choice, and the group decides whether it fits.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.models import GroupBlock, Membership
from handsup.groups.permissions import PRIVILEGED_GROUP_ROLES
from handsup.needs.answers import invitation_expiry
from handsup.needs.models import Invitation, Need
from handsup.needs.notices import send_notice
from handsup.needs.permissions import need_policy
from handsup.people.models import Person
from handsup.privacy.audit import record_audit


class OfferRefused(ValidationError):
    """An offer can't be made; the message says why, in words for the person.

    `code` says which rule: "not_found" (the view answers 404, as for a need they may
    not see), "not_findable" and "blocked" (403), "not_open" and "already" (400).
    """


def check_can_offer(*, actor: User, need: Need) -> None:
    """Refuse (`OfferRefused`) if `actor` may not offer for `need` now."""
    if not need_policy.allows(actor, "view", need):
        raise OfferRefused(_("There is no such need."), code="not_found")
    if not Need.objects.open().filter(pk=need.pk).exists():
        raise OfferRefused(
            _("This need isn't taking offers any more: it is %(status)s.")
            % {"status": need.get_status_display().lower()}
            if need.status != Need.Status.OPEN
            else _("This need isn't taking offers any more: it has closed."),
            code="not_open",
        )
    if not Person.objects.findable(by=need.group).filter(user=actor).exists():
        raise OfferRefused(
            _(
                "To offer, first let groups find you for needs that fit you: you can "
                "choose that under “who can find me” in your contact settings."
            ),
            code="not_findable",
        )
    if GroupBlock.objects.filter(user=actor, group=need.group).exists():
        raise OfferRefused(
            _(
                "You have blocked %(group)s, so you can't offer to help them. You can "
                "unblock them from the group's page."
            )
            % {"group": need.group.name},
            code="blocked",
        )
    existing = Invitation.objects.filter(need=need, user=actor).first()
    if existing is not None:
        raise OfferRefused(_already(existing), code="already")


def _already(invitation: Invitation) -> str:
    if invitation.status == Invitation.Status.PENDING:
        if invitation.source == Invitation.Source.OFFER:
            return _("You have already offered to help with this. The group will let you know.")
        return _("The group has already asked you about this need: answer their invitation.")
    if invitation.status == Invitation.Status.ACCEPTED:
        return _("You have already said yes to this need.")
    if invitation.status == Invitation.Status.DECLINED:
        return _("You said no to this need earlier, so we won't put you forward for it again.")
    return _("You were asked about this need before, so you can't offer for it again.")


@transaction.atomic
def do_offer(
    *, actor: User, need: Need, share_phone: bool, now: datetime | None = None
) -> Invitation:
    """Offer `actor` for `need`: a pending offer, and a note to the group's organisers."""
    now = now or timezone.now()
    # The same lock the answers take first, so an offer can't slip past a need filling.
    need = Need.objects.select_for_update(of=("self",)).select_related("group").get(pk=need.pk)
    check_can_offer(actor=actor, need=need)
    invitation = Invitation.objects.create(
        need=need,
        user=actor,
        source=Invitation.Source.OFFER,
        channel=Invitation.Channel.EMAIL,
        status=Invitation.Status.PENDING,
        share_phone=share_phone,
        created_at=now,
        expires_at=invitation_expiry(need, now),
    )
    record_audit(
        actor=actor,
        action="needs.offered",
        obj=invitation,
        group=need.group,
        details={"need": need.public_id, "share_phone": share_phone},
    )
    send_notice(
        actor=actor,
        to=_organisers_of(need, besides=actor),
        group=need.group,
        subject=_("Someone offered to help with “%(title)s”") % {"title": need.title},
        body_markdown=_(
            "A volunteer offered to help with “%(title)s”. We don't share who they are "
            "until you accept their offer.\n\n"
            "[See who has offered and answer them](%(url)s)"
        )
        % {"title": need.title, "url": people_page_url(need)},
        now=now,
    )
    return invitation


def _organisers_of(need: Need, *, besides: User) -> list[int]:
    return list(
        Membership.objects.filter(
            group=need.group,
            role__in=PRIVILEGED_GROUP_ROLES,
            user__is_active=True,
        )
        .exclude(user=besides)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def people_page_url(need: Need) -> str:
    """The organisers' page for the need's people, where they answer offers, in full."""
    return settings.SITE_URL + reverse("needs:people", args=[need.group.public_id, need.public_id])
