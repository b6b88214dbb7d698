"""People who are not online: an organiser registers them, and they claim the account later.

Someone who agreed on paper or by phone gets a real `User` at once, so that consent
events, memberships and the access log all have their usual subject. The account has an
unusable password, so nobody can log in to it until the person claims it with a
single-use code. Without an email address the account carries a placeholder address in
a reserved domain (`.invalid` can never deliver mail); the claim replaces it.

Claim codes are ten characters from an alphabet without look-alikes (no 0/O, 1/I/L),
printed as XXXXX-XXXXX. Only an HMAC of the code is stored, keyed with the SECRET_KEY,
so a copy of the database can't be turned back into working codes. Issuing a code
cancels the person's earlier unused ones: the newest letter or email is the one that
works.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from handsup.accounts.models import User
from handsup.groups.models import Group, Membership
from handsup.people.models import ClaimCode, Person, Profile
from handsup.places.geo import Location
from handsup.privacy.audit import record_audit
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import ConsentEvent
from handsup.privacy.register import PurposeCode

CLAIM_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CLAIM_CODE_LENGTH = 10
CLAIM_CODE_LIFETIME = timedelta(days=14)
PLACEHOLDER_EMAIL_DOMAIN = "unclaimed.handsup.invalid"

# The consent each contact channel stands for, given to the registering group.
CHANNEL_PURPOSES = {
    "email": PurposeCode.GROUP_EMAIL,
    "phone": PurposeCode.GROUP_PHONE,
    "post": PurposeCode.GROUP_POST,
}
REGISTERED_ACTION = "people.offline_person_registered"
AGREED_BY = (ConsentEvent.Source.PAPER, ConsentEvent.Source.PHONE)


class ClaimRefused(Exception):
    """A claim code that can't be used; the message is for the person who typed it."""


# --- Codes --------------------------------------------------------------------------------


