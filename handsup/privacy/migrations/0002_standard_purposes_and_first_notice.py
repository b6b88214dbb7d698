"""The purposes register the product needs now, and the first privacy notice.

A frozen copy: `handsup/privacy/register.py` holds the current definitions, and puts back
any of these rows that go missing after a migrate or a test-database flush.
"""

from django.db import migrations
from django.utils import timezone

PURPOSES = [
    {
        "code": "found_movement",
        "name": "Be found by any group in the movement",
        "text": "Any group in the movement may find me when it needs help that fits my skills, my free time and where I am. Until I say yes to an invitation, a group sees only my skills, roughly how far away I am and when I am free: never my name or how to contact me.",
        "scope": "movement",
        "channel": "",
        "lawful_basis": "consent",
        "special_category_condition": "Explicit consent (UK GDPR Article 9(2)(a)): taking part in a political movement reveals political opinions.",
    },
    {
        "code": "found_my_groups",
        "name": "Be found only by my own groups",
        "text": "Only the groups I have joined may find me when they need help that fits my skills, my free time and where I am. Other groups never see me. Until I say yes to an invitation, my groups see only my skills, roughly how far away I am and when I am free.",
        "scope": "movement",
        "channel": "",
        "lawful_basis": "consent",
        "special_category_condition": "Explicit consent (UK GDPR Article 9(2)(a)): taking part in a political movement reveals political opinions.",
    },
    {
        "code": "group_email",
        "name": "This group may email me",
        "text": "This group may send me emails: asks for help, its news and a regular digest. It must keep to its published communications policy and to my own limit on how often I am contacted. Every email has a link to stop them.",
        "scope": "group",
        "channel": "email",
        "lawful_basis": "consent",
        "special_category_condition": "Explicit consent (UK GDPR Article 9(2)(a)): taking part in a political movement reveals political opinions.",
    },
    {
        "code": "group_phone",
        "name": "This group may phone me",
        "text": "Organisers of this group may phone me about helping, at reasonable times of day. I can ask them to stop at any time, on the phone or here.",
        "scope": "group",
        "channel": "phone",
        "lawful_basis": "consent",
        "special_category_condition": "Explicit consent (UK GDPR Article 9(2)(a)): taking part in a political movement reveals political opinions.",
    },
    {
        "code": "group_post",
        "name": "This group may write to me by post",
        "text": "This group may send me letters at the postal address I have given. I can ask it to stop at any time.",
        "scope": "group",
        "channel": "post",
        "lawful_basis": "consent",
        "special_category_condition": "Explicit consent (UK GDPR Article 9(2)(a)): taking part in a political movement reveals political opinions.",
    },
    {
        "code": "share_contact_with_group",
        "name": "This group's organisers may see my contact details",
        "text": "Organisers and admins of this group may see my name and the contact details I have given on the group's member list. Without this, they see that the group has a member, but nothing that would let them contact me outside Hands Up.",
        "scope": "group",
        "channel": "",
        "lawful_basis": "consent",
        "special_category_condition": "Explicit consent (UK GDPR Article 9(2)(a)): taking part in a political movement reveals political opinions.",
    },
]

NOTICE_TEXT = """\
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


def create_purposes_and_first_notice(apps, schema_editor):
    Purpose = apps.get_model("privacy", "Purpose")
    PrivacyNotice = apps.get_model("privacy", "PrivacyNotice")
    db = schema_editor.connection.alias
    for fields in PURPOSES:
        Purpose.objects.using(db).update_or_create(
            code=fields["code"], defaults={k: v for k, v in fields.items() if k != "code"}
        )
    PrivacyNotice.objects.using(db).get_or_create(
        version=1, defaults={"text": NOTICE_TEXT + "\n", "published_at": timezone.now()}
    )


def remove_purposes_and_first_notice(apps, schema_editor):
    Purpose = apps.get_model("privacy", "Purpose")
    PrivacyNotice = apps.get_model("privacy", "PrivacyNotice")
    db = schema_editor.connection.alias
    Purpose.objects.using(db).filter(code__in=[p["code"] for p in PURPOSES]).delete()
    PrivacyNotice.objects.using(db).filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]

    operations = [
        migrations.RunPython(create_purposes_and_first_notice, remove_purposes_and_first_notice),
    ]
