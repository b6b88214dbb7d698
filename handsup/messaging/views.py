"""The login-free unsubscribe page (RFC 8058); the composer and ledger pages live elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from handsup.messaging.actions import do_unsubscribe
from handsup.messaging.unsubscribe import BadUnsubscribeToken, read_unsubscribe_token


# A mail client's one-click POST carries no CSRF token and no session: the signed token
# is the only authority, and it can do nothing but unsubscribe its one person.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        wanted = read_unsubscribe_token(token)
    except BadUnsubscribeToken as error:
        return render(
            request, "messaging/unsubscribe_invalid.html", {"expired": error.expired}, status=400
        )
    context = {"wanted": wanted, "token": token}
    if request.method != "POST":
        # Link scanners open links: a GET only shows the button.
        return render(request, "messaging/unsubscribe.html", context)
    do_unsubscribe(
        user=wanted.user, scope=wanted.scope, group=wanted.group, kind=wanted.kind, via="link"
    )
    return render(request, "messaging/unsubscribe_done.html", context)
