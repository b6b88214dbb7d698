"""Notes the needs app sends to one or a few people, through the messaging pipeline.

Introductions, thank-yous, "this need has changed", "this need is filled": each is a
service message (always sent, whatever the person's email settings, because it is about
something they took part in), written in the same Markdown subset organisers use, and
recorded on each recipient's contact ledger like any other message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.actions import do_create_message, do_send_message
from handsup.messaging.models import Kind, Message
from handsup.messaging.pacing import audience_of_users


def send_notice(
    *,
    actor: User | None,
    to: Iterable[User | int],
    group: Group | None,
    subject: str,
    body_markdown: str,
    now: datetime | None = None,
) -> Message | None:
    """Send one service message to `to`; None when there is nobody to send it to.

    Call it inside the action's transaction: the message, its ledger rows and outbox rows
    then appear together with the change they tell people about, or not at all.
    """
    recipients = list(to)
    if not recipients:
        return None
    message = do_create_message(
        author=actor,
        kind=Kind.SERVICE,
        group=group,
        subject=subject,
        body_markdown=body_markdown,
        audience_description=f"{len(recipients)} people",
    )
    do_send_message(actor=actor, message=message, audience=audience_of_users(recipients), now=now)
    return message
