"""Download my data: complete (every exported field of the inventory), about the person
only, built in the background, downloadable by its owner until it expires."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from handsup.accounts.models import User
from handsup.core.models import PrivateFile
from handsup.core.schedule import registered_jobs
from handsup.core.storage import PrivateFileSystemStorage
from handsup.groups.models import (
    Departure,
    Group,
    GroupBlock,
    GroupInvitation,
    JoinRequest,
    Membership,
    MovementRole,
    PersonSuspension,
)
from handsup.imports.models import ImportedPerson, ImportJob
from handsup.messaging.models import (
    AddressSuppression,
    CampaignPeriod,
    Digest,
    LedgerEntry,
    Message,
    OutboxItem,
    Unsubscribe,
)
from handsup.needs.models import ContactGrant, HoursLog, Invitation, Need
from handsup.people.models import (
    ClaimCode,
    DateAway,
    Person,
    PersonSkill,
    Profile,
    Skill,
    SkillCategory,
)
from handsup.platform.models import (
    ApiToken,
    Tool,
    ToolHelpNeed,
    ToolMaintainer,
    WebhookDelivery,
    WebhookEndpoint,
)
from handsup.privacy.export import (
    SCHEMA,
    SOMEONE_ELSE,
    YOU,
    _through_links,
    build_export,
    do_build_export,
    do_request_export,
)
from handsup.privacy.inventory import inventory
from handsup.privacy.models import (
    AccessLogEntry,
    AuditEntry,
    ConsentEvent,
    DataExport,
    DataRequest,
    PrivacyNotice,
    Purpose,
    ReconfirmRequest,
)
from handsup.privacy.ownership import links
from handsup.privacy.tasks import build_data_export, delete_expired_data_exports
from handsup.stories.models import (
    Story,
    StoryCredit,
    StoryHelpNeed,
    StoryImage,
    StoryPerson,
    StoryRevision,
    SupportRequest,
)
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

WHEN = datetime(2001, 2, 3, 4, 5, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def private_files_in_tmp(monkeypatch: Any, tmp_path: Path) -> Path:
    # The field took its storage when the model was defined, so swap the storage itself.
    folder = tmp_path / "private"
    field = PrivateFile._meta.get_field("file")
    monkeypatch.setattr(field, "storage", PrivateFileSystemStorage(location=folder))
    return folder


def _json(value: Any) -> Any:
    """A value as data.json holds it."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _make(model: type[models.Model], **values: Any) -> Any:
    """A row holding exactly `values`, past `auto_now` and `auto_now_add`."""
    row = model._default_manager.create(**values)
    model._default_manager.filter(pk=row.pk).update(**values)
    return row


@dataclass
class Filled:
    subject: User
    other: User
    person: Person
    # (model label, field) → the value data.json must show for it.
    expected: dict[tuple[str, str], Any]
    other_names: list[str]  # the other person's name, email and ids


