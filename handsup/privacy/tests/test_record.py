"""The record of processing: every purpose in the register and every category of data in
the field inventory is in it, its CSV runs no formulas, and only the data protection
officer and platform admins may read it."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import override_settings
from django.urls import reverse

from handsup.groups.models import Group
from handsup.privacy.inventory import inventory
from handsup.privacy.models import Purpose
from handsup.privacy.processing_record import (
    HEADER,
    PURPOSE_DATA_SECTIONS,
    UNDECLARED,
    record_of_processing,
    undeclared_purposes,
    unrecorded_sections,
)
from handsup.privacy.register import STANDARD_PURPOSE_CODES

pytestmark = pytest.mark.django_db

RECORD = reverse("dpo:record")
RECORD_CSV = reverse("dpo:record_csv")


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_every_purpose_in_the_register_has_a_row_with_its_data_declared():
    rows = record_of_processing()
    keys = [row.key for row in rows]
    assert set(Purpose.objects.values_list("code", flat=True)) <= set(keys)
    assert undeclared_purposes(rows) == [], (
        "Declare these purposes' categories of data in PURPOSE_DATA_SECTIONS "
        "(handsup/privacy/processing_record.py)"
    )
    assert set(PURPOSE_DATA_SECTIONS) >= STANDARD_PURPOSE_CODES


def test_every_category_of_data_in_the_inventory_is_in_the_record():
    rows = record_of_processing()
    assert unrecorded_sections(rows) == [], (
        "A section of the field inventory is in no row of the record of processing: add it "
        "to a purpose (PURPOSE_DATA_SECTIONS) or an activity that needs no consent"
    )
    # And every declared section is a real one.
    sections = {section.code for section in inventory.export_sections()}
    for codes in PURPOSE_DATA_SECTIONS.values():
        assert set(codes) <= sections


def test_a_purpose_added_in_the_admin_shows_as_undeclared():
    Purpose.objects.create(
        code="canvass_results",
        name="Canvassing results",
        text="What I said on the doorstep is recorded.",
        lawful_basis=Purpose.LawfulBasis.CONSENT,
        scope=Purpose.Scope.MOVEMENT,
    )
    rows = record_of_processing()
    assert undeclared_purposes(rows) == ["canvass_results"]
    row = next(row for row in rows if row.key == "canvass_results")
    assert row.data_categories == (UNDECLARED,)


def test_each_row_has_every_column_filled():
    for row in record_of_processing():
        cells = row.cells()
        assert len(cells) == len(HEADER)
        assert all(cell.strip() for cell in cells), row.key


def test_the_activities_that_need_no_consent_are_recorded():
    rows = {row.key: row for row in record_of_processing()}
    for key in ("accounts", "membership", "logs", "delivery", "imports"):
        assert not rows[key].needs_consent
        assert "Consent" not in rows[key].lawful_basis
    assert rows["found_movement"].lawful_basis.startswith("Consent")
    assert "Article 9(2)(a)" in rows["found_movement"].special_category_condition


@override_settings(HANDSUP_INACTIVE_MONTHS=18, HANDSUP_ACCESS_LOG_MONTHS=12, HANDSUP_EXPORT_DAYS=3)
def test_retention_is_read_from_the_settings_and_the_groups(cast):
    Group.objects.filter(pk=cast.groups["group_a"].pk).update(retention_months=3)
    Group.objects.filter(pk=cast.groups["group_b"].pk).update(retention_months=12)
    rows = {row.key: row for row in record_of_processing()}
    assert "18 months" in rows["accounts"].retention
    assert "Access log: 12 months" in rows["logs"].retention
    assert "3 days" in rows["rights"].retention
    assert "between 3 and 12 months" in rows["membership"].retention
    assert "30 days" in rows["imports"].retention


def test_the_page_shows_every_row_and_category(cast):
    response = cast.client_for("dpo").get(RECORD)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<caption>" in page and '<th scope="col">Lawful basis</th>' in page
    for purpose in Purpose.objects.all():
        assert f'<th scope="row">{purpose.name}' in page.replace("&#x27;", "'")
    for section in inventory.export_sections():
        assert f'<th scope="row">{section.title}</th>' in page


def test_the_csv_has_a_row_per_activity(cast):
    response = cast.client_for("platform_admin").get(RECORD_CSV)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == [row.purpose for row in record_of_processing()]


def test_the_csv_neutralises_formula_cells(cast):
    Purpose.objects.create(
        code="zz_formula",
        name='=HYPERLINK("http://evil.example","click")',
        text="+1 and -1 and @sum",
        lawful_basis=Purpose.LawfulBasis.CONSENT,
        special_category_condition="=cmd|' /C calc'!A0",
        scope=Purpose.Scope.MOVEMENT,
    )
    rows = csv_rows(cast.client_for("dpo").get(RECORD_CSV))
    row = next(row for row in rows if "HYPERLINK" in row[0])
    assert row[0].startswith("'=HYPERLINK")
    assert row[1] == "'+1 and -1 and @sum"
    assert row[3].startswith("'=cmd")
    for cells in rows:
        for cell in cells:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize("url", [RECORD, RECORD_CSV])
def test_only_the_dpo_and_platform_admins_may_read_it(cast, url):
    for key in ("dpo", "platform_admin"):
        assert cast.client_for(key).get(url).status_code == 200
    for key in ("volunteer", "organiser_a", "admin_a", "curator"):
        assert cast.client_for(key).get(url).status_code == 403
    assert cast.client_for("anonymous").get(url).status_code == 302


@pytest.mark.parametrize(
    ("backend", "named"),
    [
        ("anymail.backends.postmark.EmailBackend", "Postmark, through django-anymail"),
        ("django.core.mail.backends.smtp.EmailBackend", "the SMTP relay"),
    ],
)
def test_the_email_provider_is_named_from_the_mail_settings(backend, named):
    with override_settings(MAILERS={"default": {"BACKEND": backend, "OPTIONS": {}}}):
        rows = {row.key: row for row in record_of_processing()}
    assert any(named in recipient for recipient in rows["delivery"].recipients)
    assert any(named in recipient for recipient in rows["group_email"].recipients)
