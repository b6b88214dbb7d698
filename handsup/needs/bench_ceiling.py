"""The URLs for the ceiling row of `handsup bench web`: the application's, with one more
page, `/bench/signed-in/`, which does nothing but what every signed-in page does before
its view runs (the session, the user with their roles, every middleware) and answers a few
bytes. How fast the same server serves that page to the same sessions is the most any
signed-in page can reach on the machine.

Only the benchmark's own ceiling server uses these URLs (`bench_ceiling_settings`); the
application's URLs never include the page.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

CEILING_PATH = "/bench/signed-in/"
CEILING_HEADING = "<h1>Signed in</h1>"


@login_required
def signed_in(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<!doctype html><title>Signed in</title>{CEILING_HEADING}")


urlpatterns = [
    path(CEILING_PATH.strip("/") + "/", signed_in),
    path("", include("handsup.urls")),
]