def _fill_every_field(token: str) -> Filled:
    """A person whose every exported personal field holds a marker (strings) or a
    distinctive value (other types), and a second person who read, invited, suspended
    and asked them: the first person's export must never name the second."""
    counter = iter(range(100, 1000))
    expected: dict[tuple[str, str], Any] = {}

    def marker(limit: int = 200) -> str:
        return f"{token}{next(counter)}"[:limit]

    def moment() -> datetime:
        return WHEN + timedelta(minutes=next(counter))

    def expect(label: str, **values: Any) -> dict[str, Any]:
        for name, value in values.items():
            expected[(label, name)] = value
        return values

    def you(label: str, *names: str) -> None:
        for name in names:
            expected[(label, name)] = YOU

    other = User.objects.create_user(
        f"{token}other@example.invalid", "x", full_name=f"{token} Other Name"
    )
    other_person = Person.objects.create(user=other, display_name=f"{token} Other Display")

    # The account, its addresses and second factor.
    subject = User.objects.create_user(f"{token}@example.invalid", "x")
    account = expect(
        "accounts.user",
        email=f"{token}-email@example.invalid",
        full_name=f"<script>alert('{token}')</script> Name",
        is_active=False,
        is_staff=True,
        is_superuser=True,
        date_joined=moment(),
        last_login=moment(),
    )
    User.objects.filter(pk=subject.pk).update(**account)
    subject.refresh_from_db()
    expected[("accounts.user", "public_id")] = subject.public_id
    address = _make(
        EmailAddress,
        user=subject,
        **expect("account.emailaddress", email=marker(), verified=True, primary=True),
    )
    you("account.emailaddress", "user")
    _make(
        EmailConfirmation,
        email_address=address,
        key=marker(),
        **expect("account.emailconfirmation", created=moment(), sent=moment()),
    )
    expected[("account.emailconfirmation", "email_address")] = address.email
    _make(
        Authenticator,
        user=subject,
        data={"secret": "never exported"},
        **expect(
            "mfa.authenticator", type="recovery_codes", created_at=moment(), last_used_at=moment()
        ),
    )
    you("mfa.authenticator", "user")
    _make(
        PersonSuspension,
        user=subject,
        suspended_by=other,
        **expect(
            "groups.personsuspension", reason=marker(), suspended_at=moment(), lifted_at=moment()
        ),
    )
    you("groups.personsuspension", "user")
    # The person's own suspension names the other person who did it as "someone else";
    # the other person's suspension, done by this one, is theirs ("you" here).
    _make(PersonSuspension, user=other, suspended_by=subject, reason="not theirs")
    you("groups.personsuspension", "suspended_by")

    # The profile.
    person = _make(
        Person,
        user=subject,
        **expect(
            "people.person",
            display_name=marker(),
            # Only a person without an account has an address here (a check constraint
            # says so): the export shows the field, empty.
            email="",
            postcode=marker(8),
            district="ZZ9",
            eastings=123457,
            northings=654321,
            created_at=moment(),
            verified=True,
        ),
    )
    expected[("people.person", "public_id")] = person.public_id
    you("people.person", "user")
    _make(
        Profile,
        person=person,
        **expect(
            "people.profile",
            availability=987654,
            hours_normal=31,
            hours_campaign=37,
            travel_radius_km=77,
            talents=marker(),
            languages=[marker(), "cy"],
            accessibility_needs=marker(),
            phone=marker(30),
            postal_address=marker(),
            contact_by_email=True,
            contact_by_phone=True,
            contact_by_post=True,
            asks_per_week_normal=13,
            asks_per_week_campaign=17,
            digest_cadence="fortnightly",
            quiet_from=time(19, 17),
            quiet_until=time(6, 43),
            time_zone="Pacific/Auckland",
            updated_at=moment(),
        ),
    )
    you("people.profile", "person")
    category = SkillCategory.objects.create(slug=marker(), name=marker(), position=9)
    skill = Skill.objects.create(slug=marker(), name=marker(), category=category)
    _make(
        PersonSkill,
        person=person,
        skill=skill,
        **expect("people.personskill", level=4, remote=True),
    )
    expected[("people.personskill", "skill")] = skill.name
    you("people.personskill", "person")
    _make(
        DateAway,
        person=person,
        **expect("people.dateaway", starts_on=date(2031, 1, 2), ends_on=date(2031, 3, 4)),
    )
    you("people.dateaway", "person")
    _make(
        ClaimCode,
        person=person,
        code_hash=marker(),
        created_by=other,
        **expect("people.claimcode", created_at=moment(), expires_at=moment(), used_at=moment()),
    )
    you("people.claimcode", "person")
    other_code = _make(
        ClaimCode, person=other_person, code_hash=marker(), created_by=subject, expires_at=moment()
    )
    you("people.claimcode", "created_by")

    # Groups.
    group = Group.objects.create(
        name=f"{token} Group", slug=f"g{token}".lower(), kind="branch", requested_by=subject
    )
    you("groups.group", "requested_by")
    _make(
        Membership,
        user=subject,
        group=group,
        **expect("groups.membership", role="admin", joined_at=moment()),
    )
    expected[("groups.membership", "public_id")] = Membership.objects.get(user=subject).public_id
    you("groups.membership", "user")
    _make(
        Departure,
        user=subject,
        group=group,
        **expect("groups.departure", left_at=moment(), retain_until=date(2032, 5, 6)),
    )
    you("groups.departure", "user")
    request = _make(
        JoinRequest,
        user=subject,
        group=group,
        decided_by=other,
        **expect("groups.joinrequest", status="declined", created_at=moment(), decided_at=moment()),
    )
    expected[("groups.joinrequest", "public_id")] = request.public_id
    you("groups.joinrequest", "user")
    _make(JoinRequest, user=other, group=group, decided_by=subject, status="approved")
    you("groups.joinrequest", "decided_by")
    invitation = _make(
        GroupInvitation,
        user=subject,
        group=group,
        invited_by=other,
        **expect(
            "groups.groupinvitation", created_at=moment(), answered_at=moment(), accepted=True
        ),
    )
    expected[("groups.groupinvitation", "public_id")] = invitation.public_id
    you("groups.groupinvitation", "user")
    _make(GroupInvitation, user=other, group=group, invited_by=subject)
    you("groups.groupinvitation", "invited_by")
    _make(GroupBlock, user=subject, group=group, **expect("groups.groupblock", created_at=moment()))
    you("groups.groupblock", "user")
    _make(
        MovementRole,
        user=subject,
        **expect("groups.movementrole", role="dpo", granted_at=moment()),
    )
    you("groups.movementrole", "user")
    job = ImportJob.objects.create(group=group, created_by=subject, encoding="utf-8")
    you("imports.importjob", "created_by")
    _make(
        ImportedPerson,
        user=subject,
        group=group,
        job=job,
        **expect("imports.importedperson", imported_at=moment()),
    )
    expected[("imports.importedperson", "job")] = job.public_id
    you("imports.importedperson", "user")

    # Consents: the person's own, recorded by someone else; and one they recorded.
    purpose = Purpose.objects.order_by("pk").first()
    notice = PrivacyNotice.objects.order_by("pk").first()
    assert purpose is not None and notice is not None
    ConsentEvent.objects.create(
        user=subject,
        purpose=purpose,
        given=True,
        source="paper",
        recorded_by=other,
        notice_version=notice,
        wording=marker(),
    )
    you("privacy.consentevent", "user")
    ConsentEvent.objects.create(
        user=other,
        purpose=purpose,
        given=True,
        source="phone",
        recorded_by=subject,
        notice_version=notice,
        wording="the other person's consent",
    )
    you("privacy.consentevent", "recorded_by")

    # Who read whose details.
    AccessLogEntry.objects.create(
        actor=other, subject=subject, purpose="member_list", fields=["phone"], group=group
    )
    you("privacy.accesslogentry", "subject")
    AccessLogEntry.objects.create(
        actor=subject, subject=other, purpose="need_people", fields=["email"], group=group
    )
    you("privacy.accesslogentry", "actor")

    # The audit log: what the person did, and to whom (never named).
    need = Need.objects.create(
        group=group,
        title=f"{token} need title",
        description="-",
        location_kind="remote",
        schedule_kind="windows",
        hours=Decimal("2.0"),
        people_needed=3,
        closes_on=date(2031, 1, 1),
        created_by=subject,
    )
    you("needs.need", "created_by")
    details = {"marker": marker(), "who": other.public_id, "need": need.public_id}
    AuditEntry.objects.create(
        actor=subject,
        action="needs.created",
        object_type="needs.need",
        **expect("privacy.auditentry", object_public_id=need.public_id, details=details),
    )
    expected[("privacy.auditentry", "details")] = {**details, "who": SOMEONE_ELSE}
    you("privacy.auditentry", "actor")
    AuditEntry.objects.create(
        actor=subject,
        action="person.suspended",
        object_type="accounts.user",
        object_public_id=other.public_id,
        details={"reason": "about the other"},
    )
    AuditEntry.objects.create(
        actor=other,
        action="group.member_role_changed",
        object_type="accounts.user",
        object_public_id=subject.public_id,
        details={"by": other_person.public_id},
    )
    _make(
        LogEntry,
        user=subject,
        content_type=ContentType.objects.get_for_model(Group),
        object_id=str(group.pk),
        action_flag=ADDITION,
        change_message="[]",
        **expect("admin.logentry", object_repr=marker()),
    )
    you("admin.logentry", "user")

    # Needs: the person was asked, said yes, logged hours; and asked someone else.
    ask = Invitation.objects.create(
        need=need,
        user=subject,
        source="ask",
        created_at=WHEN,
        expires_at=WHEN + timedelta(days=3),
        invited_by=other,
        relayed_by=other,
        status="accepted",
        answered_at=WHEN,
    )
    you("needs.invitation", "user")
    their_ask = Invitation.objects.create(
        need=need,
        user=other,
        source="ask",
        created_at=WHEN,
        expires_at=WHEN + timedelta(days=3),
        invited_by=subject,
        relayed_by=subject,
    )
    you("needs.invitation", "invited_by", "relayed_by")
    ContactGrant.objects.create(
        invitation=ask,
        user=subject,
        group=group,
        need=need,
        created_at=WHEN,
        expires_at=WHEN + timedelta(days=30),
    )
    you("needs.contactgrant", "user")
    HoursLog.objects.create(
        invitation=their_ask,
        hours=Decimal("1.5"),
        logged_by=subject,
        on_date=date(2030, 1, 1),
        created_at=WHEN,
    )
    you("needs.hourslog", "logged_by")
    # Hours someone else logged for the person's own yes: theirs, through the invitation.
    HoursLog.objects.create(
        invitation=ask,
        hours=Decimal("3.5"),
        logged_by=other,
        on_date=date(2030, 1, 2),
        note=f"{token} hours note",
        created_at=WHEN,
    )

    # Messaging.
    message = Message.objects.create(
        kind="group_update", group=group, subject=f"{token} subject", author=subject
    )
    you("messaging.message", "author")
    CampaignPeriod.objects.create(
        name=f"{token} campaign",
        starts_at=WHEN,
        ends_at=WHEN + timedelta(days=1),
        declared_by=subject,
    )
    you("messaging.campaignperiod", "declared_by")
    LedgerEntry.objects.create(
        user=subject,
        message=message,
        kind="group_update",
        at=WHEN,
        decision="sent",
        reason="within_budget",
    )
    you("messaging.ledgerentry", "user")
    OutboxItem.objects.create(
        message=message,
        user=subject,
        due_at=WHEN,
        **expect("messaging.outboxitem", address=marker()),
    )
    you("messaging.outboxitem", "user")
    Unsubscribe.objects.create(user=subject, scope="everything")
    you("messaging.unsubscribe", "user")
    Digest.objects.create(
        user=subject,
        period_start=date(2030, 2, 3),
        cadence="weekly",
        message=message,
        since=WHEN,
        until=WHEN,
    )
    you("messaging.digest", "user")
    AddressSuppression.objects.create(
        user=subject,
        cause="bounced",
        reason="address_bounced",
        provider="test",
        at=WHEN,
        **expect("messaging.addresssuppression", address=marker(), detail=marker()),
    )
    you("messaging.addresssuppression", "user")

    # Files, and an earlier download.
    stored = PrivateFile(owner=subject, **expect("core.privatefile", name=marker()))
    stored.file.save("x.csv", ContentFile(b"x"), save=False)
    stored.save()
    you("core.privatefile", "owner")
    DataExport.objects.create(user=subject, status="failed")
    you("privacy.dataexport", "user")

    # Stories: one they wrote (with someone named, a picture and an earlier version), and
    # the mentions of them in a story they helped with or decided on.
    story = _make(
        Story,
        author=subject,
        group=group,
        happened_on=date(2030, 3, 4),
        **expect(
            "stories.story",
            title=marker(140),
            body=marker(),
            district="M1",
            links=[f"https://example.org/{token}"],
            status_note=marker(),
            told_result_url=f"https://example.org/{token}/result",
        ),
    )
    you("stories.story", "author")
    _make(
        StoryPerson,
        story=story,
        consented=True,
        **expect("stories.storyperson", name=marker(100), role=marker()),
    )
    picture = PrivateFile(owner=subject, name="story.png", content_type="image/png")
    picture.file.save("story.png", ContentFile(b"png"), save=False)
    picture.save()
    _make(
        StoryImage,
        story=story,
        file=picture,
        width=1,
        height=1,
        **expect("stories.storyimage", alt_text=marker()),
    )
    _make(
        StoryRevision,
        story=story,
        edited_by=subject,
        **expect("stories.storyrevision", title=marker(140), body=marker(), note=marker()),
    )
    you("stories.storyrevision", "edited_by")
    their_story = Story.objects.create(
        author=other, title="not theirs", body="not theirs", happened_on=date(2030, 3, 5)
    )
    StoryHelpNeed.objects.create(story=their_story, need=need, kind="video", opened_by=subject)
    you("stories.storyhelpneed", "opened_by")
    StoryCredit.objects.create(story=their_story, user=subject)
    you("stories.storycredit", "user")
    SupportRequest.objects.create(
        story=their_story,
        group=group,
        requested_by=subject,
        decided_by=subject,
        kind="grant",
        what="a camera",
        how_much="£100",
        why="to film it",
        status="approved",
        decided_at=WHEN,
    )
    you("stories.supportrequest", "requested_by", "decided_by")

    # The open platform: a token and an endpoint they set up, an event about them, a tool
    # they added and maintain, and its "help wanted" need.
    ApiToken.objects.create(
        group=group,
        name="Sync",
        prefix="hu_abc",
        secret_digest="0" * 64,
        created_by=subject,
        expires_at=WHEN + timedelta(days=30),
    )
    you("platform.apitoken", "created_by")
    endpoint = WebhookEndpoint.objects.create(
        group=group, url="https://example.org/hook", secret="whsec_x", created_by=subject
    )
    you("platform.webhookendpoint", "created_by")
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=f"msg_{token}",
        event="member.joined",
        subject=subject,
        next_attempt_at=WHEN,
        **expect("platform.webhookdelivery", payload={"type": "member.joined", "id": marker()}),
    )
    you("platform.webhookdelivery", "subject")
    tool = Tool.objects.create(
        name="Canvass app",
        summary="Door knocking",
        description="Plans rounds",
        licence="AGPL-3.0",
        source_url="https://example.org/src",
        submitted_by=subject,
    )
    you("platform.tool", "submitted_by")
    ToolMaintainer.objects.create(tool=tool, user=subject)
    you("platform.toolmaintainer", "user")
    ToolHelpNeed.objects.create(
        tool=tool,
        need=Need.objects.create(
            group=group,
            title="Tool help",
            description="Help",
            location_kind="remote",
            schedule_kind="windows",
            hours=Decimal(1),
            people_needed=1,
            closes_on=date(2030, 1, 1),
        ),
        opened_by=subject,
    )
    you("platform.toolhelpneed", "opened_by")

    # Requests to the data protection officer: one about them, one they handled.
    DataRequest.objects.create(
        subject=subject,
        kind=DataRequest.Kind.ACCESS,
        channel=DataRequest.Channel.POST,
        received_on=WHEN.date(),
        due_on=WHEN.date() + timedelta(days=31),
        **expect("privacy.datarequest", requester_details=marker()),
    )
    you("privacy.datarequest", "subject")
    DataRequest.objects.create(
        subject=other,
        kind=DataRequest.Kind.OBJECTION,
        channel=DataRequest.Channel.PHONE,
        received_on=WHEN.date(),
        due_on=WHEN.date() + timedelta(days=31),
        identity_checked_by=subject,
        handled_by=subject,
    )
    you("privacy.datarequest", "identity_checked_by", "handled_by")
    ReconfirmRequest.objects.create(user=subject, asked_at=WHEN, anonymise_after=WHEN)
    you("privacy.reconfirmrequest", "user")

    assert other_code.person_id == other_person.pk
    return Filled(
        subject=subject,
        other=other,
        person=person,
        expected={key: _json(value) for key, value in expected.items()},
        other_names=[
            other.full_name,
            other.email,
            other.public_id,
            other_person.public_id,
            other_person.display_name,
        ],
    )


