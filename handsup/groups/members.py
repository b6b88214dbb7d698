"""What an organiser may see of each member: only what that member's consent allows.

Every list shown goes through here, and every member shown is written to the access
log with exactly the fields shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership
from handsup.people.models import DateAway, Person, PersonSkill, Profile
from handsup.people.offline import PLACEHOLDER_EMAIL_DOMAIN
from handsup.privacy.access import log_access
from handsup.privacy.consent import has_consent, user_ids_with_consent, users_with_consent
from handsup.privacy.register import PurposeCode

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


# --- One member's volunteer profile ---------------------------------------------------------

# What every organiser of the member's group sees: what they offer and when, never finer
# than the postcode district. Access needs are kept for groups the person accepts an
# invitation from; contact details need the member's consent to share them.
PROFILE_FIELDS = (
    "full_name",
    "district",
    "skills",
    "availability",
    "hours",
    "travel_radius_km",
    "languages",
    "talents",
    "dates_away",
)
CONTACT_FIELDS = ("email", "phone", "postal_address")


@dataclass(frozen=True)
class MemberProfile:
    membership: Membership
    name: str
    person: Person | None  # None: a member who never put their hand up as a volunteer
    skills: list[PersonSkill]
    dates_away: list[DateAway]
    email: str | None  # each None unless the member shares contact details with the group
    phone: str | None
    postal_address: str | None

    @property
    def profile(self) -> Profile | None:
        return getattr(self.person, "profile", None) if self.person else None

    @property
    def shares_contact(self) -> bool:
        return self.email is not None


def member_profile(*, viewer: User, group: Group, membership: Membership) -> MemberProfile:
    """What an organiser of `group` may see of one member, written to the access log."""
    user = membership.user
    person = Person.objects.filter(user=user).select_related("profile").first()
    profile = getattr(person, "profile", None) if person else None
    shares = has_consent(user, "share_contact_with_group", group=group)
    email = phone = postal_address = None
    if shares:
        placeholder = user.email.endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)
        email = "" if placeholder else user.email
        phone = profile.phone if profile else ""
        postal_address = profile.postal_address if profile else ""
    today = timezone.localdate()
    result = MemberProfile(
        membership=membership,
        name=user.full_name or str(user),
        person=person,
        skills=list(
            PersonSkill.objects.filter(person=person)
            .select_related("skill")
            .order_by("-level", "skill__name")
        )
        if person
        else [],
        dates_away=list(DateAway.objects.filter(person=person, ends_on__gte=today))
        if person
        else [],
        email=email,
        phone=phone,
        postal_address=postal_address,
    )
    fields = [*PROFILE_FIELDS, *CONTACT_FIELDS] if shares else list(PROFILE_FIELDS)
    log_access(actor=viewer, subjects=[user], purpose="member_profile", fields=fields, group=group)
    return result


# --- The member list as CSV -------------------------------------------------------------------

EXPORT_HEADER = (
    "name",
    "role",
    "joined",
    "postcode district",
    "skills",
    "email",
    "phone",
    "postal address",
)
# Fields of the access log for a member exported with and without contact details.
EXPORT_FIELDS = ["full_name", "district", "skills"]
EXPORT_CHUNK = 2_000


def member_export_rows(*, viewer: User, group: Group) -> Iterator[list[str]]:
    """One row per member, a chunk at a time: contact details only for members who agreed
    to share them with this group. Each chunk is written to the access log as it is read,
    so the log holds exactly the rows that were produced."""
    sharing_ids = user_ids_with_consent(PurposeCode.SHARE_CONTACT_WITH_GROUP, group=group)
    memberships = Membership.objects.filter(group=group).order_by("pk")
    last_pk = 0
    while True:
        chunk = list(memberships.filter(pk__gt=last_pk).select_related("user")[:EXPORT_CHUNK])
        if not chunk:
            return
        last_pk = chunk[-1].pk
        user_ids = [membership.user_id for membership in chunk]
        sharing = set(
            User.objects.filter(pk__in=user_ids)
            .filter(pk__in=sharing_ids)
            .values_list("pk", flat=True)
        )
        people = {
            person.user_id: person
            for person in Person.objects.filter(user_id__in=user_ids).select_related("profile")
        }
        skills: dict[int, list[str]] = {}
        for user_id, name in (
            PersonSkill.objects.filter(person__user_id__in=user_ids)
            .order_by("skill__name")
            .values_list("person__user_id", "skill__name")
        ):
            skills.setdefault(user_id, []).append(name)
        with_contact: list[int] = []
        without_contact: list[int] = []
        for membership in chunk:
            user = membership.user
            person = people.get(user.pk)
            profile: Profile | None = getattr(person, "profile", None) if person else None
            shares = user.pk in sharing
            (with_contact if shares else without_contact).append(user.pk)
            placeholder = user.email.endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)
            yield [
                user.full_name or str(user),
                membership.get_role_display(),
                membership.joined_at.date().isoformat(),
                person.district if person else "",
                "; ".join(skills.get(user.pk, [])),
                user.email if shares and not placeholder else "",
                profile.phone if shares and profile else "",
                profile.postal_address if shares and profile else "",
            ]
        log_access(
            actor=viewer,
            subjects=with_contact,
            purpose="member_export",
            fields=[*EXPORT_FIELDS, *CONTACT_FIELDS],
            group=group,
        )
        log_access(
            actor=viewer,
            subjects=without_contact,
            purpose="member_export",
            fields=EXPORT_FIELDS,
            group=group,
        )
