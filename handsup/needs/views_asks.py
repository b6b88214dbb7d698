"""Asking people from a need's shortlist, and the relay list of people who are not online.

- `invite` (POST from the shortlist's cards): what asking them would do, counted, with a
  "Send the asks" button. Writes nothing.
- `invite_send` (POST): asks them (`asks.do_invite`), then goes on to the need's people.
- `relay_list`: a group's organisers see the pending asks of the people the group
  registered on paper or by phone, with the name, number and address they may use
  (access-logged), and record each answer (`relay_answer`).

Cards are posted as their per-need pseudonym hashes, never ids; the server maps them
back by working out who is eligible now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.groups.access import access_group
from handsup.groups.models import Group
from handsup.needs import asks
from handsup.needs.access import access_group_need
from handsup.needs.answers import InvitationProblem
from handsup.needs.matching import people_for_digests
from handsup.needs.models import Invitation, Need
from handsup.needs.relay import (
    RelayedAnswer,
    RelayProblem,
    access_relay_invitation,
    do_record_relayed_answer,
    relay_invitations,
)
from handsup.privacy.access import log_access

# A shortlist shows at most 50 cards; anything far beyond that is not a real form.
MAX_PICKED = 200
NOBODY_PICKED = gettext_lazy("Pick at least one person to ask.")
ALREADY_ASKED_MESSAGE = gettext_lazy(
    "Everyone you picked has already been asked for this need, or offered to help: "
    "nobody was asked again."
)

# Why someone picked can't be asked, in the organiser's words (pacing's own labels are
# written to the person themselves).
REFUSAL_LABELS = {
    asks.NO_LONGER_ELIGIBLE: gettext_lazy(
        "no longer on the shortlist (asked since, at their limit of asks, or changed "
        "their settings)"
    ),
    asks.ALREADY_ASKED: gettext_lazy("already asked for this need, or offered to help"),
    asks.NO_WAY_TO_REACH: gettext_lazy(
        "no email address we may use, and no group that may phone or write to them"
    ),
    "unsubscribed": gettext_lazy("unsubscribed from asks or from your group"),
    "no_consent": gettext_lazy("not agreed to your group emailing them"),
    "blocked": gettext_lazy("blocked your group"),
    "email_off": gettext_lazy("asked not to be contacted by email"),
    "no_address": gettext_lazy("no email address that works"),
    "address_bounced": gettext_lazy("their email address bounces"),
    "complained": gettext_lazy("reported our email as spam"),
    "over_budget_day": gettext_lazy("had as many asks today as they want"),
    "over_budget_week": gettext_lazy("had as many asks this week as they want"),
}


def refusal_rows(refused: dict[str, int]) -> list[tuple[str, int]]:
    return [(str(REFUSAL_LABELS.get(reason, reason)), count) for reason, count in refused.items()]


def _picked(request: AuthenticatedRequest) -> list[str]:
    return [digest for digest in request.POST.getlist("person") if digest][: MAX_PICKED + 1]


@login_required
@require_POST
def invite(request: AuthenticatedRequest, public_id: str, need_id: str) -> HttpResponse:
    """What asking the picked people would do: how many go now, wait for quiet hours
    to end, go on a relay list, or can't be asked, and why. Changes nothing."""
    group = access_group(request.user, public_id, "organise")
    need = access_group_need(request.user, group, need_id)
    picked = _picked(request)
    problem = None
    plan = None
    digests: list[str] = []
    if need.status != Need.Status.OPEN:
        problem = _("“%(title)s” is not open, so nobody can be asked for it.") % {
            "title": need.title
        }
    elif not picked:
        problem = str(NOBODY_PICKED)
    elif len(picked) > MAX_PICKED:
        problem = _("Pick at most %(n)d people at a time.") % {"n": MAX_PICKED}
    else:
        found, gone = people_for_digests(need, picked)
        already = asks.count_already_asked(need, gone)
        plan = asks.plan_asks(
            need, list(found.values()), not_eligible=len(gone) - already, already_asked=already
        )
        still = set(plan.user_ids)
        digests = [digest for digest, user_id in found.items() if user_id in still]
        # Counts of a handful of pseudonymous people still say something about each.
        log_access(
            actor=request.user,
            subjects=list(found.values()),
            purpose="ask_preview",
            fields=["contact_preferences", "asks_history"],
            group=group,
        )
    return render(
        request,
        "needs/ask_confirm.html",
        {
            "group": group,
            "need": need,
            "problem": problem,
            "plan": plan,
            "digests": digests,
            "refusals": refusal_rows(plan.refused) if plan else [],
        },
        status=400 if problem else 200,
    )