def _read(content: bytes) -> tuple[dict[str, Any], str, str]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert sorted(archive.namelist()) == ["README.txt", "data.json", "index.html"]
    return (
        json.loads(archive.read("data.json")),
        archive.read("index.html").decode(),
        archive.read("README.txt").decode(),
    )


def _exported_fields() -> list[tuple[str, str]]:
    return [
        (entry.model, entry.field)
        for section in inventory.export_sections()
        for entry in section.fields
    ]


def test_every_exported_field_of_the_inventory_reaches_the_export() -> None:
    token = "Mk" + secrets.token_hex(3)
    filled = _fill_every_field(token)
    data, _html, _readme = _read(build_export(filled.subject))

    assert data["schema"] == SCHEMA
    assert data["person"] == {"public_id": filled.subject.public_id}
    seen: dict[tuple[str, str], list[Any]] = {}
    sections_of: dict[tuple[str, str], set[str]] = {}
    for section in data["sections"]:
        for record in section["records"]:
            for name, value in record["fields"].items():
                seen.setdefault((record["model"], name), []).append(value)
                sections_of.setdefault((record["model"], name), set()).add(section["code"])

    wanted = _exported_fields()
    missing = []
    for key in wanted:
        if key not in filled.expected:
            missing.append(f"{key[0]}.{key[1]}: no fixture in _fill_every_field; add one")
        elif filled.expected[key] not in seen.get(key, []):
            missing.append(
                f"{key[0]}.{key[1]}: expected {filled.expected[key]!r}, "
                f"found {seen.get(key, [])[:5]!r}"
            )
    completeness = 100 * (len(wanted) - len(missing)) / len(wanted)
    assert not missing, f"completeness {completeness:.1f}%:\n" + "\n".join(missing)
    assert completeness == 100
    # Each field is in the section the inventory gives it.
    for section in inventory.export_sections():
        for entry in section.fields:
            assert section.code in sections_of[(entry.model, entry.field)], entry


