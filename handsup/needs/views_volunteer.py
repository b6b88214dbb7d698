"""The volunteer's side of needs: "Needs for me", offering to help, "My commitments"
(with hours and a calendar file).

Everything here is the signed-in person's own: their list, their offers, their
invitations. Nothing shows anyone else's personal data, so nothing is access-logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from handsup.accounts.models import User
from handsup.core.http import AuthenticatedRequest
from handsup.needs import afterwards, offers
from handsup.needs.access import access_need
from handsup.needs.calendar import commitments_calendar
from handsup.needs.for_me import NEAR_ME, REMOTE_ONLY, ForMeFilters, needs_page
from handsup.needs.models import HoursLog, Invitation, Need
from handsup.needs.needs_index import volunteer_facts
from handsup.needs.views import need_page

# --- Needs for me -------------------------------------------------------------------------


class ForMeFilterForm(forms.Form):
    """The list's filters, from the query string; a bad value gets a message beside its
    field and the list is shown without that filter."""

    where = forms.ChoiceField(
        label=gettext_lazy("Where"),
        choices=[
            ("", gettext_lazy("Anywhere I fit")),
            (REMOTE_ONLY, gettext_lazy("Remote only")),
            (NEAR_ME, gettext_lazy("Near me: on site, within how far I'll travel")),
        ],
        required=False,
        widget=forms.RadioSelect,
    )
    skill = forms.TypedChoiceField(
        label=gettext_lazy("Asking for my skill"),
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args: Any, skills: Iterable[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["skill"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any of my skills")), *skills]

    def filters(self) -> ForMeFilters:
        cleaned = getattr(self, "cleaned_data", {})
        return ForMeFilters(
            where="" if "where" in self.errors else cleaned.get("where") or "",
            skill_id=None if "skill" in self.errors else cleaned.get("skill"),
        )


@login_required
def for_me(request: AuthenticatedRequest) -> HttpResponse:
    """Open needs the person fits, best first, and those they already heard about."""
    # Everything the rules read of the person, in one query: their skills fill the form.
    facts = volunteer_facts(request.user)
    skills = sorted(
        (facts.skill_names.items() if facts else ()), key=lambda item: item[1].casefold()
    )
    query = request.GET.copy()
    page_number = _page_number(query.pop("page", [""])[-1])
    form = ForMeFilterForm(query or None, skills=skills)
    valid = form.is_valid() if form.is_bound else True
    page = needs_page(request.user, filters=form.filters(), page=page_number, facts=facts)
    return render(
        request,
        "needs/for_me.html",
        {
            "form": form,
            "fitting": page.fitting,
            "heard": page.heard,
            "page": page,
            "more_query": _with_page(query, page.page + 1),
            "back_query": _with_page(query, page.page - 1) if page.page > 1 else "",
            "has_skills": bool(skills),
            "filtered": any(form.filters().__dict__.values()),
        },
        status=200 if valid else 400,
    )


def _page_number(raw: str) -> int:
    """The `page` parameter; anything but a whole number from 1 is page 1."""
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 100_000 else 1


def _with_page(query: Any, number: int) -> str:
    wanted = query.copy()
    wanted["page"] = str(number)
    return str(wanted.urlencode())


# --- Offering -----------------------------------------------------------------------------

OFFER_REFUSAL_STATUS = {"not_findable": 403, "blocked": 403, "not_open": 400, "already": 400}


@login_required
@require_POST
def offer(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    need = access_need(request.user, public_id, "view")
    share_phone = request.POST.get("share_phone") in ("on", "1", "true", "yes")
    try:
        offers.check_can_offer(actor=request.user, need=need)
        offers.do_offer(actor=request.user, need=need, share_phone=share_phone)
    except offers.OfferRefused as refusal:
        if refusal.code == "not_found":
            raise Http404("No such need.") from refusal
        # Shown on the need's page as it stands, with nothing changed.
        return need_page(
            request,
            public_id,
            problem=str(refusal.message),
            status=OFFER_REFUSAL_STATUS.get(refusal.code or "", 400),
        )
    messages.success(
        request,
        _(
            "Thank you: we have told %(group)s you'd like to help. They see your skills, "
            "not your name, until they accept your offer."
        )
        % {"group": need.group.name},
    )
    return redirect("needs:page", public_id=need.public_id)


# --- My commitments -------------------------------------------------------------------------


class HoursForm(forms.Form):
    hours = forms.CharField(
        label=gettext_lazy("Hours"),
        max_length=10,
        help_text=gettext_lazy("For one day, to one decimal place, such as 2 or 1.5."),
    )
    on_date = forms.DateField(
        label=gettext_lazy("On"),
        # A date picker sends and shows ISO dates, whatever the language of the page.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("Give the day as a date, such as 2026-05-01.")},
    )
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"),
        max_length=afterwards.MAX_NOTE_LENGTH,
        required=False,
    )

    def clean_hours(self) -> Decimal:
        value = afterwards.parse_hours(self.cleaned_data["hours"])
        if value is None:
            raise ValidationError(_("Give the hours as a number, such as 2 or 1.5."))
        return value


def _my_invitations(user: User) -> list[Invitation]:
    return list(
        Invitation.objects.filter(user=user)
        .select_related("need__group")
        .prefetch_related(
            "need__windows",
            Prefetch("hours", HoursLog.objects.order_by("-on_date", "-pk")),
        )
        .annotate(hours_total=Sum("hours__hours"))
        .order_by("-created_at", "pk")
    )


def _next_time(need: Need, now: datetime) -> datetime | None:
    """When the need next happens for them, or None if it is over."""
    if need.schedule_kind == Need.ScheduleKind.ONGOING:
        return now if need.closes_on >= timezone.localdate(now) else None
    upcoming = [w.starts_at for w in need.windows.all() if w.ends_at > now]
    return min(upcoming, default=None)


def _render_my_needs(
    request: AuthenticatedRequest, *, bound: tuple[str, HoursForm] | None = None, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    invitations = _my_invitations(request.user)
    accepted = [i for i in invitations if i.status == Invitation.Status.ACCEPTED]
    upcoming = sorted(
        (i for i in accepted if _next_time(i.need, now) is not None),
        key=lambda i: (_next_time(i.need, now), i.pk),
    )
    past = [i for i in accepted if _next_time(i.need, now) is None]
    rows = []
    for invitation in [*upcoming, *past]:
        form = (
            bound[1]
            if bound and bound[0] == invitation.public_id
            else HoursForm(
                prefix=invitation.public_id,
                initial={"on_date": timezone.localdate(now)},
            )
        )
        rows.append({"invitation": invitation, "form": form, "over": invitation in past})
    return render(
        request,
        "needs/my_needs.html",
        {
            "rows": rows,
            "asked": [
                i
                for i in invitations
                if i.status == Invitation.Status.PENDING and i.source == Invitation.Source.ASK
            ],
            "offered": [
                i
                for i in invitations
                if i.status == Invitation.Status.PENDING and i.source == Invitation.Source.OFFER
            ],
        },
        status=status,
    )


@login_required
def my_needs(request: AuthenticatedRequest) -> HttpResponse:
    return _render_my_needs(request)


@login_required
@require_POST
def log_my_hours(request: AuthenticatedRequest, invitation_id: str) -> HttpResponse:
    invitation = (
        Invitation.objects.filter(
            user=request.user, public_id=invitation_id, status=Invitation.Status.ACCEPTED
        )
        .select_related("need__group")
        .first()
    )
    if invitation is None:
        raise Http404("No such commitment.")
    form = HoursForm(request.POST, prefix=invitation.public_id)
    if form.is_valid():
        try:
            afterwards.do_log_hours(
                actor=request.user,
                invitation=invitation,
                hours=form.cleaned_data["hours"],
                on_date=form.cleaned_data["on_date"],
                note=form.cleaned_data["note"],
            )
        except PermissionDenied as error:  # the checks above make this unreachable
            raise Http404("No such commitment.") from error
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request,
                _("%(hours)s hours logged for “%(title)s”. Thank you.")
                % {
                    "hours": f"{form.cleaned_data['hours'].normalize():f}",
                    "title": invitation.need.title,
                },
            )
            return redirect("needs:my_needs")
    return _render_my_needs(request, bound=(invitation.public_id, form), status=400)


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    """The action's messages beside the fields they are about (the rest above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, problems in error.message_dict.items():
        form.add_error(name if name in form.fields else None, problems)


@login_required
def calendar(request: AuthenticatedRequest) -> HttpResponse:
    response = HttpResponse(
        commitments_calendar(request.user), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="hands-up-commitments.ics"'
    response["Cache-Control"] = "private, no-store"
    return response
