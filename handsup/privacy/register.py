"""The purposes the software relies on, and the first privacy notice.

Migration 0002 wrote these rows when the app was installed (from its own frozen copy,
as data migrations must). This module is the current definition, used for one thing:
after every `migrate` (and after every test-database flush, which emits the same
signal), any standard purpose or notice that is missing is put back, so code that
records consent for `group_email` can rely on it existing. Rows that exist are never
overwritten: platform admins edit the wording in the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone


class PurposeCode:
    """The codes code refers to; `Purpose.code` holds the same strings."""

    FOUND_MOVEMENT = "found_movement"
    FOUND_MY_GROUPS = "found_my_groups"
    GROUP_EMAIL = "group_email"
    GROUP_PHONE = "group_phone"
    GROUP_POST = "group_post"
    SHARE_CONTACT_WITH_GROUP = "share_contact_with_group"


EXPLICIT_CONSENT = (
    "Explicit consent (UK GDPR Article 9(2)(a)): taking part in a political movement "
    "reveals political opinions."
)


@dataclass(frozen=True)
class PurposeSpec:
    code: str
    name: str
    text: str
    scope: str  # "movement" or "group"
    channel: str = ""
    lawful_basis: str = "consent"
    special_category_condition: str = EXPLICIT_CONSENT

    def as_fields(self) -> dict[str, str]:
        return {
            "name": self.name,
            "text": self.text,
            "scope": self.scope,
            "channel": self.channel,
            "lawful_basis": self.lawful_basis,
            "special_category_condition": self.special_category_condition,
        }


STANDARD_PURPOSES: tuple[PurposeSpec, ...] = (
    PurposeSpec(
        PurposeCode.FOUND_MOVEMENT,
        "Be found by any group in the movement",
        "Any group in the movement may find me when it needs help that fits my skills, "
        "my free time and where I am. Until I say yes to an invitation, a group sees only "
        "my skills, roughly how far away I am and when I am free: never my name or how to "
        "contact me.",
        scope="movement",
    ),
    PurposeSpec(
        PurposeCode.FOUND_MY_GROUPS,
        "Be found only by my own groups",
        "Only the groups I have joined may find me when they need help that fits my "
        "skills, my free time and where I am. Other groups never see me. Until I say yes "
        "to an invitation, my groups see only my skills, roughly how far away I am and "
        "when I am free.",
        scope="movement",
    ),
    PurposeSpec(
        PurposeCode.GROUP_EMAIL,
        "This group may email me",
        "This group may send me emails: asks for help, its news and a regular digest. It "
        "must keep to its published communications policy and to my own limit on how "
        "often I am contacted. Every email has a link to stop them.",
        scope="group",
        channel="email",
    ),
    PurposeSpec(
        PurposeCode.GROUP_PHONE,
        "This group may phone me",
        "Organisers of this group may phone me about helping, at reasonable times of day. "
        "I can ask them to stop at any time, on the phone or here.",
        scope="group",
        channel="phone",
    ),
    PurposeSpec(
        PurposeCode.GROUP_POST,
        "This group may write to me by post",
        "This group may send me letters at the postal address I have given. I can ask it "
        "to stop at any time.",
        scope="group",
        channel="post",
    ),
    PurposeSpec(
        PurposeCode.SHARE_CONTACT_WITH_GROUP,
        "This group's organisers may see my contact details",
        "Organisers and admins of this group may see my name and the contact details I "
        "have given on the group's member list. Without this, they see that the group has "
        "a member, but nothing that would let them contact me outside Hands Up.",
        scope="group",
    ),
)

STANDARD_PURPOSE_CODES = frozenset(spec.code for spec in STANDARD_PURPOSES)

FIRST_NOTICE_TEXT = """\
Hands Up privacy notice

Who we are
Hands Up is run by the movement for every group in it: the party, its branches and
constituency parties, affiliated unions and societies, and campaigns. It helps them find
people willing to help, and helps you stay in control of what happens to your data.

What we keep about you
Your account (your name and email address). What you tell us so that groups can ask you
for the right things: your skills, your languages, when you are free and how many hours,
and roughly where you are (from your postcode) and how far you will travel. Which groups
you belong to, and your choices about who may contact you and how. We also keep a record
of who has looked at your details and of what we sent you or held back.

Why this is sensitive
Being part of a political party or campaign reveals your political opinions, which the
law treats as special. We only use this data with your explicit permission, given for
each purpose separately, and you can take any permission back at any time. Taking one
back never affects the others.

What each permission lets us do
Each choice you make says exactly what it allows: for example, "this group may email me"
or "any group in the movement may find me for a need". You see the wording when you make
the choice, and we keep a copy of the words you saw, when you chose and how (on the
website, on paper, by phone).

Who sees what
Until you say yes to an invitation, a group sees only your skills, roughly how far away
you are and when you are free: never your name, address or contact details. When you say
yes, that group sees your name and the contact details you chose, for that piece of work,
for a limited time. Nobody else sees your postal address unless you let a group write to
you by post. Every time someone else looks at your details, we write it down, and you
can see that record.

How often we contact you
All groups share one limit on how often you are asked for help. You set your own limit
too; we never go over either. Messages over the limit wait for your next digest.

How long we keep it
While you are a member of a group, that group can see what you have allowed it to see.
When you leave a group, it keeps your details only for as long as its published
retention policy says, then they are removed. If you delete your account, we delete or
anonymise everything about you, except a scrambled (hashed) copy of your email address
that stops us ever emailing you again.

Your rights
You can see everything we hold about you, download it, correct it, and delete your
account, all from your account pages. You can object to any use of your data, and you can
complain to the Information Commissioner's Office (ico.org.uk). Our data protection
officer answers every request within one month.
"""


def ensure_standard_register(*, apps: Apps = global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create any missing standard purpose, and notice version 1 if there is no notice."""
    try:
        purpose_model = apps.get_model("privacy", "Purpose")
        notice_model = apps.get_model("privacy", "PrivacyNotice")
    except LookupError:  # privacy's migrations are not applied (e.g. `migrate privacy zero`)
        return
    existing = set(purpose_model._default_manager.using(using).values_list("code", flat=True))
    purpose_model._default_manager.using(using).bulk_create(
        [
            purpose_model(code=spec.code, **spec.as_fields())
            for spec in STANDARD_PURPOSES
            if spec.code not in existing
        ]
    )
    if not notice_model._default_manager.using(using).exists():
        notice_model._default_manager.using(using).create(
            version=1, text=FIRST_NOTICE_TEXT, published_at=timezone.now()
        )


def restore_standard_register_after_migrate(
    sender: Any, *, using: str = DEFAULT_DB_ALIAS, apps: Apps = global_apps, **kwargs: Any
) -> None:
    # `migrate` sends its migration-state apps; `flush` sends none (the live models).
    ensure_standard_register(apps=apps, using=using)