def test_the_export_names_no_one_else_and_leaves_out_credentials() -> None:
    token = "Mk" + secrets.token_hex(3)
    filled = _fill_every_field(token)
    data, html, readme = _read(build_export(filled.subject))
    text = json.dumps(data)
    for name in filled.other_names:
        assert name not in text, name
        assert name not in html, name
    assert SOMEONE_ELSE in text
    # A suspension the person made: in their activity as "you", with nothing of whom.
    assert "about the other" not in text or '"someone else"' in text
    # Credentials are left out.
    assert "never exported" not in text
    assert "never exported" not in html
    assert filled.subject.password not in text
    # What someone else did to the person is there, without who did it.
    about = [
        record
        for section in data["sections"]
        for record in section["records"]
        if record["model"] == "privacy.auditentry" and record["link"] == "object_public_id"
    ]
    assert [r["fields"]["actor"] for r in about] == [SOMEONE_ELSE]
    assert about[0]["fields"]["object_public_id"] == YOU
    assert about[0]["fields"]["details"] == {"by": SOMEONE_ELSE}
    # The reads the person made: what and when, never whose.
    reads = [
        record["fields"]
        for section in data["sections"]
        for record in section["records"]
        if record["model"] == "privacy.accesslogentry" and record["link"] == "actor"
    ]
    assert reads and all("subject" not in fields for fields in reads)
    # Hours logged for the person's yes, by someone else: through their invitation.
    hours = [
        record
        for section in data["sections"]
        for record in section["records"]
        if record["model"] == "needs.hourslog" and record["link"] == "invitation"
    ]
    assert [record["fields"]["logged_by"] for record in hours] == [SOMEONE_ELSE]
    assert hours[0]["fields"]["hours"] == "3.5"
    assert hours[0]["fields"]["note"].endswith("hours note")
    assert "docs/data-export.md" in readme


