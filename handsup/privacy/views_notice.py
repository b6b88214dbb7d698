"""The notice page: a new privacy notice that needs people to agree again (`notice.py`).

The person sees the current notice and, for each consent they hold under an older
version, what it is for; they agree (each is recorded again under the new version) or
don't (each is withdrawn), then go on to the page they were going to. Everything here
is the signed-in person's own: nothing in the address names anyone.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from handsup.core.http import AuthenticatedRequest
from handsup.privacy.models import PrivacyNotice
from handsup.privacy.notice import (
    consents_to_renew,
    do_answer_fresh_consent,
    notice_asking_fresh_consent,
    remember_answer,
    safe_next,
)

AGREE = "agree"
DISAGREE = "disagree"


class FreshConsentForm(forms.Form):
    answer = forms.ChoiceField(choices=[(AGREE, AGREE), (DISAGREE, DISAGREE)])


@login_required
def notice(request: AuthenticatedRequest) -> HttpResponse:
    going_to = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        form = FreshConsentForm(request.POST)
        if form.is_valid():
            agree = form.cleaned_data["answer"] == AGREE
            answered = do_answer_fresh_consent(user=request.user, agree=agree)
            remember_answer(request, ask=False)
            if answered and agree:
                messages.success(request, _("Thank you: your choices stand under the new notice."))
            elif answered:
                messages.info(
                    request,
                    _(
                        "We've withdrawn those consents. Your account and your groups stay; "
                        "you can give any consent again from “Your data”."
                    ),
                )
            return redirect(going_to or reverse("me"))
    to_renew = consents_to_renew(request.user, notice_asking_fresh_consent())
    remember_answer(request, ask=bool(to_renew))
    return render(
        request,
        "privacy/notice.html",
        {
            "notice": PrivacyNotice.objects.current(),
            "to_renew": to_renew,
            "next": going_to or "",
        },
    )


urlpatterns: list[URLPattern] = [
    path("notice/", notice, name="notice"),
]
