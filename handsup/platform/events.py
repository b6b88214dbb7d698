"""The events groups' systems can hear about, and what each one tells them.

The actions that make these changes call one function here, inside their transaction
(`needs.actions.do_create_need`, `needs.answers.do_accept`, `groups.actions` joining and
leaving, `stories.actions.do_change_story_status`). Each payload carries only what the
group may see already: public ids, a need's title and status, a published story's title.
Never a name, an email address or a phone number: a system that needs more asks the API,
which applies the consents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from handsup.platform.models import WebhookEvent
from handsup.platform.webhooks import emit

if TYPE_CHECKING:
    from handsup.accounts.models import User
    from handsup.groups.models import Group
    from handsup.needs.models import Invitation, Need
    from handsup.stories.models import Story


def _need(need: Need) -> dict[str, object]:
    return {
        "id": need.public_id,
        "title": need.title,
        "status": need.status,
        "people_needed": need.people_needed,
        "filled_count": need.filled_count,
    }


def emit_need_created(need: Need) -> int:
    group = need.group
    return emit(
        group=group,
        event=WebhookEvent.NEED_CREATED,
        data={"group": group.public_id, "need": _need(need)},
    )


def emit_need_filled(need: Need) -> int:
    group = need.group
    return emit(
        group=group,
        event=WebhookEvent.NEED_FILLED,
        data={"group": group.public_id, "need": _need(need)},
    )


def emit_invitation_accepted(invitation: Invitation) -> int:
    need, person = invitation.need, invitation.user
    return emit(
        group=need.group,
        event=WebhookEvent.INVITATION_ACCEPTED,
        data={
            "group": need.group.public_id,
            "need": need.public_id,
            "invitation": invitation.public_id,
            "person": person.public_id,
        },
        subject=person,
    )


def emit_member_joined(user: User, group: Group) -> int:
    return emit(
        group=group,
        event=WebhookEvent.MEMBER_JOINED,
        data={"group": group.public_id, "person": user.public_id},
        subject=user,
    )


def emit_member_left(user: User, group: Group) -> int:
    return emit(
        group=group,
        event=WebhookEvent.MEMBER_LEFT,
        data={"group": group.public_id, "person": user.public_id},
        subject=user,
    )


def emit_story_published(story: Story) -> int:
    if story.group is None or story.status != story.Status.PUBLISHED:
        return 0
    return emit(
        group=story.group,
        event=WebhookEvent.STORY_PUBLISHED,
        data={
            "group": story.group.public_id,
            "story": {
                "id": story.public_id,
                "title": story.title,
                "url": settings.SITE_URL + reverse("stories:story", args=[story.public_id]),
            },
        },
    )
