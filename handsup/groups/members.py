"""What an organiser may see of each member: only what that member's consent allows.

Every list shown goes through here, and every member shown is written to the access
log with exactly the fields shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership
from handsup.people.offline import PLACEHOLDER_EMAIL_DOMAIN
from handsup.privacy.access import log_access
from handsup.privacy.consent import users_with_consent

# Being a member means the group knows your name; contact details need consent.
ALWAYS_SHOWN = ("full_name",)


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    name: str
    email: str | None  # None: the member has not agreed to share it with this group

    @property
    def role(self) -> str:
        return self.membership.get_role_display()

    @property
    def joined_at(self) -> datetime:
        return self.membership.joined_at


def member_rows(*, viewer: User, group: Group, memberships: list[Membership]) -> list[MemberRow]:
    user_ids = [membership.user_id for membership in memberships]
    sharing_email = set(
        users_with_consent("share_contact_with_group", group=group)
        .filter(pk__in=user_ids)
        .values_list("pk", flat=True)
    )
    rows = []
    with_email: list[User] = []
    without_email: list[User] = []
    for membership in memberships:
        user = membership.user
        # Someone registered offline without an email has only a placeholder address.
        shares = user.pk in sharing_email and not user.email.endswith(
            "@" + PLACEHOLDER_EMAIL_DOMAIN
        )
        rows.append(
            MemberRow(
                membership=membership,
                name=user.full_name or str(user),
                email=user.email if shares else None,
            )
        )
        (with_email if shares else without_email).append(user)
    log_access(
        actor=viewer,
        subjects=with_email,
        purpose="member_list",
        fields=[*ALWAYS_SHOWN, "email"],
        group=group,
    )
    log_access(
        actor=viewer,
        subjects=without_email,
        purpose="member_list",
        fields=list(ALWAYS_SHOWN),
        group=group,
    )
    return rows
