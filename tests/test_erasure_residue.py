"""R6, erasure residue: a canary volunteer with unique markers goes through every feature,
deletes their account, and then no marker is found anywhere we keep data.

Searched after erasure: a logical dump of the whole database (`pg_dump --data-only` on
PostgreSQL, `iterdump()` on SQLite); on SQLite also the raw bytes of a file-backed copy
(written with `secure_delete` on, before and after `wal_checkpoint(TRUNCATE)` and
`VACUUM`); every file under the media folders (public and private); everything logged
during the journey; and the outbox and task-result tables, read on their own. The only
rows allowed to match are `privacy.ErasedIdentity` digests, which can't (they are hex).

Every marker is asserted present before erasure, so a clean scan means something.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY as AUTHENTICATION_METHODS_USER_SESSION_KEY,
)
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from handsup.accounts.models import User
from handsup.core.models import PrivateFile
from handsup.groups.actions import do_join_group
from handsup.groups.models import GroupInvitation
from handsup.imports.actions import do_run_import, do_start_import, do_upload_import
from handsup.messaging.actions import do_create_message, do_send_message
from handsup.messaging.delivery import deliver_due
from handsup.messaging.digests import run_digests
from handsup.messaging.models import Digest, Kind, LedgerEntry, Message, OutboxItem
from handsup.messaging.pacing import audience_of_members
from handsup.needs.actions import do_create_need
from handsup.needs.afterwards import do_log_hours, do_record_outcome
from handsup.needs.answers import do_accept
from handsup.needs.models import Invitation, MatchingRow, NeedWindow
from handsup.needs.tests.conftest import CENTRE, on_site_details
from handsup.people.actions import (
    do_add_date_away,
    do_mark_verified,
    do_set_about,
    do_set_contact_preferences,
    do_set_skills,
    do_start_hand_up,
)
from handsup.people.models import Person, Skill
from handsup.places.geo import Location
from handsup.places.postcodes import PlaceKind
from handsup.platform.models import WebhookDelivery
from handsup.platform.webhooks import do_register_endpoint
from handsup.privacy.access import log_access
from handsup.privacy.consent import do_record_consent
from handsup.privacy.erasure import do_erase_person
from handsup.privacy.models import DataExport, ErasedIdentity
from handsup.privacy.register import PurposeCode, ensure_standard_register
from handsup.stories.actions import do_change_story_status, do_feature_story
from handsup.stories.models import Story
from tests.fixtures import Cast

ALLOWED_TABLES = ("privacy_erasedidentity",)


@pytest.fixture
def register(transactional_db: None) -> None:
    """What the migrations load, made again: an earlier transactional test may have
    flushed it. Listed before `cast`, which records consents against it."""
    from django.apps import apps

    ensure_standard_register()
    taxonomy = importlib.import_module("handsup.people.migrations.0003_skills_taxonomy")
    taxonomy.add_taxonomy(apps, None)


@pytest.fixture
def media(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root / "public"},
        },
        "private": {
            "BACKEND": "handsup.core.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": root / "private"},
        },
    }
    # Demo mode's mail backend: every email sent is kept in core.DemoMail, so mail to
    # the canary and mail naming them land in the database we search.
    settings.MAILERS = {"default": {"BACKEND": "handsup.core.mail.DemoEmailBackend"}}
    # A callable storage is resolved when the model loads: point the field at the
    # test's folder too, so every file this test writes is one it searches.
    monkeypatch.setattr(PrivateFile._meta.get_field("file"), "storage", storages["private"])
    return root


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Everything logged while the test runs, as a log file would hold it."""
    path = tmp_path / "journey.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    # The root logger, and ours, which doesn't propagate (settings.LOGGING).
    loggers = [logging.getLogger(), logging.getLogger("handsup")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if logger.name == "handsup" else logging.INFO)
    logging.getLogger("handsup.tests").info("the canary's journey starts")
    try:
        yield path
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
        handler.close()


