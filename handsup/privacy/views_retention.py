"""Retention's pages.

- `/dpo/retention/` (`urlpatterns`, under the DPO prefix): the recent runs and each
  run's report, for data protection officers and platform admins. Reports hold counts
  and words only, so the page shows nobody's data and logs no access.
- "Keep my account" (`keep_urlpatterns`, under the person's own /my-data/ prefix): the
  page the "do you want to keep your account?" email links to. It is for the signed-in
  person, not a login-free token: the email is one service message to everyone asked in
  a run, so it can't carry a per-person token, and signing in keeps the account by
  itself (retention's `user_logged_in` receiver). Someone signed out who follows the
  link signs in (which answers the question) and lands here to see that it is done;
  someone still signed in presses the button. A GET never changes anything.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from handsup.core.http import AuthenticatedRequest
from handsup.privacy.dpo_access import dpo_view
from handsup.privacy.models import ReconfirmRequest, RetentionRun
from handsup.privacy.retention import do_keep_account

RECENT_RUNS = 30


@dpo_view
@require_GET
def retention_reports(request: AuthenticatedRequest) -> HttpResponse:
    runs = list(RetentionRun.objects.order_by("-started_at", "-pk")[:RECENT_RUNS])
    return render(request, "privacy/retention_reports.html", {"runs": runs})


@login_required
@require_http_methods(["GET", "POST"])
def keep_account(request: AuthenticatedRequest) -> HttpResponse:
    if request.method == "POST":
        if do_keep_account(user=request.user):
            messages.success(request, _("Thank you: your account stays."))
        return redirect(reverse("privacy:keep_account"))
    open_request = (
        ReconfirmRequest.objects.filter(user=request.user, confirmed_at__isnull=True)
        .order_by("anonymise_after")
        .first()
    )
    return render(
        request,
        "privacy/retention_keep_account.html",
        {"open_request": open_request, "now": timezone.now()},
    )


urlpatterns: list[URLPattern] = [
    path("retention/", retention_reports, name="retention"),
]

# For the person's own prefix (/my-data/, namespace "privacy"): wired by urls.py.
keep_urlpatterns: list[URLPattern] = [
    path("keep-my-account/", keep_account, name="keep_account"),
]