def test_the_html_shows_the_markers_escaped() -> None:
    token = "Mk" + secrets.token_hex(3)
    filled = _fill_every_field(token)
    data, html, _readme = _read(build_export(filled.subject))
    assert f"<script>alert('{token}')</script>" not in html
    assert f"&lt;script&gt;alert(&#x27;{token}&#x27;)&lt;/script&gt;" in html
    strings = [
        value
        for value in filled.expected.values()
        if isinstance(value, str) and value.startswith(token) and "<" not in value
    ]
    assert strings
    for value in strings:
        assert value in html, value
    for section in data["sections"]:
        assert section["title"] in html


def test_the_export_reads_each_table_once_whatever_its_size(
    django_assert_max_num_queries: Any,
) -> None:
    filled = _fill_every_field("Mk" + secrets.token_hex(3))
    # One query per link and per table reached through the person's own rows (the people
    # a story of theirs names), and a few more (the account, the profile, people's ids in
    # the audit log): never one per row.
    exported_links = [link for link in links() if link.entry.exported]
    through = _through_links([link for link in exported_links if link.kind == "own"])
    with django_assert_max_num_queries(len(exported_links) + len(through) + 20):
        build_export(filled.subject)


# --- The background build and the pages ----------------------------------------------------


def _run_queued(export: DataExport) -> DataExport:
    """What `handsup worker` does with the queued task."""
    queued = DBTaskResult.objects.filter(
        args_kwargs__kwargs__export_public_id=export.public_id
    ).first()
    assert queued is not None and queued.task_path.endswith("build_data_export")
    build_data_export.call(export_public_id=export.public_id)
    export.refresh_from_db()
    return export