@pytest.fixture
def secure_delete(transactional_db: None) -> None:
    """On SQLite, deleted content is overwritten, not left in free pages."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


class Markers:
    def __init__(self) -> None:
        self.token = "CANARYxq7" + secrets.token_hex(3)
        digits = "".join(secrets.choice("0123456789") for _ in range(6))
        self.by_kind = {
            "name": f"{self.token}name",
            "email": f"{self.token}mail".lower(),
            "second_email": f"{self.token}second".lower(),
            "phone": f"07700 9{digits}",
            "address": f"{self.token}addr",
            "talents": f"{self.token}talent",
            "access": f"{self.token}access",
            "hours_note": f"{self.token}note",
            "rejected_row": f"{self.token}rejected",
            "uploaded_file": f"{self.token}upload",
            "story": f"{self.token}story",
            "story_named": f"{self.token}named",
            "story_picture": f"{self.token}picture",
        }

    @property
    def needles(self) -> list[bytes]:
        """What is searched for, lower-cased (haystacks are lower-cased too)."""
        return [self.token.lower().encode(), self.by_kind["phone"].encode()]

    def kinds_in(self, text: str) -> set[str]:
        folded = text.lower()
        return {kind for kind, marker in self.by_kind.items() if marker.lower() in folded}


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (6, 4), (30, 120, 60)).save(out, format="PNG")
    return out.getvalue()


# --- The canary's journey ---------------------------------------------------------------


def journey(cast: Cast, markers: Markers) -> tuple[User, Client]:
    m = markers.by_kind
    organiser_a, organiser_b = cast.users["organiser_a"], cast.users["organiser_b"]
    group_a, group_b = cast.groups["group_a"], cast.groups["group_b"]
    skills = list(Skill.objects.order_by("pk")[:3])

    # Putting their hand up: account, profile, skills, contact, about, dates away.
    person = do_start_hand_up(
        full_name=f"Cara {m['name']}",
        place=Location(CENTRE, PlaceKind.DISTRICT, "M1", "M1"),
        email=f"{m['email']}@example.org",
        password="canary-horse-battery",
    )
    canary = person.user
    assert canary is not None
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=canary).update(verified=True)
    EmailAddress.objects.create(user=canary, email=f"{m['second_email']}@example.org")
    do_mark_verified(user=canary)
    do_set_skills(person=person, actor=canary, skills=[(skills[0], 3, True)])
    do_set_contact_preferences(
        person=person,
        actor=canary,
        contact_by_email=True,
        contact_by_phone=True,
        contact_by_post=True,
        phone=m["phone"],
        postal_address=f"1 {m['address']} Street\nManchester",
        asks_per_week_normal=3,
        asks_per_week_campaign=5,
        digest_cadence="weekly",
        quiet_from=timezone.localtime().time().replace(hour=3, minute=0),
        quiet_until=timezone.localtime().time().replace(hour=4, minute=0),
        time_zone="UTC",
        found_by={PurposeCode.FOUND_MOVEMENT: True, PurposeCode.FOUND_MY_GROUPS: True},
        wording={PurposeCode.FOUND_MOVEMENT: "Any group", PurposeCode.FOUND_MY_GROUPS: "Mine"},
    )
    do_set_about(
        person=person,
        actor=canary,
        talents=f"juggling, {m['talents']}",
        languages=["en"],
        accessibility_needs=f"step-free {m['access']}",
    )
    today = timezone.localdate()
    do_add_date_away(
        person=person,
        actor=canary,
        starts_on=today + timedelta(days=60),
        ends_on=today + timedelta(days=61),
    )

    # Groups: group A's systems hear of joins and yeses by webhook; the canary joins A,
    # shares contact details and agrees to its email.
    do_register_endpoint(
        actor=cast.users["admin_a"],
        group=group_a,
        url="https://93.184.216.34/hook",
        description="Our CRM",
        events=["member.joined", "invitation.accepted", "need.created"],
    )
    do_join_group(user=canary, group=group_a)
    for purpose in (PurposeCode.GROUP_EMAIL, PurposeCode.SHARE_CONTACT_WITH_GROUP):
        do_record_consent(
            user=canary,
            purpose=purpose,
            given=True,
            source="web",
            recorded_by=canary,
            group=group_a,
        )

    # Imports: group B's list holds the canary's row (an existing account: invited) and a
    # rejected row quoting them.
    csv = (
        "email,name,postcode,phone\n"
        f"{m['email']}@example.org,Cara {m['name']},,{m['phone']}\n"
        f"not-an-email-{m['rejected_row']},Cara {m['name']},,\n"
        "someone.else@example.org,Someone Else,,\n"
    ).encode()
    job = do_upload_import(
        actor=organiser_b,
        group=group_b,
        upload=SimpleUploadedFile("list.csv", csv, content_type="text/csv"),
        name="volunteers.csv",
    )
    do_start_import(
        actor=organiser_b,
        job=job,
        dry_run=False,
        lawful_basis="consent_paper",
    )
    do_run_import(job=job)
    job.refresh_from_db()
    assert job.report_file is not None and job.row_errors, "the rejected row is reported"
    assert GroupInvitation.objects.filter(user=canary, group=group_b).exists()

    # Needs: asked, says yes (introductions to both sides), hours with a note, helped.
    need = do_create_need(
        actor=organiser_a, group=group_a, details=on_site_details(skills), publish=True
    )
    now = timezone.now()
    invitation = Invitation.objects.create(
        need=need,
        user=canary,
        source=Invitation.Source.ASK,
        invited_by=organiser_a,
        created_at=now - timedelta(hours=1),
        expires_at=now + timedelta(days=7),
    )
    do_accept(invitation=invitation, actor=canary, share_phone=True)
    NeedWindow.objects.filter(need=need).update(
        starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=2)
    )
    do_log_hours(
        actor=organiser_a,
        invitation=invitation,
        hours=Decimal(2),
        on_date=today,
        note=f"brought a ladder {m['hours_note']}",
    )
    do_record_outcome(actor=organiser_a, invitation=invitation, helped=True)
    organiser = cast.client_for("organiser_a")
    people_page = f"/groups/manage/{group_a.public_id}/needs/{need.public_id}/people/"
    assert m["name"] in organiser.get(people_page).content.decode()

    # Stories: they tell one through the page (naming someone who agreed, with a
    # picture); a curator reviews, publishes and features it, so it reaches digests.
    writer = Client()
    writer.force_login(canary)
    story_form = writer.post(
        "/stories/new/",
        {
            "title": f"Repairs won {m['story']}",
            "body": f"We won. Told by Cara {m['name']} with {m['story_named']}.",
            "district": "",
            "region": "north_west",
            "happened_on": (today - timedelta(days=3)).isoformat(),
            "group": group_a.pk,
            "website": "",
            "people-TOTAL_FORMS": "1",
            "people-INITIAL_FORMS": "0",
            "people-0-name": f"Amira {m['story_named']}",
            "people-0-role": "tenant",
            "people-0-consented": "on",
            "images-TOTAL_FORMS": "1",
            "images-INITIAL_FORMS": "0",
            "images-0-image": SimpleUploadedFile(
                f"{m['story_picture']}.png", _png(), content_type="image/png"
            ),
            "images-0-alt_text": f"Tenants {m['story_picture']}",
        },
    )
    assert story_form.status_code == 302, story_form.content.decode()[:2000]
    story = Story.objects.get(author=canary)
    curator = cast.users["curator"]
    do_change_story_status(actor=curator, story=story, to=Story.Status.IN_REVIEW, note="")
    do_change_story_status(actor=curator, story=story, to=Story.Status.PUBLISHED, note="")
    do_feature_story(actor=curator, story=story)
    assert (
        m["story"]
        in cast.client_for("curator").get(f"/curate/stories/{story.public_id}/").content.decode()
    )

    # Messages: a group update to every member, delivered; a digest run.
    update = do_create_message(
        author=organiser_a, kind=Kind.GROUP_UPDATE, group=group_a, subject="Fair", body_text="Hi"
    )
    do_send_message(actor=organiser_a, message=update, audience=audience_of_members(group_a))
    OutboxItem.objects.update(due_at=timezone.now() - timedelta(minutes=1))
    deliver_due(worker_id="residue-test")
    # Someone who joined months ago is due a digest, which lists the featured story.
    User.objects.filter(pk=cast.users["volunteer_other"].pk).update(
        date_joined=timezone.now() - timedelta(days=90)
    )
    run_digests()

    # Reads of their details by others, and the admin's history of their profile.
    log_access(
        actor=organiser_a,
        subjects=[canary],
        purpose="member_list",
        fields=["full_name"],
        group=group_a,
    )
    LogEntry.objects.create(
        user=cast.users["platform_admin"],
        content_type=ContentType.objects.get_for_model(Person),
        object_id=str(person.pk),
        object_repr=str(person),
        action_flag=CHANGE,
        change_message="[]",
    )

    # A file of theirs: a download of their data, as the export keeps it.
    stored = PrivateFile(
        name=f"{m['uploaded_file']}.zip", owner=canary, content_type="application/zip"
    )
    stored.file.save("export.zip", ContentFile(f"profile of Cara {m['name']}".encode()), save=False)
    stored.save()
    DataExport.objects.create(user=canary, file=stored, status=DataExport.Status.READY)

    # Signed in, in a browser, just now (as after re-authenticating).
    browser = Client()
    browser.force_login(canary)
    session = browser.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": canary.email, "reauthenticated": True}
    ]
    session[AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(canary.pk)
    session.save()
    assert browser.get("/me/").status_code == 200
    return canary, browser


# --- Where we look ----------------------------------------------------------------------


def database_dump() -> str:
    """A logical dump of every table's rows, without the allow-listed tables."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        env = {**os.environ}
        if settings.get("PASSWORD"):
            env["PGPASSWORD"] = str(settings["PASSWORD"])
        dump = subprocess.run(
            [
                "pg_dump",
                "--data-only",
                "--host",
                str(settings.get("HOST") or "127.0.0.1"),
                "--port",
                str(settings.get("PORT") or 5432),
                "--username",
                str(settings.get("USER") or "postgres"),
                str(settings["NAME"]),
            ],
            check=True,
            capture_output=True,
            env=env,
        ).stdout.decode()
        return _without_allowed_tables(dump, postgres=True)
    return "\n".join(
        line
        for line in connection.connection.iterdump()
        if not any(f'"{table}"' in line for table in ALLOWED_TABLES)
    )


