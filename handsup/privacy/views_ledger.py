"""The "Your data" page (`ledger.py` reads it) and withdrawing a consent from it.

Everything here is the signed-in person's own: no id in the page's address, and the
one change made here (withdrawing a consent) finds the consent among the person's own
events, so a made-up or someone else's key gets the same 404. Stopping sharing
contact details posts to the needs app's `revoke_grant`, which this page only links.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from handsup.core.http import AuthenticatedRequest
from handsup.privacy.consent import do_record_consent
from handsup.privacy.ledger import LATEST, access_own_consent, ledger_for
from handsup.privacy.models import Channel, ConsentEvent


@login_required
def ledger(request: AuthenticatedRequest) -> HttpResponse:
    return render(
        request, "privacy/ledger.html", {"ledger": ledger_for(request.user), "latest": LATEST}
    )


class WithdrawConsentForm(forms.Form):
    """Which consent: its purpose code, its group's public id (empty for movement-wide
    purposes) and its channel (usually empty)."""

    purpose = forms.SlugField(max_length=50)
    group = forms.CharField(max_length=64, required=False)
    channel = forms.ChoiceField(choices=[("", ""), *Channel.choices], required=False)


@login_required
@require_POST
def withdraw_consent(request: AuthenticatedRequest) -> HttpResponse:
    form = WithdrawConsentForm(request.POST)
    if not form.is_valid():
        raise Http404("No such consent.")
    current = access_own_consent(
        request.user,
        purpose=form.cleaned_data["purpose"],
        group_public_id=form.cleaned_data["group"],
        channel=form.cleaned_data["channel"],
    )
    name = current.purpose.name
    if not current.given:
        messages.info(request, _("You had already withdrawn “%(name)s”.") % {"name": name})
        return redirect("privacy:ledger")
    do_record_consent(
        user=request.user,
        purpose=current.purpose.code,
        given=False,
        source=ConsentEvent.Source.WEB,
        recorded_by=request.user,
        group=current.group,
        channel=current.channel,
    )
    messages.success(request, _("You've withdrawn “%(name)s”.") % {"name": name})
    return redirect("privacy:ledger")


urlpatterns: list[URLPattern] = [
    path("", ledger, name="ledger"),
    path("consents/withdraw/", withdraw_consent, name="withdraw_consent"),
]