@login_required
@require_POST
def invite_send(request: AuthenticatedRequest, public_id: str, need_id: str) -> HttpResponse:
    """Ask the picked people; any problem goes back to the shortlist with its message."""
    group = access_group(request.user, public_id, "organise")
    need = access_group_need(request.user, group, need_id)
    back = redirect("needs:shortlist", public_id=group.public_id, need_id=need.public_id)
    picked = _picked(request)
    if not picked or len(picked) > MAX_PICKED:
        messages.error(request, str(NOBODY_PICKED))
        return back
    found, gone = people_for_digests(need, picked)
    if not found and need.status == Need.Status.OPEN:
        if asks.count_already_asked(need, gone) == len(gone):
            messages.error(request, str(ALREADY_ASKED_MESSAGE))
            return back
        messages.error(
            request,
            _(
                "None of the people you picked can be asked now: they may have been asked "
                "since, reached their limit of asks, or changed their settings. Pick "
                "others from the shortlist."
            ),
        )
        return back
    try:
        result = asks.do_invite(actor=request.user, need=need, user_ids=list(found.values()))
    except asks.AskProblem as problem:
        messages.error(request, " ".join(problem.messages))
        return back
    except IntegrityError:
        messages.error(
            request,
            _("Someone else asked some of these people just now. Nobody was asked: try again."),
        )
        return back
    summary = result.summary()
    if gone:
        summary += " " + ngettext(
            "%(n)d person you picked is no longer on the shortlist, so was not asked.",
            "%(n)d people you picked are no longer on the shortlist, so were not asked.",
            len(gone),
        ) % {"n": len(gone)}
    messages.success(request, summary)
    return redirect(_after_asking(group, need))


def _after_asking(group: Group, need: Need) -> str:
    """The need's people page, where the invitations now are; the needs list until that
    page exists."""
    try:
        return reverse("needs:people", args=[group.public_id, need.public_id])
    except NoReverseMatch:
        return reverse("needs:group_needs", args=[group.public_id])


# --- The relay list -----------------------------------------------------------------------

YES, NO = "yes", "no"


class RelayAnswerForm(forms.Form):
    """What the person said when an organiser phoned or wrote."""

    answer = forms.ChoiceField(
        label=gettext_lazy("What did they say?"),
        choices=[(YES, gettext_lazy("Yes, they can help")), (NO, gettext_lazy("No"))],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Say whether they can help.")},
    )
    share_phone = forms.BooleanField(
        label=gettext_lazy("They agree to the group that asked seeing their phone number"),
        required=False,
    )
    reason = forms.ChoiceField(
        label=gettext_lazy("If no, why (if they said)"),
        choices=[
            (Invitation.DeclineReason.NONE_GIVEN.value, gettext_lazy("They didn't say")),
            (Invitation.DeclineReason.NOT_NOW.value, gettext_lazy("Not now")),
            (Invitation.DeclineReason.NOT_THIS_KIND.value, gettext_lazy("Not this kind of thing")),
            (Invitation.DeclineReason.TOO_MANY_ASKS.value, gettext_lazy("Too many asks")),
        ],
        required=False,
    )

    def relayed_answer(self) -> RelayedAnswer:
        yes = self.cleaned_data["answer"] == YES
        return RelayedAnswer(
            yes=yes,
            share_phone=yes and bool(self.cleaned_data.get("share_phone")),
            reason="" if yes else self.cleaned_data.get("reason") or "",
        )