def _without_allowed_tables(dump: str, *, postgres: bool) -> str:
    kept, skipping = [], False
    for line in dump.splitlines():
        if postgres and line.startswith("COPY "):
            skipping = any(f".{table} " in line for table in ALLOWED_TABLES)
        if not skipping:
            kept.append(line)
        if line == "\\.":
            skipping = False
    return "\n".join(kept)


def sqlite_file_copy(tmp_path: Path) -> tuple[bytes, bytes, str]:
    """A file-backed copy of the test database (the source wrote with secure_delete on):
    its raw bytes after a WAL checkpoint, again after VACUUM, and its dump."""
    path = tmp_path / "copy.sqlite3"
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.execute("PRAGMA secure_delete = ON")
    target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target.commit()
    before_vacuum = path.read_bytes()
    target.execute("VACUUM")
    target.commit()
    dump = "\n".join(
        line
        for line in target.iterdump()
        if not any(f'"{table}"' in line for table in ALLOWED_TABLES)
    )
    target.close()
    return before_vacuum, path.read_bytes(), dump


def media_files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def hits(haystack: bytes | str, markers: Markers) -> int:
    data = haystack.encode() if isinstance(haystack, str) else haystack
    folded = data.lower()
    return sum(folded.count(needle) for needle in markers.needles)


