"""Telling the people invited to a need when it changes in a way that matters to them.

A change is material when it moves the times, the place or the skills asked for (the
parts `actions.changed_parts` names "time", "place" and "skills"): someone who said yes
to Saturday in Manchester has not said yes to Sunday in Salford. Then:

- everyone still deciding (a pending invitation) gets a note saying what changed, so
  they answer the need as it is now;
- everyone who said yes gets a note asking them to confirm again, and their invitation
  is marked (`reconfirm_requested_at`) so the answer page offers "confirm again".

A new title, description, effort, closing date or visibility tells nobody.
`do_update_need` calls `tell_invitees_of_edit` inside its transaction, so the notes go
exactly when the change is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.needs.afterwards import escape_markdown
from handsup.needs.models import Invitation, Need
from handsup.needs.notices import send_notice
from handsup.privacy.audit import record_audit

# The parts of a need (as `actions.changed_parts` names them) that change what someone
# agreed to, in the order a note lists them.
MATERIAL_PARTS = ("time", "place", "skills")


@dataclass(frozen=True)
class EditTold:
    """Who was told about a material edit."""

    pending: int = 0
    reconfirm: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.reconfirm


def invitees_to_tell(need: Need, now: datetime | None = None) -> QuerySet[Invitation]:
    """Who hears about a material edit: still deciding (and not lapsed), or said yes."""
    now = now or timezone.now()
    return Invitation.objects.filter(
        Q(status=Invitation.Status.PENDING, expires_at__gt=now)
        | Q(status=Invitation.Status.ACCEPTED),
        need=need,
    )


def material_parts(changed: list[str]) -> list[str]:
    return [part for part in MATERIAL_PARTS if part in changed]


def _describe(parts: list[str]) -> str:
    names = {
        "time": _("when it happens"),
        "place": _("where it is"),
        "skills": _("the skills it asks for"),
    }
    described = [names[part] for part in parts]
    if len(described) == 1:
        return described[0]
    return _("%(first)s and %(last)s") % {
        "first": ", ".join(described[:-1]),
        "last": described[-1],
    }


def tell_invitees_of_edit(
    *, actor: User, need: Need, changed: list[str], now: datetime | None = None
) -> EditTold:
    """Send the notes for a material edit; call inside the editing transaction."""
    parts = material_parts(changed)
    if not parts:
        return EditTold()
    now = now or timezone.now()
    rows = list(
        invitees_to_tell(need, now).select_for_update().values_list("pk", "user_id", "status")
    )
    pending = [user_id for _pk, user_id, status in rows if status == Invitation.Status.PENDING]
    accepted = [
        (pk, user_id) for pk, user_id, status in rows if status == Invitation.Status.ACCEPTED
    ]
    if not rows:
        return EditTold()
    title = Truncator(need.title).chars(120)
    safe_title, group_name = escape_markdown(title), escape_markdown(need.group.name)
    what = _describe(parts)
    page_url = settings.SITE_URL + reverse("needs:page", kwargs={"public_id": need.public_id})
    if pending:
        send_notice(
            actor=actor,
            to=pending,
            group=need.group,
            subject=_("“%(title)s” has changed") % {"title": title},
            body_markdown="\n\n".join(
                [
                    _("%(group)s changed %(what)s for “%(title)s”.")
                    % {"group": group_name, "what": what, "title": safe_title},
                    _("Have a look at [the need as it is now](%(url)s) before you answer.")
                    % {"url": page_url},
                    _("If it no longer suits you, that's fine: you can say so on its page."),
                ]
            ),
            now=now,
        )
    if accepted:
        # H2's answer page offers "confirm again" while `reconfirm_requested_at` is set.
        answer_url = f"{page_url}answer/"
        send_notice(
            actor=actor,
            to=[user_id for _pk, user_id in accepted],
            group=need.group,
            subject=_("Please confirm again: “%(title)s” has changed") % {"title": title},
            body_markdown="\n\n".join(
                [
                    _(
                        "You said yes to “%(title)s”. Since then %(group)s changed %(what)s, "
                        "so we'd like to check it still suits you."
                    )
                    % {"title": safe_title, "group": group_name, "what": what},
                    _(
                        "Please [confirm again](%(url)s), or let them know there if you can't "
                        "make it now."
                    )
                    % {"url": answer_url},
                ]
            ),
            now=now,
        )
        Invitation.objects.filter(pk__in=[pk for pk, _user_id in accepted]).update(
            reconfirm_requested_at=now
        )
    told = EditTold(pending=len(pending), reconfirm=len(accepted))
    record_audit(
        actor=actor,
        action="needs.invitees_told_of_edit",
        obj=need,
        group=need.group,
        details={"changed": parts, "pending": told.pending, "reconfirm": told.reconfirm},
    )
    return told
