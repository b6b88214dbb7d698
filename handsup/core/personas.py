"""The named people every demo and test uses, one per role in QUALITY.md's matrix.

`make demo` prints their logins; the test fixtures build the same people with unique
marker strings in their personal data so leaks can be searched for.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from django.db import transaction

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership, MovementRole

DEMO_PASSWORD = "hands-up-demo-2026"  # noqa: S105 - demo data, printed for anyone to use


@dataclass(frozen=True)
class Persona:
    key: str
    label: str
    full_name: str
    # (group key, role) pairs; group keys are those of DEMO_GROUPS.
    memberships: tuple[tuple[str, str], ...] = ()
    movement_roles: tuple[str, ...] = ()
    enrol_mfa: bool = True
    is_staff: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def requires_mfa(self) -> bool:
        return bool(self.movement_roles) or any(role != "member" for _, role in self.memberships)

    @property
    def gives_consents(self) -> bool:
        return self.key != "volunteer_no_consent"

    @property
    def has_mfa(self) -> bool:
        return self.requires_mfa and self.enrol_mfa

    @property
    def email(self) -> str:
        return f"{self.key.replace('_', '.')}@demo.handsup.invalid"

    @property
    def totp_secret(self) -> str:
        # Deterministic per persona so the README can print it; demo data only.
        digest = hashlib.sha256(f"handsup-demo-totp:{self.key}".encode()).digest()
        return base64.b32encode(digest[:20]).decode()


@dataclass(frozen=True)
class DemoGroup:
    key: str
    name: str
    kind: str
    parent: str | None
    # Where the group works, so "groups near me" finds it: districts and their mean
    # centroid (fixed numbers, so building the demo needs no postcode data).
    districts: str = ""
    centre: tuple[int, int] | None = None


DEMO_GROUPS: tuple[DemoGroup, ...] = (
    DemoGroup("national", "Hands Up Movement", "national", None),
    DemoGroup("north_west", "North West Region", "region", "national"),
    DemoGroup("wales", "Wales", "region", "national"),
    DemoGroup(
        "group_a",
        "Manchester Central Constituency Party",
        "constituency",
        "north_west",
        districts="M1, M2, M3, M4",
        centre=(384_109, 398_349),
    ),
    DemoGroup(
        "group_b",
        "Cardiff North Constituency Party",
        "constituency",
        "wales",
        districts="CF14, CF15, CF23",
        centre=(316_129, 181_098),
    ),
)

MEMBER, ORGANISER, ADMIN = (
    Membership.Role.MEMBER,
    Membership.Role.ORGANISER,
    Membership.Role.ADMIN,
)
PERSONAS: tuple[Persona, ...] = (
    Persona("volunteer", "Volunteer", "Vera Volunteer", memberships=(("group_a", MEMBER),)),
    Persona(
        "volunteer_no_consent",
        "Volunteer who has given no consents",
        "Nia Noconsent",
        memberships=(("group_a", MEMBER),),
    ),
    Persona(
        "volunteer_other",
        "Volunteer of another group",
        "Owen Othergroup",
        memberships=(("group_b", MEMBER),),
    ),
    Persona(
        "organiser_a",
        "Organiser of group A",
        "Olu Organiser",
        memberships=(("group_a", ORGANISER),),
    ),
    Persona("admin_a", "Admin of group A", "Ada Admin", memberships=(("group_a", ADMIN),)),
    Persona(
        "organiser_b",
        "Organiser of group B",
        "Bryn Organiser",
        memberships=(("group_b", ORGANISER),),
    ),
    Persona(
        "admin_parent",
        "Admin of group A's parent",
        "Paula Parent",
        memberships=(("north_west", ADMIN),),
    ),
    Persona("curator", "Story curator", "Cara Curator", movement_roles=("curator",)),
    Persona("dpo", "Data protection officer", "Dev Protection", movement_roles=("dpo",)),
    Persona(
        "platform_admin",
        "Platform admin",
        "Pat Platform",
        movement_roles=("platform_admin",),
        is_staff=True,
    ),
    Persona(
        "organiser_no_mfa",
        "Organiser who has not enrolled MFA",
        "Nadia Nomfa",
        memberships=(("group_a", ORGANISER),),
        enrol_mfa=False,
    ),
)

PERSONA_KEYS = tuple(p.key for p in PERSONAS)


def persona_marker(token: str, key: str) -> str:
    # The closing "Q" stops one marker being a prefix of another ("volunteer" and
    # "volunteerother").
    return f"{token}{key.replace('_', '')}Q"


def persona(key: str) -> Persona:
    return next(p for p in PERSONAS if p.key == key)


@transaction.atomic
def build_demo_groups() -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for spec in DEMO_GROUPS:
        group, _ = Group.objects.get_or_create(
            slug=spec.key.replace("_", "-"),
            defaults={
                "name": spec.name,
                "kind": spec.kind,
                "parent": groups[spec.parent] if spec.parent else None,
                "description": f"{spec.name}: part of the demo movement.",
                "area_districts": spec.districts,
                "centre_eastings": spec.centre[0] if spec.centre else None,
                "centre_northings": spec.centre[1] if spec.centre else None,
            },
        )
        groups[spec.key] = group
    return groups


@transaction.atomic
def build_personas(
    groups: dict[str, Group], *, password: str = DEMO_PASSWORD, marker_token: str = ""
) -> dict[str, User]:
    """Create (or reuse) every persona.

    With a `marker_token`, each persona's personal data carries the unique marker
    `persona_marker(marker_token, key)`, so tests can search responses for leaks.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    from handsup.needs.index_changes import changes_held, note_change
    from handsup.people.models import Person, Profile
    from handsup.privacy.consent import grant_standard_consents

    users: dict[str, User] = {}
    # One query for who exists already: a fresh database (every test's cast) then
    # creates each row outright instead of looking for it first.
    existing = {
        user.email: user for user in User.objects.filter(email__in=[p.email for p in PERSONAS])
    }
    for spec in PERSONAS:
        full_name = spec.full_name
        if marker_token:
            full_name = f"{full_name} {persona_marker(marker_token, spec.key)}"
        user = existing.get(spec.email)
        fresh = user is None
        if user is None:
            user = User.objects.create_user(
                spec.email,
                password,
                full_name=full_name,
                is_staff=spec.is_staff,
                # The platform admin manages every model in the Django admin.
                is_superuser=spec.is_staff,
            )
            EmailAddress.objects.create(user=user, email=spec.email, primary=True, verified=True)
        # The matching tables hear of this person once, when all of it is written,
        # rather than once per row (every test's cast builds a dozen people).
        with changes_held(user.pk):
            # Every persona is a volunteer too, so their own profile pages work.
            if fresh:
                person = Person.objects.create(user=user, display_name=full_name, verified=True)
                Profile.objects.create(person=person)
                Membership.objects.bulk_create(
                    Membership(user=user, group=groups[group_key], role=role)
                    for group_key, role in spec.memberships
                )
                MovementRole.objects.bulk_create(
                    MovementRole(user=user, role=role) for role in spec.movement_roles
                )
            else:
                person, _ = Person.objects.get_or_create(
                    user=user, defaults={"display_name": full_name, "verified": True}
                )
                Profile.objects.get_or_create(person=person)
                for group_key, role in spec.memberships:
                    Membership.objects.get_or_create(
                        user=user, group=groups[group_key], defaults={"role": role}
                    )
                for role in spec.movement_roles:
                    MovementRole.objects.get_or_create(user=user, role=role)
            if spec.gives_consents:
                grant_standard_consents(
                    user,
                    [groups[group_key] for group_key, _ in spec.memberships],
                    source="web",
                    recorded_by=user,
                    none_yet=fresh,
                )
        note_change(user.pk)
        if spec.has_mfa and (fresh or not Authenticator.objects.filter(user=user).exists()):
            TOTP.activate(user, spec.totp_secret)
            RecoveryCodes.activate(user)
        users[spec.key] = user
    return users