# --- The test ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_erased_canary_leaves_no_marker_anywhere(
    register, secure_delete, media, log_file, cast, tmp_path
):
    markers = Markers()
    canary, browser = journey(cast, markers)
    canary_pk = canary.pk

    # Every marker really is there before erasure.
    before = database_dump()
    assert markers.kinds_in(before) == set(markers.by_kind)
    files = media_files(media)
    assert markers.kinds_in(b"\n".join(files.values()).decode(errors="ignore")) >= {
        "name",
        "email",
        "phone",
        "rejected_row",
    }
    assert MatchingRow.objects.filter(user_id=canary_pk).exists()
    # Group A's systems were told of them (the delivery log keeps the payloads).
    assert WebhookDelivery.objects.filter(subject_id=canary_pk).count() == 2
    # Their story reached someone else's digest, and the note that it was published.
    story_marker = markers.by_kind["story"]
    assert Digest.objects.exclude(user_id=canary_pk).filter(sections__icontains=story_marker)
    assert Message.objects.filter(subject__icontains=story_marker).exists()
    assert LedgerEntry.objects.filter(user_id=canary_pk).exists()

    # They delete their account through the page.
    started = time.monotonic()
    response = browser.post("/my-data/delete/", {"confirm": "on"})
    erase_seconds = time.monotonic() - started
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(pk=canary_pk).erased
    assert not WebhookDelivery.objects.filter(subject_id=canary_pk).exists()
    assert WebhookDelivery.objects.exists(), "other people's events stay"
    assert ErasedIdentity.objects.count() >= 2

    # Where we look, and what we find.
    places: dict[str, int] = {}
    after = database_dump()
    places["database dump"] = hits(after, markers)
    if connection.vendor == "sqlite":
        raw_before_vacuum, raw_after_vacuum, file_dump = sqlite_file_copy(tmp_path)
        places["sqlite file (checkpointed)"] = hits(raw_before_vacuum, markers)
        places["sqlite file (vacuumed)"] = hits(raw_after_vacuum, markers)
        places["sqlite file dump"] = hits(file_dump, markers)
    for name, content in media_files(media).items():
        places[f"media: {name}"] = hits(content, markers)
    places["media: file names"] = hits("\n".join(media_files(media)), markers)
    for handler in logging.getLogger("handsup").handlers:
        handler.flush()
    logged = log_file.read_text(encoding="utf-8")
    assert "the canary's journey starts" in logged, "the log file captures what is logged"
    places["log file"] = hits(logged, markers)
    places["outbox table"] = hits(repr(list(OutboxItem.objects.values())), markers)
    from django_tasks_db.models import DBTaskResult

    places["task results table"] = hits(repr(list(DBTaskResult.objects.values())), markers)

    found = {place: n for place, n in places.items() if n}
    print(
        f"\nR6 residue: {len(markers.by_kind)} markers, {len(places)} places searched, "
        f"{sum(found.values())} hits; {len(files)} media files before erasure, "
        f"{len(media_files(media))} after; {len(log_file.read_bytes())} bytes logged; "
        f"erasure through the page took {erase_seconds:.2f} s"
    )
    assert found == {}, _show_hits(after, markers)


