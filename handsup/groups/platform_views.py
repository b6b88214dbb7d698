"""Movement-wide administration: limits and suspensions (platform admins only)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.core.http import AuthenticatedRequest
from handsup.groups import actions
from handsup.groups.access import access_group
from handsup.groups.forms import MovementLimitsForm, ReasonForm
from handsup.groups.models import MovementLimits
from handsup.groups.permissions import is_platform_admin


def _require_platform_admin(request: AuthenticatedRequest) -> None:
    if not is_platform_admin(request.user):
        raise PermissionDenied


@login_required
def limits(request: AuthenticatedRequest) -> HttpResponse:
    _require_platform_admin(request)
    form = MovementLimitsForm(request.POST or None, instance=MovementLimits.current())
    if request.method == "POST" and form.is_valid():
        actions.do_update_movement_limits(
            actor=request.user,
            changes={field: form.cleaned_data[field] for field in MovementLimitsForm.Meta.fields},
        )
        messages.success(request, _("Movement limits saved."))
        return redirect("platform_limits")
    return render(
        request,
        "groups/platform_limits.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@login_required
def suspend_group(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    _require_platform_admin(request)
    group = access_group(request.user, public_id, "administer")
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.do_suspend_group(
            actor=request.user, group=group, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("%(group)s is suspended.") % {"group": group.name})
        return redirect("platform")
    return render(
        request,
        "groups/suspend.html",
        {"form": form, "what": group.name},
        status=400 if form.is_bound else 200,
    )


@login_required
def suspend_person(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    _require_platform_admin(request)
    person = User.objects.filter(public_id=public_id, is_active=True).first()
    if person is None or person.pk == request.user.pk:
        from django.http import Http404

        raise Http404("No such person.")
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.do_suspend_person(
            actor=request.user, user=person, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("That account is suspended."))
        return redirect("platform")
    return render(
        request,
        "groups/suspend.html",
        {"form": form, "what": _("the account %(id)s") % {"id": person.public_id}},
        status=400 if form.is_bound else 200,
    )
