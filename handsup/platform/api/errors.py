"""Every error the API returns has one shape: ``{"detail": str}``, plus ``errors`` (field →
problem) for 422. These handlers make ninja's own errors use it too."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from handsup.platform.api_auth import RateLimited, TokenRefused


class Unprocessable(Exception):
    """A request that is well-formed but breaks a rule: 422 with each field's problem."""

    def __init__(self, detail: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


def _field_name(location: Any) -> str:
    # ninja puts "body"/"query"/"path" and the parameter name first: drop them.
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
        if len(parts) > 1 and parts[0] in ("payload", "filters", "query"):
            parts = parts[1:]
    return ".".join(parts) or "body"


def install(api: NinjaAPI) -> None:
    def error(
        request: HttpRequest, detail: str, status: int, errors: dict[str, str] | None = None
    ) -> HttpResponse:
        body: dict[str, Any] = {"detail": detail}
        if errors is not None:
            body["errors"] = errors
        return api.create_response(request, body, status=status)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        errors: dict[str, str] = {}
        for problem in exc.errors:
            errors.setdefault(_field_name(problem.get("loc", ())), str(problem.get("msg", "")))
        return error(request, _("The request does not match the schema."), 422, errors)

    def on_unprocessable(request: HttpRequest, exc: Any) -> HttpResponse:
        return error(request, exc.detail, 422, exc.errors)

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        detail = str(exc)
        if isinstance(exc, AuthenticationError) and not isinstance(exc, TokenRefused):
            detail = _("Send a valid token: “Authorization: Bearer hu_…”.")
        response = error(request, detail, exc.status_code)
        if exc.status_code == 401:
            response["WWW-Authenticate"] = "Bearer"
        return response

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return error(request, _("Not found."), 404)

    def on_rate_limited(request: HttpRequest, exc: Any) -> HttpResponse:
        response = error(request, str(exc), 429)
        response["Retry-After"] = str(exc.retry_after)
        return response

    def on_too_big(request: HttpRequest, exc: Any) -> HttpResponse:
        return error(request, _("The request body is too large."), 413)

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(Unprocessable, on_unprocessable)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(RateLimited, on_rate_limited)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
