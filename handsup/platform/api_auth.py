"""How the REST API knows who is calling: a bearer token, its limits and its audit.

- `TokenAuth` reads ``Authorization: Bearer <secret>``, refuses revoked and expired
  tokens (and tokens whose group or creator lost the right), notes "last used" at most
  once a minute, and counts calls per token per minute in Django's cache
  (``HANDSUP_API_RATE_PER_MINUTE``, 120 unless set); over the limit is a 429 with
  ``Retry-After``.
- `RecordApiCalls` (a middleware) writes one `ApiCall` row for every call made with a
  known token, whatever its status: refused, rate-limited or served.
- `require_scope` is what each operation calls first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer

from handsup.platform import tokens
from handsup.platform.models import ApiCall, ApiToken

DEFAULT_RATE_PER_MINUTE = 120
LAST_USED_EVERY = timedelta(minutes=1)
# Where the middleware finds the token the call was made with.
REQUEST_ATTRIBUTE = "handsup_api_token"


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(_("Too many requests with this token; wait and try again."))
        self.retry_after = retry_after


class TokenRefused(AuthenticationError):
    """A token we know but may not use (revoked, expired...): a 401 that says why."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)


def rate_per_minute() -> int:
    return int(getattr(settings, "HANDSUP_API_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE))


def count_call(token: ApiToken, now: float | None = None) -> None:
    """Count one call in this minute's window; raise `RateLimited` past the limit."""
    now = time.time() if now is None else now
    minute = int(now // 60)
    key = f"handsup:api-rate:{token.pk}:{minute}"
    try:
        calls = cache.incr(key)
    except ValueError:  # the minute's first call: start its count
        calls = 1 if cache.add(key, 1, timeout=120) else cache.incr(key)
    if calls > rate_per_minute():
        raise RateLimited(retry_after=max(1, 60 - int(now % 60)))


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = tokens.find_token(token.strip())
        if found is None:
            return None
        setattr(request, REQUEST_ATTRIBUTE, found)
        problem = tokens.token_problem(found)
        if problem is not None:
            raise TokenRefused(problem)
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
            found.last_used_at = now
        count_call(found)
        return found


token_auth = TokenAuth()


def require_scope(request: HttpRequest, scope: str) -> ApiToken:
    """The call's token, if it carries `scope`; otherwise a 403 naming the scope."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    if scope not in token.scopes:
        raise HttpError(
            403, _("This token does not have the “%(scope)s” scope.") % {"scope": scope}
        )
    return token


class RecordApiCalls:
    """Write an `ApiCall` for every response to a call made with a known token."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        token: Any = getattr(request, REQUEST_ATTRIBUTE, None)
        if token is not None:
            ApiCall.objects.create(
                token=token,
                method=request.method or "",
                path=request.path[:500],
                status=response.status_code,
            )
        return response