def test_an_export_is_built_in_the_background_and_audited(cast: Cast) -> None:
    volunteer = cast.users["volunteer"]
    export = do_request_export(user=volunteer)
    assert (export.status, export.progress, export.file) == ("queued", 0, None)

    export = _run_queued(export)
    assert export.status == "ready" and export.progress == 100
    assert export.file is not None and export.file.owner == volunteer
    assert export.expires_at is not None
    assert export.expires_at - export.finished_at == timedelta(days=7)  # type: ignore[operator]
    with export.file.file.open("rb") as stored:
        data, _html, _readme = _read(stored.read())
    assert data["person"]["public_id"] == volunteer.public_id
    assert cast.marker("volunteer") in json.dumps(data)
    audit = AuditEntry.objects.get(action="privacy.data_exported")
    assert audit.actor == volunteer and audit.object_public_id == export.public_id
    assert set(audit.details) == {"bytes"}


def test_progress_moves_as_the_export_is_built(cast: Cast, monkeypatch: Any) -> None:
    from handsup.privacy import export as export_module

    export = do_request_export(user=cast.users["volunteer"])
    seen: list[int] = []
    real = export_module.build_export

    def watching(user: Any, progress: Any = None) -> bytes:
        def report(percent: int) -> None:
            progress(percent)
            seen.append(DataExport.objects.get(pk=export.pk).progress)

        return real(user, progress=report)

    monkeypatch.setattr(export_module, "build_export", watching)
    do_build_export(export=export)
    assert seen == sorted(seen) and len(set(seen)) > 5 and seen[-1] == 100
    assert 0 < seen[0] < 50


