"""The events groups' systems can hear about, and what each one tells them.

The actions that make these changes call one function here, inside their transaction
(`needs.actions.do_create_need`, `needs.answers.do_accept`, `groups.actions` joining and
leaving, `stories.actions.do_change_story_status`, `imports.actions.do_run_import`). Each
payload carries only what the group may see already: public ids, a need's title and
status, a published story's title, an import's counts. Never a name, an email address or
a phone number: a system that needs more asks the API, which applies the consents.
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
    from handsup.imports.models import ImportJob
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


def emit_import_finished(job: ImportJob) -> int:
    """A list imported into the group: how many people it added, updated and asked to
    confirm, never who. An import adds its members in one statement, so this, not a
    `member.joined` per person, is how a group's systems hear of them: they read the new
    members through the API, which applies the consents."""
    if job.group is None:
        return 0
    return emit(
        group=job.group,
        event=WebhookEvent.IMPORT_FINISHED,
        data={
            "group": job.group.public_id,
            "import": {
                "id": job.public_id,
                "created": job.created_count,
                "updated": job.updated_count,
                "invited": job.invited_count,
                "rejected": job.rejected_count,
                "duplicates": job.duplicate_count,
            },
        },
    )
