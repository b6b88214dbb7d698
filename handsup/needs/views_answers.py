"""The volunteer's side of an invitation: answering it, and the introductions it made.

`answer` is the page an ask's email links to. It only ever shows the signed-in person's
own invitation: a link to someone else's (or to a need nobody asked them about) gets a
plain "no invitation for you here" page with status 404, the same as a need that doesn't
exist. The changes are `answers.py` actions, which check everything again.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.needs import answers
from handsup.needs.grants import access_own_grant, grants_of
from handsup.needs.models import Invitation, Need
from handsup.people.forms import SLOTS, availability_grid
from handsup.people.models import Profile

YES, NO = "yes", "no"

# The reasons someone may give for saying no, in the order the page shows them; "" is
# "rather not say", so saying no never needs a reason.
DECLINE_CHOICES = [
    (Invitation.DeclineReason.NOT_NOW.value, gettext_lazy("Not now: I can't this time")),
    (
        Invitation.DeclineReason.NOT_THIS_KIND.value,
        gettext_lazy("This isn't the kind of thing I do"),
    ),
    (Invitation.DeclineReason.TOO_MANY_ASKS.value, gettext_lazy("I'm getting too many asks")),
    (Invitation.DeclineReason.NONE_GIVEN.value, gettext_lazy("I'd rather not say")),
]


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label=gettext_lazy("Can you help?"),
        choices=[(YES, gettext_lazy("Yes, I can help")), (NO, gettext_lazy("No, not this time"))],
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose yes or no."),
            "invalid_choice": gettext_lazy("Choose yes or no."),
        },
    )
    share_phone = forms.BooleanField(required=False)
    reason = forms.ChoiceField(
        label=gettext_lazy("If you're saying no, would you tell us why? (You don't have to.)"),
        choices=DECLINE_CHOICES,
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": gettext_lazy("Choose one of the reasons, or none.")},
    )

    def __init__(self, *args: object, phone: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.phone = phone
        self.fields["share_phone"].label = _("Also share my phone number, %(phone)s") % {
            "phone": phone
        }


def _phone(request: AuthenticatedRequest) -> str:
    phone = (
        Profile.objects.filter(person__user=request.user).values_list("phone", flat=True).first()
    )
    return (phone or "").strip()


def _when(need: Need) -> dict[str, object]:
    return {
        "windows": list(need.windows.all()),
        "weekly_slots": [
            f"{day} {slot}"
            for day, cells in availability_grid(need.weekly_slots)
            for slot, free in zip(SLOTS, cells, strict=True)
            if free
        ],
    }


def _state(invitation: Invitation, now: datetime) -> tuple[str, str]:
    """What the page shows: "ask" (waiting for their answer), "offer" (their offer is
    with the group), "accepted", or "over" with the reason in words."""
    need = invitation.need
    if invitation.status == Invitation.Status.ACCEPTED:
        return "accepted", ""
    if invitation.status == Invitation.Status.DECLINED:
        if invitation.source == Invitation.Source.OFFER:
            return "over", _(
                "Your offer is closed: you withdrew it, or the group didn't need more people "
                "this time. Thank you for offering."
            )
        return "over", _("You said no to this one. Thank you for letting the group know.")
    if invitation.status == Invitation.Status.WITHDRAWN and hasattr(invitation, "grant"):
        return "over", _(
            "You told the group you can't help after all. Thank you for letting them know."
        )
    try:
        answers.check_can_accept(invitation, need, now)
    except answers.InvitationProblem as problem:
        return "over", " ".join(problem.messages)
    if invitation.source == Invitation.Source.OFFER:
        return "offer", ""
    return "ask", ""


def _may_withdraw_yes(invitation: Invitation, now: datetime) -> bool:
    need = invitation.need
    return (
        invitation.status == Invitation.Status.ACCEPTED
        and invitation.helped is None
        and need.status in (Need.Status.OPEN, Need.Status.FILLED)
        and need.closes_on >= timezone.localdate(now)
    )


def _render_answer(
    request: AuthenticatedRequest,
    invitation: Invitation,
    *,
    form: AnswerForm | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    need = invitation.need
    state, why_over = _state(invitation, now)
    phone = _phone(request)
    if form is None:
        preselect = request.GET.get("answer")
        form = AnswerForm(
            initial={"answer": preselect if preselect in (YES, NO) else None}, phone=phone
        )
    grant = getattr(invitation, "grant", None) if state == "accepted" else None
    return render(
        request,
        "needs/answer.html",
        {
            "invitation": invitation,
            "need": need,
            "state": state,
            "why_over": why_over,
            "problem": problem,
            "form": form,
            "phone": phone,
            "grant": grant,
            "grant_until": answers.grant_expiry(need, now) if state == "ask" else None,
            "ongoing": need.schedule_kind == Need.ScheduleKind.ONGOING,
            "may_withdraw_yes": _may_withdraw_yes(invitation, now),
            **_when(need),
        },
        status=status,
    )


@login_required
def answer(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """Say yes (choosing what to share) or no (with a reason if they like); confirm a
    yes again after the need changed, or withdraw it."""
    try:
        invitation = answers.access_own_invitation(request.user, public_id)
    except Http404:
        return render(request, "needs/answer_missing.html", status=404)
    if request.method != "POST":
        return _render_answer(request, invitation)

    action = request.POST.get("action", "")
    form = None
    try:
        if action == "answer" and invitation.source == Invitation.Source.ASK:
            form = AnswerForm(request.POST, phone=_phone(request))
            if not form.is_valid():
                return _render_answer(request, invitation, form=form, status=400)
            if form.cleaned_data["answer"] == YES:
                answers.do_accept(
                    invitation=invitation,
                    actor=request.user,
                    share_phone=bool(form.cleaned_data["share_phone"] and form.phone),
                )
                messages.success(
                    request,
                    _(
                        "Thank you for saying yes. We've emailed you and the group to "
                        "introduce you."
                    ),
                )
            else:
                answers.do_decline(
                    invitation=invitation, actor=request.user, reason=form.cleaned_data["reason"]
                )
                messages.success(request, _("Thank you for letting the group know."))
        elif action == "withdraw_offer" and invitation.source == Invitation.Source.OFFER:
            answers.do_decline(invitation=invitation, actor=request.user, reason="")
            messages.success(request, _("Your offer is withdrawn."))
        elif action == "reconfirm":
            answers.do_reconfirm(invitation=invitation, actor=request.user)
            messages.success(request, _("Thank you: the group knows you can still help."))
        elif action == "withdraw_yes":
            answers.do_withdraw_acceptance(invitation=invitation, actor=request.user)
            messages.success(
                request,
                _(
                    "You're no longer down to help, and your details are no longer shared. "
                    "We've told the group."
                ),
            )
        else:
            return _render_answer(
                request,
                invitation,
                problem=_("Something went wrong with that button. Please try again."),
                status=400,
            )
    except (answers.InvitationProblem, PermissionDenied) as error:
        text = (
            " ".join(error.messages)
            if isinstance(error, answers.InvitationProblem)
            else _("You can't do that with this invitation.")
        )
        invitation.refresh_from_db()
        return _render_answer(request, invitation, form=form, problem=text, status=409)
    return redirect("needs:answer", public_id=public_id)


@login_required
def my_grants(request: AuthenticatedRequest) -> HttpResponse:
    """Every group the person has shared their details with, for which need and until
    when; stop sharing or renew from here."""
    return render(request, "needs/my_grants.html", {"rows": grants_of(request.user)})


@login_required
@require_POST
def revoke_grant(request: AuthenticatedRequest, invitation_id: str) -> HttpResponse:
    grant = access_own_grant(request.user, invitation_id)
    try:
        answers.do_revoke_grant(grant=grant, actor=request.user)
    except answers.InvitationProblem as problem:
        messages.error(request, " ".join(problem.messages))
    else:
        messages.success(
            request,
            _("%(group)s's organisers can no longer see your details for “%(title)s”.")
            % {"group": grant.group.name, "title": grant.need.title},
        )
    # The "Your data" page posts here too and wants the person back there (a name from a
    # fixed list, never a URL, so this can't redirect anywhere else).
    if request.POST.get("back") == "ledger":
        return redirect("privacy:ledger")
    return redirect("needs:my_grants")


@login_required
@require_POST
def renew_grant(request: AuthenticatedRequest, invitation_id: str) -> HttpResponse:
    grant = access_own_grant(request.user, invitation_id)
    try:
        renewed = answers.do_renew_grant(grant=grant, actor=request.user)
    except answers.InvitationProblem as problem:
        messages.error(request, " ".join(problem.messages))
    else:
        messages.success(
            request,
            _("You're sharing your details with %(group)s until %(until)s.")
            % {
                "group": grant.group.name,
                "until": format_date(timezone.localtime(renewed.expires_at), "j F Y"),
            },
        )
    return redirect("needs:my_grants")
