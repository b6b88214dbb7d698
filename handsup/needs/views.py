"""Posting and running a group's needs, and the page volunteers see for each need."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.access import access_group
from handsup.needs import actions, offers
from handsup.needs.access import access_group_need, access_need
from handsup.needs.edits import invitees_to_tell, material_parts
from handsup.needs.forms import NeedForm, ShortlistFilterForm
from handsup.needs.matching import SHORTLIST_SIZE, shortlist
from handsup.needs.models import Invitation, Need
from handsup.needs.permissions import need_policy
from handsup.needs.relay import relay_invitations
from handsup.people.forms import SLOTS, availability_grid
from handsup.privacy.access import log_access


@login_required
def group_needs(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """Every need of the group, newest first, with its status and how full it is."""
    group = access_group(request.user, public_id, "organise")
    needs = list(
        need_policy.needs_for(request.user, "manage")
        .filter(group=group)
        # Who was asked and who answered, for the link to each need's people page.
        .annotate(
            asked=Count("invitations", filter=Q(invitations__source=Invitation.Source.ASK)),
            said_yes=Count("invitations", filter=Q(invitations__status=Invitation.Status.ACCEPTED)),
            offers_waiting=Count(
                "invitations",
                filter=Q(
                    invitations__source=Invitation.Source.OFFER,
                    invitations__status=Invitation.Status.PENDING,
                ),
            ),
        )
        .order_by("-created_at")
    )
    # People only reachable by phone or post, whose asks this group passes on.
    relay_waiting = relay_invitations(group).count()
    return render(
        request,
        "needs/group_needs.html",
        {"group": group, "needs": needs, "relay_waiting": relay_waiting},
    )


@login_required
def new_need(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    form = NeedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        assert form.details is not None
        publish = "publish" in request.POST
        need = actions.do_create_need(
            actor=request.user, group=group, details=form.details, publish=publish
        )
        message = (
            _("“%(title)s” is open: volunteers can see it.")
            if publish
            else _("“%(title)s” is saved as a draft. Only your group's organisers see it.")
        )
        messages.success(request, message % {"title": need.title})
        return redirect("needs:group_needs", public_id=group.public_id)
    return render(
        request,
        "needs/need_form.html",
        {"group": group, "form": form, "need": None, "slots": SLOTS},
        status=400 if form.is_bound else 200,
    )


@login_required
def edit_need(request: AuthenticatedRequest, public_id: str, need_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    need = access_group_need(request.user, group, need_id)
    problem = None
    try:
        actions.check_can_edit(need)
    except actions.NeedRuleBroken as error:
        problem = str(error)
    form = NeedForm.for_need(need, request.POST if request.method == "POST" else None)
    if request.method == "POST" and problem is None and form.is_valid():
        assert form.details is not None
        changed = actions.do_update_need(actor=request.user, need=need, details=form.details)
        messages.success(
            request,
            _("Changes to “%(title)s” saved.") % {"title": form.details.title}
            if changed
            else _("Nothing was changed."),
        )
        # `do_update_need` told them (edits.tell_invitees_of_edit); say so.
        told = invitees_to_tell(need).count() if material_parts(changed) else 0
        if told:
            messages.info(
                request,
                ngettext(
                    "We told %(n)d invitee about the change.",
                    "We told %(n)d invitees about the change.",
                    told,
                )
                % {"n": told},
            )
        return redirect("needs:group_needs", public_id=group.public_id)
    return render(
        request,
        "needs/need_form.html",
        {"group": group, "form": form, "need": need, "problem": problem, "slots": SLOTS},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def publish_need(request: AuthenticatedRequest, public_id: str, need_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    need = access_group_need(request.user, group, need_id)
    try:
        actions.check_can_publish(need)
    except actions.NeedRuleBroken as error:
        messages.error(request, str(error))
    else:
        actions.do_publish_need(actor=request.user, need=need)
        messages.success(request, _("“%(title)s” is open.") % {"title": need.title})
    return redirect("needs:group_needs", public_id=group.public_id)


@login_required
@require_POST
def close_need(request: AuthenticatedRequest, public_id: str, need_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    need = access_group_need(request.user, group, need_id)
    try:
        actions.check_can_close(need)
    except actions.NeedRuleBroken as error:
        messages.error(request, str(error))
    else:
        actions.do_close_need(actor=request.user, need=need)
        messages.success(request, _("“%(title)s” is closed.") % {"title": need.title})
    return redirect("needs:group_needs", public_id=group.public_id)


# What a shortlist card shows of each person, for the access log.
SHORTLIST_FIELDS = ["skills", "distance_band", "availability", "asks_history"]


@login_required
def need_shortlist(request: AuthenticatedRequest, public_id: str, need_id: str) -> HttpResponse:
    """The top pseudonymous cards for a draft or open need, with the organiser's filters.

    Every person shown is written to the access log, even though the cards name nobody:
    the group learns something about each of them."""
    group = access_group(request.user, public_id, "organise")
    need = access_group_need(request.user, group, need_id)
    form = ShortlistFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    cards = []
    if need.is_editable:
        cards = shortlist(need, filters=form.filters())
        log_access(
            actor=request.user,
            subjects=[card.user_id for card in cards],
            purpose="shortlist",
            fields=SHORTLIST_FIELDS,
            group=group,
        )
    return render(
        request,
        "needs/shortlist.html",
        {
            "group": group,
            "need": need,
            "form": form,
            "cards": cards,
            "size": SHORTLIST_SIZE,
            "remote": need.location_kind == Need.LocationKind.REMOTE,
        },
        status=200 if valid else 400,
    )


@login_required
def need_page(
    request: AuthenticatedRequest, public_id: str, *, problem: str = "", status: int = 200
) -> HttpResponse:
    """What the need is, roughly where, when, and which group asks: nothing about anyone
    but the person looking (their own invitation, or the form to offer to help).

    `problem`: why an offer just made was refused (the offer view shows this page)."""
    need = access_need(request.user, public_id, "view")
    invitation = Invitation.objects.filter(need=need, user=request.user).first()
    offer_problem = ""
    can_offer = False
    if invitation is None and need.status == Need.Status.OPEN and not problem:
        try:
            offers.check_can_offer(actor=request.user, need=need)
            can_offer = True
        except offers.OfferRefused as refusal:
            # Not open any more (a passed closing date) says nothing worth a notice.
            offer_problem = "" if refusal.code == "not_open" else str(refusal.message)
    return render(
        request,
        "needs/need_page.html",
        {
            "need": need,
            "skills": need.skills.select_related("skill"),
            "windows": need.windows.all(),
            "weekly_slots": [
                f"{day} {slot}"
                for day, cells in availability_grid(need.weekly_slots)
                for slot, free in zip(SLOTS, cells, strict=True)
                if free
            ],
            "can_manage": need_policy.allows(request.user, "manage", need),
            "invitation": invitation,
            "can_offer": can_offer,
            "offer_problem": problem or offer_problem,
        },
        status=status,
    )