def _show_hits(dump: str, markers: Markers) -> str:
    lines = [line for line in dump.splitlines() if hits(line, markers)]
    return "\n".join(line[:400] for line in lines[:20])


# --- How long a heavily used account takes ------------------------------------------------


@pytest.mark.django_db
def test_erasing_a_heavily_used_account_reaches_every_row(cast):
    """Years of use: thousands of ledger and outbox rows, hundreds of reads, consents and
    invitations. Erasure is set-based, so it stays in seconds."""
    from handsup.messaging.models import Decision, Message, Reason
    from handsup.privacy.models import AccessLogEntry, ConsentEvent

    user = cast.users["volunteer"]
    group = cast.groups["group_a"]
    now = timezone.now()
    messages = Message.objects.bulk_create(
        Message(kind=Kind.GROUP_UPDATE, group=group, subject=f"Update {i}") for i in range(200)
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            user=user,
            message=messages[i % 200],
            kind=Kind.GROUP_UPDATE,
            group=group,
            at=now - timedelta(hours=i),
            decision=Decision.SENT,
            reason=Reason.WITHIN_BUDGET,
        )
        for i in range(5000)
    )
    OutboxItem.objects.bulk_create(
        OutboxItem(message=messages[i % 200], user=user, address=user.email, due_at=now)
        for i in range(2000)
    )
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(actor=cast.users["organiser_a"], subject=user, purpose="member_list")
        for _ in range(1000)
    )
    first = ConsentEvent.objects.filter(user=user).first()
    assert first is not None
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            user=user,
            purpose=first.purpose,
            group=first.group,
            given=i % 2 == 0,
            source="web",
            notice_version=first.notice_version,
            wording=first.wording,
        )
        for i in range(300)
    )
    started = time.monotonic()
    report = do_erase_person(user=user, actor=user)
    seconds = time.monotonic() - started
    print(f"\nHeavily used account: {report.total} rows erased in {seconds:.2f} s")
    assert report.counts["messaging.ledgerentry"] == 5000
    assert report.counts["messaging.outboxitem"] == 2000
    assert not re.search(r"Mk[0-9a-f]{8}volunteerQ", str(list(User.objects.values())))
