"""Privacy notice changes that need people to agree again.

A platform admin publishes a notice version marked `needs_fresh_consent` (in the admin,
or with `do_publish_notice`). From then on, anyone holding a consent given under an
older version is asked at their next visit (`AskForFreshConsent`, the middleware): the
notice page (`views_notice.py`) shows the new notice and what each of their consents is
for. Agreeing records each consent again under the new version; not agreeing withdraws
them, so the person keeps only what needs no consent (their account, their
memberships). Someone with no consent in force is never asked, and publishing a version
without the flag asks no one.

"Older" is measured against the newest version that needed fresh consent, not the
newest version: a later, minor version (no flag) does not excuse people who never
answered the big change before it.

Cost: the answer (ask or not) is worked out when the person signs in
(`check_at_sign_in`) and kept in the session for `RECHECK_SECONDS`, so an ordinary page
costs no query for it; when it is due again, one query finds the newest notice needing
fresh consent (and, only if there is one, one more reads the person's consents), and
the session saves the new answer. People therefore meet a new notice at their next
sign-in, or within `RECHECK_SECONDS` if they are signed in when it is published.

The sign-in receiver is connected by `PrivacyConfig.ready`, which imports this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import Max
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from handsup.accounts.models import User
from handsup.privacy.audit import record_audit
from handsup.privacy.consent import current_consents, do_record_consent
from handsup.privacy.models import ConsentEvent, PrivacyNotice

SESSION_KEY = "handsup_fresh_consent"
RECHECK_SECONDS = 300

# Pages that must work before the person answers: the notice page itself, signing in and
# out (and the account's security pages), the API, unsubscribing, the mail provider's
# webhooks, and files that are not pages.
NEVER_ASKED_ON = (
    "/my-data/notice/",
    "/accounts/",
    "/api/",
    "/unsubscribe/",
    "/anymail/",
    "/static/",
    "/media/",
)


def notice_asking_fresh_consent() -> PrivacyNotice | None:
    """The newest published version that needs fresh consent, if any."""
    return (
        PrivacyNotice.objects.published()
        .filter(needs_fresh_consent=True)
        .order_by("-version")
        .first()
    )


def consents_to_renew(user: User, notice: PrivacyNotice | None) -> list[ConsentEvent]:
    """`user`'s consents in force that were given under a version older than `notice`."""
    if notice is None:
        return []
    return [
        event
        for event in current_consents(user)
        if event.given and event.notice_version.version < notice.version
    ]


@transaction.atomic
def do_answer_fresh_consent(*, user: User, agree: bool) -> list[ConsentEvent]:
    """Record again (`agree`) or withdraw each consent `user` holds under an older notice.

    Each new event cites the current notice and the purpose's current wording; each is
    audited by `do_record_consent`.
    """
    to_renew = consents_to_renew(user, notice_asking_fresh_consent())
    return [
        do_record_consent(
            user=user,
            purpose=event.purpose.code,
            given=agree,
            source=ConsentEvent.Source.WEB,
            recorded_by=user,
            group=event.group,
            channel=event.channel,
        )
        for event in to_renew
    ]


@transaction.atomic
def do_publish_notice(*, actor: User, text: str, needs_fresh_consent: bool) -> PrivacyNotice:
    """Publish the next version of the privacy notice now."""
    newest = PrivacyNotice.objects.aggregate(newest=Max("version"))["newest"] or 0
    notice = PrivacyNotice.objects.create(
        version=newest + 1,
        text=text,
        published_at=timezone.now(),
        needs_fresh_consent=needs_fresh_consent,
    )
    audit_published(actor=actor, notice=notice)
    return notice


def audit_published(*, actor: User, notice: PrivacyNotice) -> None:
    """The audit row for a published version (here, and from the admin's form)."""
    record_audit(
        actor=actor,
        action="privacy.notice_published",
        obj=notice,
        details={"version": notice.version, "needs_fresh_consent": notice.needs_fresh_consent},
    )


def remember_answer(request: HttpRequest, *, ask: bool) -> None:
    """Keep in the session whether to ask, so the next pages cost no query."""
    request.session[SESSION_KEY] = {"ask": ask, "at": time.time()}


@receiver(user_logged_in, dispatch_uid="privacy.notice.check_at_sign_in")
def check_at_sign_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """Answer the question when the session starts, so that no page pays for it."""
    if request is not None and hasattr(request, "session"):
        remember_answer(request, ask=bool(consents_to_renew(user, notice_asking_fresh_consent())))


def must_ask(request: HttpRequest) -> bool:
    """Whether the signed-in person must answer the notice before going on."""
    state = request.session.get(SESSION_KEY)
    if isinstance(state, dict) and time.time() - float(state.get("at", 0)) < RECHECK_SECONDS:
        return bool(state.get("ask"))
    user: Any = request.user
    ask = bool(consents_to_renew(user, notice_asking_fresh_consent()))
    remember_answer(request, ask=ask)
    return ask


def safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    """`candidate` if it is a path on this site, else None."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


class AskForFreshConsent:
    """Send a signed-in person holding consents under an older notice to the notice page.

    Only page loads (GET or HEAD, not htmx fragments) are redirected, so a form being
    sent is never lost; the page they were going to is passed on as `next`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method in ("GET", "HEAD")
            and not getattr(request, "htmx", False)
            and not request.path.startswith(NEVER_ASKED_ON)
            and request.user.is_authenticated
            and must_ask(request)
        ):
            next_query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('privacy:notice')}?{next_query}")
        return self.get_response(request)