def new_claim_code() -> str:
    raw = "".join(secrets.choice(CLAIM_CODE_ALPHABET) for _ in range(CLAIM_CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_claim_code(typed: str) -> str:
    """What someone typed, as the code it stands for: case, spaces and dashes don't matter."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def hash_claim_code(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalise_claim_code(code).encode(), hashlib.sha256).hexdigest()


def placeholder_email() -> str:
    return f"unclaimed-{secrets.token_hex(8)}@{PLACEHOLDER_EMAIL_DOMAIN}"


def has_placeholder_email(user: User) -> bool:
    return user.email.endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)


def is_unclaimed(person: Person) -> bool:
    """Registered by an organiser and not yet taken over by the person."""
    return person.user is not None and not person.user.has_usable_password()


# --- Registering someone ------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineDetails:
    """What the organiser wrote down; checked by the form before it gets here."""

    name: str
    agreed_by: str  # ConsentEvent.Source.PAPER or .PHONE
    email: str
    phone: str
    postal_address: str
    channels: tuple[str, ...]  # of "email", "phone", "post"
    share_contact: bool
    place: Location | None


@transaction.atomic
def do_register_offline_person(
    *, organiser: User, group: Group, details: OfflineDetails, claim_link: str
) -> tuple[Person, str | None]:
    """Create the account, person, profile, membership and consents for someone offline.

    Returns the person and, when they gave an email address, the claim code that has
    been emailed to them (sent once the transaction commits). People without email get
    their code on a printed letter (`do_issue_claim_code`).
    """
    if details.agreed_by not in AGREED_BY:
        raise ValueError(f"Offline consent is on paper or by phone, not {details.agreed_by!r}.")
    user = User.objects.create_user(
        email=details.email or placeholder_email(), password=None, full_name=details.name
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    place = details.place
    person = Person.objects.create(
        user=user,
        display_name=details.name,
        postcode=place.code if place and place.code != place.district else "",
        district=place.district if place else "",
        eastings=place.point.eastings if place else None,
        northings=place.point.northings if place else None,
        verified=True,  # the organiser met or spoke to them
    )
    Profile.objects.create(
        person=person,
        phone=details.phone,
        postal_address=details.postal_address,
        contact_by_email="email" in details.channels,
        contact_by_phone="phone" in details.channels,
        contact_by_post="post" in details.channels,
    )
    Membership.objects.create(user=user, group=group, role=Membership.Role.MEMBER)
    purposes = [CHANNEL_PURPOSES[channel] for channel in details.channels]
    if details.share_contact:
        purposes.append(PurposeCode.SHARE_CONTACT_WITH_GROUP)
    for purpose in purposes:
        do_record_consent(
            user=user,
            purpose=purpose,
            given=True,
            source=details.agreed_by,
            recorded_by=organiser,
            group=group,
        )
    record_audit(
        actor=organiser,
        action=REGISTERED_ACTION,
        obj=person,
        group=group,
        details={"source": details.agreed_by, "channels": list(details.channels)},
    )
    code = None
    if details.email:
        code = do_issue_claim_code(
            organiser=organiser, person=person, group=group, email_link=claim_link
        )
    return person, code


@transaction.atomic
def do_issue_claim_code(
    *, organiser: User, person: Person, group: Group, email_link: str | None = None
) -> str:
    """A new claim code for `person`, cancelling their unused ones.

    With `email_link` (the absolute address of the claim page) the code is emailed to
    the person's address once the transaction commits.

    Returns the code itself: the caller prints it on a letter, or it has gone by email.
    It is never stored, so it can't be shown again.
    """
    now = timezone.now()
    person.claim_codes.filter(used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    code = new_claim_code()
    ClaimCode.objects.create(
        person=person,
        code_hash=hash_claim_code(code),
        expires_at=now + CLAIM_CODE_LIFETIME,
        created_by=organiser,
    )
    record_audit(
        actor=organiser,
        action="people.claim_code_issued",
        obj=person,
        group=group,
        details={"by": "email" if email_link else "letter"},
    )
    if email_link:
        assert person.user is not None
        to = person.user.email
        subject = _("Your Hands Up account is waiting for you")
        body = claim_email_body(person=person, group=group, code=code, link=email_link)
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to]), robust=True
        )
    return code


def claim_email_body(*, person: Person, group: Group, code: str, link: str) -> str:
    return _(
        "Hello %(name)s,\n\n"
        "%(group)s has added you to Hands Up, as you agreed with them. You can take over "
        "your account whenever you like: it lets you say what you can do, when, and how "
        "you want to be asked.\n\n"
        "1. Go to %(link)s\n"
        "2. Enter this code: %(code)s\n"
        "3. Enter your email address and choose a password.\n\n"
        "The code works once and expires in 14 days. If it has expired, ask %(group)s "
        "for a new one.\n\n"
        "If you did not agree to this, you can ignore this email, or reply and we will "
        "remove your details.\n"
    ) % {"name": person.display_name, "group": group.name, "code": code, "link": link}


# --- Claiming -----------------------------------------------------------------------------


@transaction.atomic
def do_claim_account(*, code: str, email: str, password: str) -> User:
    """Hand the account to the person holding `code`: their email, their password.

    Raises `ClaimRefused` (and changes nothing) for a wrong, expired or used code. The
    caller has already validated the password and checked that no other account has
    this email address.
    """
    now = timezone.now()
    claim = (
        ClaimCode.objects.select_for_update(of=("self",))
        .select_related("person__user")
        .filter(code_hash=hash_claim_code(code))
        .first()
    )
    if claim is None:
        raise ClaimRefused(
            _("That code is not right. Check it against your letter or email and try again.")
        )
    if claim.used_at is not None:
        raise ClaimRefused(
            _(
                "That code has already been used. If it was you, log in with your email "
                "and password."
            )
        )
    if claim.expires_at <= now:
        raise ClaimRefused(
            _(
                "That code has expired, or a newer one was sent. Ask the group that "
                "registered you for a new code."
            )
        )
    user = claim.person.user
    if user is None or user.has_usable_password():
        raise ClaimRefused(_("This account has already been claimed. Log in instead."))
    claimed_email = email.strip().lower()
    from allauth.account.models import EmailAddress

    # The address the code was emailed to is proven by the code itself.
    verified = claimed_email == user.email.lower() and not has_placeholder_email(user)
    EmailAddress.objects.filter(user=user).delete()
    user.email = claimed_email
    user.set_password(password)
    user.save(update_fields=["email", "password"])
    EmailAddress.objects.create(user=user, email=claimed_email, primary=True, verified=verified)
    claim.used_at = now
    claim.save(update_fields=["used_at"])
    record_audit(
        actor=user,
        action="people.account_claimed",
        obj=claim.person,
        details={"email_verified": verified},
    )
    return user
