"""Group updates: preview what pacing would do with one, then send it, exactly as the
site's compose page does (the same form rules, audience and pacing)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from handsup.messaging import actions
from handsup.messaging.models import Message
from handsup.messaging.pacing import PacingCounts, preview
from handsup.messaging.pages import ComposeForm, _draft
from handsup.platform.api.errors import Unprocessable
from handsup.platform.api.needs import audit_api_write
from handsup.platform.api.schemas import PacingOut, UpdateIn, UpdateSentOut, responses
from handsup.platform.api_auth import require_scope
from handsup.platform.models import ApiToken, Scope

router = Router(tags=["updates"])


def _checked_form(token: ApiToken, payload: UpdateIn) -> tuple[ComposeForm, Any]:
    form = ComposeForm(
        {
            "subject": payload.subject,
            "body": payload.body,
            "audience": payload.audience,
            "skill": "" if payload.skill is None else str(payload.skill),
            "area": payload.area or "",
        }
    )
    if not form.is_valid():
        raise Unprocessable(
            _("The update breaks a rule; see each field."),
            {name: " ".join(str(m) for m in messages) for name, messages in form.errors.items()},
        )
    audience = form.audience_for(token.group)
    if not audience.exists():
        raise Unprocessable(
            _("Nobody is in this audience."),
            {"audience": _("Nobody is in this audience: choose who the message goes to.")},
        )
    return form, audience


def pacing_out(counts: PacingCounts) -> dict[str, int]:
    return {
        "recipients": counts.recipients,
        "sent": counts.sent,
        "held": counts.held,
        "folded": counts.folded,
        "suppressed": counts.suppressed,
    }


@router.post("/preview", response=responses({200: PacingOut}), summary="Preview an update")
def preview_update(request: HttpRequest, payload: UpdateIn) -> PacingOut:
    """How many people pacing would send it to now, hold, fold into a digest or skip;
    nothing is sent or stored."""
    token = require_scope(request, Scope.UPDATES_WRITE)
    form, audience = _checked_form(token, payload)
    return PacingOut(**pacing_out(preview(_draft(token.group, form, token.created_by), audience)))


@router.post("", response=responses({201: UpdateSentOut}), summary="Send an update")
def send_update(request: HttpRequest, payload: UpdateIn) -> Status:
    token = require_scope(request, Scope.UPDATES_WRITE)
    form, audience = _checked_form(token, payload)
    draft = _draft(token.group, form, token.created_by)
    with transaction.atomic():
        message: Message = actions.do_create_message(
            author=token.created_by,
            kind=draft.kind,
            group=token.group,
            subject=draft.subject,
            body_markdown=draft.body_markdown,
            body_html=draft.body_html,
            body_text=draft.body_text,
            audience_description=draft.audience_description,
        )
        counts = actions.do_send_message(actor=token.created_by, message=message, audience=audience)
        audit_api_write(token, "update_sent", message)
    return Status(201, UpdateSentOut(id=message.public_id, **pacing_out(counts)))
