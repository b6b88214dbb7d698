"""Delete my account: what will happen, then (after signing in again) erasure.

The page shows the plan (`erasure.erasure_plan`) in plain words, and what stands in the
way. The POST needs the box ticked, and a recent re-authentication (allauth's: a
password, a code by email, or a second factor) before anything is erased; then the
person is signed out and lands on a public "your account has been deleted" page.
"""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy

from handsup.core.http import AuthenticatedRequest
from handsup.privacy.erasure import ErasureRefused, do_erase_person, erasure_plan


class DeleteAccountForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand this can't be undone"),
        error_messages={
            "required": gettext_lazy(
                "Tick the box to say you understand that deleting your account can't be undone."
            )
        },
    )


def _page(
    request: AuthenticatedRequest,
    form: DeleteAccountForm,
    *,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    plan = erasure_plan(request.user)
    return render(
        request,
        "privacy/delete_account.html",
        {"plan": plan, "form": form, "refusal": refusal},
        status=status,
    )


@reauthentication_required
def _erase(request: AuthenticatedRequest) -> HttpResponse:
    """Only reached after a recent re-authentication: allauth keeps the POST and
    replays it once the person has signed in again."""
    try:
        do_erase_person(user=request.user, actor=request.user)
    except ErasureRefused as refusal:
        return _page(request, DeleteAccountForm(), refusal=str(refusal), status=409)
    logout(request)
    return redirect("privacy:account_deleted")


@login_required
def delete_account(request: AuthenticatedRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, DeleteAccountForm())
    form = DeleteAccountForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    plan = erasure_plan(request.user)
    if plan.blockers:
        return _page(request, form, refusal=plan.blockers[0].message, status=409)
    return _erase(request)


def account_deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/delete_account_done.html")


urlpatterns: list[URLPattern] = [
    path("delete/", delete_account, name="delete_account"),
    path("deleted/", account_deleted, name="account_deleted"),
]