def _answer_form(invitation: Invitation, data: object = None) -> RelayAnswerForm:
    # Field names are the same on every row (so a post is simple); ids are per row.
    return RelayAnswerForm(data, auto_id=f"id_{invitation.public_id}_%s")  # type: ignore[arg-type]


@dataclass
class RelayRow:
    invitation: Invitation
    name: str
    phone: str
    postal_address: str
    form: RelayAnswerForm

    @property
    def when(self) -> str:
        return asks.when_text(self.invitation.need)

    @property
    def answer_by(self) -> date:
        # An invitation lapses at midnight at the end of the day it names.
        return timezone.localdate(self.invitation.expires_at - timedelta(seconds=1))


def _render_relay(
    request: AuthenticatedRequest,
    group: Group,
    *,
    bound: RelayAnswerForm | None = None,
    bound_for: Invitation | None = None,
    problem: str | None = None,
) -> HttpResponse:
    invitations = list(relay_invitations(group))
    rows = []
    shown: dict[tuple[str, ...], list[int]] = {}
    for invitation in invitations:
        person = invitation.user.person
        profile = getattr(person, "profile", None)
        # Only the ways the group may use: annotated by `relay_invitations`.
        by_phone, by_post = (
            getattr(invitation, "by_phone", False),
            getattr(invitation, "by_post", False),
        )
        phone = profile.phone if profile is not None and by_phone else ""
        address = profile.postal_address if profile is not None and by_post else ""
        fields = (
            ("full_name",)
            + (("phone",) if phone else ())
            + (("postal_address",) if address else ())
        )
        shown.setdefault(fields, []).append(invitation.user_id)
        is_bound = bound is not None and bound_for is not None and bound_for.pk == invitation.pk
        rows.append(
            RelayRow(
                invitation=invitation,
                name=invitation.user.full_name or person.display_name,
                phone=phone,
                postal_address=address,
                form=bound if is_bound and bound is not None else _answer_form(invitation),
            )
        )
    for fields, subjects in shown.items():
        log_access(
            actor=request.user, subjects=subjects, purpose="relay", fields=fields, group=group
        )
    failed = bound is not None or problem is not None
    return render(
        request,
        "needs/relay.html",
        {"group": group, "rows": rows, "problem": problem, "bound_for": bound_for},
        status=400 if failed else 200,
    )


@login_required
def relay_list(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    return _render_relay(request, group)


@login_required
@require_POST
def relay_answer(request: AuthenticatedRequest, public_id: str, invitation_id: str) -> HttpResponse:
    group = access_group(request.user, public_id, "organise")
    invitation = access_relay_invitation(group, invitation_id)
    if invitation is None:
        raise Http404("No such invitation.")
    form = _answer_form(invitation, request.POST)
    if not form.is_valid():
        return _render_relay(request, group, bound=form, bound_for=invitation)
    try:
        do_record_relayed_answer(
            actor=request.user, invitation=invitation, answer=form.relayed_answer()
        )
    except (InvitationProblem, RelayProblem) as error:
        return _render_relay(request, group, problem=" ".join(error.messages))
    except PermissionDenied as error:
        raise Http404("No such invitation.") from error
    # No name in the message: the next page is the relay list, which logs what it shows.
    messages.success(
        request,
        (
            _("Recorded: yes, they can help with “%(title)s”. We've introduced them to the group.")
            if form.cleaned_data["answer"] == YES
            else _("Recorded: they can't help with “%(title)s” this time.")
        )
        % {"title": invitation.need.title},
    )
    return redirect("needs:relay", public_id=group.public_id)