def test_a_failed_build_says_so_in_plain_words(cast: Cast, monkeypatch: Any) -> None:
    from handsup.privacy import export as export_module

    def broken(user: Any, progress: Any = None) -> bytes:
        raise RuntimeError("Traceback: secret internals")

    monkeypatch.setattr(export_module, "build_export", broken)
    export = do_build_export(export=do_request_export(user=cast.users["volunteer"]))
    assert export.status == "failed" and export.file is None
    assert "went wrong on our side" in export.failure
    assert "Traceback" not in export.failure and "secret" not in export.failure


def test_one_export_at_a_time(cast: Cast) -> None:
    volunteer = cast.users["volunteer"]
    first = do_request_export(user=volunteer)
    assert do_request_export(user=volunteer) == first
    DataExport.objects.filter(pk=first.pk).update(status="running")
    assert do_request_export(user=volunteer) == first
    assert DataExport.objects.filter(user=volunteer).count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="build_data_export").count() == 1
    # Someone else's request is theirs, and once the first is done a new one may start.
    assert do_request_export(user=cast.users["volunteer_other"]) != first
    do_build_export(export=DataExport.objects.get(pk=first.pk))
    DataExport.objects.filter(pk=first.pk).update(status="ready")
    assert do_request_export(user=volunteer) != first


