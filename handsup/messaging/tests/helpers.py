"""Small builders for messaging tests: people with profiles and consents, and messages."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership
from handsup.messaging.actions import do_create_message, do_send_message
from handsup.messaging.models import Kind, Message
from handsup.messaging.pacing import PacingCounts, audience_of_members, audience_of_users
from handsup.people.models import Person, Profile
from handsup.privacy.consent import do_record_consent
from handsup.privacy.register import PurposeCode

_numbers = itertools.count(1)


def at(text: str) -> datetime:
    """A UTC instant from "2026-06-10 12:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_person(
    *,
    groups: tuple[Group, ...] = (),
    consent: bool = True,
    time_zone: str = "Europe/London",
    quiet_from: time = time(21, 0),
    quiet_until: time = time(8, 0),
    profile: bool = True,
    email: str | None = None,
    **profile_fields: object,
) -> User:
    n = next(_numbers)
    user = User.objects.create_user(email if email is not None else f"p{n}@test.handsup.invalid")
    if profile:
        person = Person.objects.create(user=user, display_name=f"Person {n}")
        Profile.objects.create(
            person=person,
            time_zone=time_zone,
            quiet_from=quiet_from,
            quiet_until=quiet_until,
            **profile_fields,
        )
    for group in groups:
        Membership.objects.create(user=user, group=group)
        if consent:
            give_group_email(user, group)
    return user


def give_group_email(user: User, group: Group, given: bool = True) -> None:
    do_record_consent(
        user=user,
        purpose=PurposeCode.GROUP_EMAIL,
        given=given,
        source="web",
        recorded_by=user,
        group=group,
    )


def make_group(name: str, parent: Group | None = None, **fields: object) -> Group:
    slug = f"{name.lower().replace(' ', '-')}-{next(_numbers)}"
    return Group.objects.create(name=name, slug=slug, kind="branch", parent=parent, **fields)


def draft(kind: str = Kind.GROUP_UPDATE, group: Group | None = None) -> Message:
    return do_create_message(
        author=None, kind=kind, group=group, subject="Canvassing on Saturday", body_text="Hi"
    )


def send(
    group: Group | None,
    now: datetime,
    *,
    kind: str = Kind.GROUP_UPDATE,
    users: list[User] | None = None,
) -> tuple[Message, PacingCounts]:
    message = draft(kind, group)
    if users is not None:
        audience = audience_of_users(users)
    else:
        assert group is not None
        audience = audience_of_members(group)
    counts = do_send_message(actor=None, message=message, audience=audience, now=now)
    return message, counts
