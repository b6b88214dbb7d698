"""The purposes register and the privacy notice, as the data migration leaves them."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from handsup.privacy.models import AccessLogEntry, AuditEntry, ConsentEvent, PrivacyNotice, Purpose
from handsup.privacy.register import STANDARD_PURPOSES, ensure_standard_register
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

DATA_MIGRATION = "0002_standard_purposes_and_first_notice"
EXPECTED = {
    # code: (scope, channel)
    "found_movement": ("movement", ""),
    "found_my_groups": ("movement", ""),
    "group_email": ("group", "email"),
    "group_phone": ("group", "phone"),
    "group_post": ("group", "post"),
    "share_contact_with_group": ("group", ""),
}


def test_the_purposes_the_product_needs_are_present():
    purposes = {p.code: p for p in Purpose.objects.all()}
    assert {code: (p.scope, p.channel) for code, p in purposes.items()} == EXPECTED
    for purpose in purposes.values():
        assert purpose.lawful_basis == Purpose.LawfulBasis.CONSENT
        assert "Article 9(2)" in purpose.special_category_condition
        assert len(purpose.text) > 80


def current_notice() -> PrivacyNotice:
    notice = PrivacyNotice.objects.current()
    assert notice is not None
    return notice


def test_version_one_of_the_notice_is_current():
    notice = current_notice()
    assert notice.version == 1 and notice.is_published
    assert "Your rights" in notice.text


def _run_data_migration(direction: str) -> None:
    module = importlib.import_module(f"handsup.privacy.migrations.{DATA_MIGRATION}")
    state_apps = (
        MigrationExecutor(connection).loader.project_state(("privacy", DATA_MIGRATION)).apps
    )
    # The functions only read the connection's alias from the schema editor; a real one
    # can't be opened inside the test's transaction on SQLite.
    schema_editor = SimpleNamespace(connection=connection)
    if direction == "forwards":
        module.create_purposes_and_first_notice(state_apps, schema_editor)
    else:
        module.remove_purposes_and_first_notice(state_apps, schema_editor)


def test_the_data_migration_creates_the_register_and_can_be_reversed():
    _run_data_migration("backwards")
    assert not Purpose.objects.exists()
    assert not PrivacyNotice.objects.exists()
    _run_data_migration("forwards")
    assert {p.code: (p.scope, p.channel) for p in Purpose.objects.all()} == EXPECTED
    assert current_notice().version == 1
    _run_data_migration("forwards")  # idempotent
    assert Purpose.objects.count() == len(EXPECTED)


def test_missing_standard_rows_are_put_back_and_edits_kept():
    Purpose.objects.filter(code="group_post").delete()
    Purpose.objects.filter(code="group_email").update(text="Edited by a platform admin.")
    PrivacyNotice.objects.all().delete()
    ensure_standard_register()
    assert set(Purpose.objects.values_list("code", flat=True)) == {
        s.code for s in STANDARD_PURPOSES
    }
    assert Purpose.objects.get(code="group_email").text == "Edited by a platform admin."
    assert current_notice().version == 1


def test_the_admin_edits_purposes_but_never_deletes_one_the_code_relies_on(cast: Cast):
    client = cast.client_for("platform_admin")
    purpose = Purpose.objects.get(code="group_email")
    assert client.get(f"/admin/privacy/purpose/{purpose.pk}/delete/").status_code == 403
    response = client.post(
        f"/admin/privacy/purpose/{purpose.pk}/change/",
        {
            "code": "renamed",
            "name": purpose.name,
            "text": "New plain words.",
            "lawful_basis": "consent",
            "special_category_condition": purpose.special_category_condition,
            "scope": "group",
            "channel": "email",
        },
    )
    assert response.status_code == 302
    purpose.refresh_from_db()
    assert (purpose.code, purpose.text) == ("group_email", "New plain words.")


def test_a_published_notice_is_a_record_in_the_admin(cast: Cast):
    client = cast.client_for("platform_admin")
    notice = current_notice()
    assert client.get(f"/admin/privacy/privacynotice/{notice.pk}/delete/").status_code == 403
    response = client.post(
        f"/admin/privacy/privacynotice/{notice.pk}/change/", {"version": 1, "text": "Rewritten."}
    )
    assert response.status_code == 403
    notice.refresh_from_db()
    assert notice.text != "Rewritten."
    add_form = client.get("/admin/privacy/privacynotice/add/")
    assert add_form.context["adminform"].form.initial["version"] == 2


def test_the_logs_are_not_in_the_admin():
    # Who consented to which group reveals political opinions, and admin pages are not
    # access-logged: the logs are read through the ledger and the DPO's views.
    for model in (ConsentEvent, AccessLogEntry, AuditEntry):
        assert not admin.site.is_registered(model)


def test_a_purpose_the_code_does_not_rely_on_can_be_deleted(cast: Cast):
    extra = Purpose.objects.create(
        code="stories_newsletter",
        name="Send me the stories newsletter",
        text="The centre may email me its stories newsletter.",
        lawful_basis="consent",
        scope="movement",
        channel="email",
    )
    client = cast.client_for("platform_admin")
    assert client.get(f"/admin/privacy/purpose/{extra.pk}/delete/").status_code == 200
    client.post(f"/admin/privacy/purpose/{extra.pk}/delete/", {"post": "yes"})
    assert not Purpose.objects.filter(code="stories_newsletter").exists()


@pytest.mark.django_db(transaction=True)
def test_the_register_survives_a_database_flush():
    # Transactional tests (the browser journeys) flush the database after each test;
    # later tests and journeys still need the purposes and a current notice.
    call_command("flush", interactive=False, verbosity=0)
    assert set(Purpose.objects.values_list("code", flat=True)) == set(EXPECTED)
    assert current_notice().version == 1