def test_the_page_requests_shows_progress_and_offers_the_download(cast: Cast) -> None:
    client = cast.client_for("volunteer")
    first = client.get("/my-data/download/")
    assert first.status_code == 200
    assert "Prepare my download" in first.content.decode()

    response = client.post("/my-data/download/")
    assert response.status_code == 302 and response["Location"] == "/my-data/download/"
    export = DataExport.objects.get(user=cast.users["volunteer"])
    page = client.get("/my-data/download/").content.decode()
    assert f"/my-data/download/{export.public_id}/progress/" in page
    assert "<progress" in page

    fragment = client.get(f"/my-data/download/{export.public_id}/progress/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "HX-Refresh" not in fragment

    export = _run_queued(export)
    fragment = client.get(f"/my-data/download/{export.public_id}/progress/", HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true"
    page = client.get("/my-data/download/").content.decode()
    assert f"/my-data/download/{export.public_id}/" in page
    assert "Download" in page and "until" in page

    download = client.get(f"/my-data/download/{export.public_id}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert "attachment" in download["Content-Disposition"]
    data, _html, _readme = _read(b"".join(download.streaming_content))  # type: ignore[attr-defined]
    assert data["person"]["public_id"] == cast.users["volunteer"].public_id


def test_the_pages_list_recent_exports_in_few_queries(
    cast: Cast, django_assert_max_num_queries: Any
) -> None:
    client = cast.client_for("volunteer")
    for _ in range(5):
        export = do_request_export(user=cast.users["volunteer"])
        do_build_export(export=export)
    client.get("/my-data/download/")
    with django_assert_max_num_queries(12):
        assert client.get("/my-data/download/").status_code == 200


def test_only_the_owner_downloads_and_nothing_changes_for_anyone_else(cast: Cast) -> None:
    export = do_build_export(export=do_request_export(user=cast.users["volunteer"]))
    url = f"/my-data/download/{export.public_id}/"
    before = list(DataExport.objects.values())
    for key in ("volunteer_other", "organiser_a", "dpo", "platform_admin"):
        response = cast.client_for(key).get(url)
        assert response.status_code == 404, key
        assert "No such download" in response.content.decode()
        progress = cast.client_for(key).get(url + "progress/")
        assert progress.status_code == 404, key
    assert cast.client_for("anonymous").get(url).status_code == 302
    assert list(DataExport.objects.values()) == before


def test_a_made_up_or_expired_link_says_so_clearly(cast: Cast) -> None:
    client = cast.client_for("volunteer")
    made_up = client.get("/my-data/download/NotARealExportId/")
    assert made_up.status_code == 404
    assert "No such download" in made_up.content.decode()
    assert "/my-data/download/" in made_up.content.decode()

    export = do_build_export(export=do_request_export(user=cast.users["volunteer"]))
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    before = list(DataExport.objects.values())
    gone = client.get(f"/my-data/download/{export.public_id}/")
    assert gone.status_code == 410
    assert "expired" in gone.content.decode()
    assert list(DataExport.objects.values()) == before  # nothing lost, nothing changed

    queued = DataExport.objects.create(user=cast.users["volunteer"])
    waiting = client.get(f"/my-data/download/{queued.public_id}/")
    assert waiting.status_code == 404
    assert "not ready" in waiting.content.decode()


def test_expired_downloads_lose_their_files(
    cast: Cast, django_capture_on_commit_callbacks: Any, private_files_in_tmp: Any
) -> None:
    assert any(name.endswith("delete_expired_data_exports") for name in registered_jobs())
    volunteer = cast.users["volunteer"]
    old = do_build_export(export=do_request_export(user=volunteer))
    assert old.file is not None
    path = Path(old.file.file.path)
    assert path.exists() and path.is_relative_to(private_files_in_tmp)
    DataExport.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = do_build_export(export=do_request_export(user=volunteer))

    with django_capture_on_commit_callbacks(execute=True):
        outcome = delete_expired_data_exports()

    assert str(outcome).startswith("1 exports expired, 1 files deleted")
    old.refresh_from_db()
    assert (old.status, old.file) == ("expired", None)
    assert not path.exists()
    assert PrivateFile.objects.filter(owner=volunteer).count() == 1  # the fresh one's
    fresh.refresh_from_db()
    assert fresh.status == "ready" and fresh.file is not None
    assert str(delete_expired_data_exports()).startswith("0 exports expired, 0 files")
    # The page says so, and offers a new one.
    page = cast.client_for("volunteer").get("/my-data/download/").content.decode()
    assert "Expired" in page


def test_every_model_with_an_exported_field_is_covered() -> None:
    """The inventory's models all exist: a guard for the completeness test's fixture."""
    for model_label, _field in _exported_fields():
        assert apps.get_model(model_label) is not None


@pytest.mark.slow
def test_time_to_export_a_heavily_used_account() -> None:
    """For the closing note: `pytest -m slow -s -k heavily_used` prints the time."""
    import time as clock

    subject = User.objects.create_user("heavy@example.invalid", "x", full_name="Heavy User")
    other = User.objects.create_user("other@example.invalid", "x", full_name="Other")
    Person.objects.create(user=subject, display_name="Heavy")
    groups = Group.objects.bulk_create(
        Group(name=f"Group {n}", slug=f"heavy-{n}", kind="branch") for n in range(50)
    )
    Membership.objects.bulk_create(Membership(user=subject, group=group) for group in groups)
    needs = Need.objects.bulk_create(
        Need(
            group=groups[n % 50],
            title=f"Need {n}",
            description="-",
            location_kind="remote",
            schedule_kind="windows",
            hours=Decimal("2.0"),
            people_needed=3,
            closes_on=date(2031, 1, 1),
            created_by=subject,
        )
        for n in range(500)
    )
    Invitation.objects.bulk_create(
        Invitation(
            need=need,
            user=subject,
            source="ask",
            created_at=WHEN,
            expires_at=WHEN + timedelta(days=3),
            invited_by=other,
        )
        for need in needs
    )
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(
            actor=other if n % 2 else subject,
            subject=subject if n % 2 else other,
            purpose="member_list",
            fields=["full_name", "email"],
            group=groups[n % 50],
        )
        for n in range(2000)
    )
    message = Message.objects.create(kind="group_update", group=groups[0], subject="Hello")
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            user=subject,
            message=message,
            kind="group_update",
            at=WHEN,
            decision="sent",
            reason="within_budget",
        )
        for _ in range(1000)
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=subject,
            action="needs.created",
            object_type="needs.need",
            object_public_id=need.public_id,
            details={"need": need.public_id, "who": other.public_id},
        )
        for need in needs * 2
    )
    started = clock.perf_counter()
    content = build_export(subject)
    elapsed = clock.perf_counter() - started
    data, _html, _readme = _read(content)
    records = sum(len(section["records"]) for section in data["sections"])
    print(f"\nexported {records} records, {len(content) / 1024:.0f} KiB zip, in {elapsed:.2f} s")
    assert records > 5000
