"""The member list as CSV: consent decides the columns, formulas never run, every row is
in the access log."""

from __future__ import annotations

import csv
import io

import pytest

from handsup.accounts.models import User
from handsup.core.csv_safe import csv_lines, neutralise
from handsup.groups import members
from handsup.groups.models import Membership
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import AccessLogEntry
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db


def _export(cast: Cast, who: str = "organiser_a", group: str = "group_a") -> list[dict[str, str]]:
    url = f"/groups/manage/{cast.groups[group].public_id}/members/export.csv"
    response = cast.client_for(who).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("Ann = Bob", "Ann = Bob"),
        ("", ""),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(typed: str, written: str) -> None:
    assert neutralise(typed) == written


def test_csv_lines_neutralise_every_cell_header_included() -> None:
    text = "".join(csv_lines(["=bad header"], [["=1+1"], [None]]))
    assert list(csv.reader(io.StringIO(text))) == [["'=bad header"], ["'=1+1"], [""]]


def test_contact_details_only_for_members_who_share_them(cast: Cast) -> None:
    rows = {row["name"]: row for row in _export(cast)}
    vera = cast.users["volunteer"]
    shy = cast.users["volunteer_no_consent"]
    assert rows[vera.full_name]["email"] == vera.email
    assert rows[shy.full_name]["email"] == ""
    assert set(rows) == {
        m.user.full_name
        for m in Membership.objects.filter(group=cast.groups["group_a"]).select_related("user")
    }
    logged = {
        entry.subject_id: entry.fields
        for entry in AccessLogEntry.objects.filter(purpose="member_export")
    }
    assert "email" in logged[vera.pk]
    assert "email" not in logged[shy.pk]
    assert cast.users["organiser_a"].pk not in logged  # one's own row is not logged


def test_a_hostile_name_is_written_as_text(cast: Cast) -> None:
    vera = cast.users["volunteer"]
    User.objects.filter(pk=vera.pk).update(full_name='=HYPERLINK("http://evil","Click")')
    names = [row["name"] for row in _export(cast)]
    assert '\'=HYPERLINK("http://evil","Click")' in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


def test_withdrawn_consent_removes_the_contact_columns(cast: Cast) -> None:
    vera = cast.users["volunteer"]
    do_record_consent(
        user=vera,
        purpose="share_contact_with_group",
        given=False,
        source="web",
        recorded_by=vera,
        group=cast.groups["group_a"],
    )
    rows = {row["name"]: row for row in _export(cast)}
    assert rows[vera.full_name]["email"] == ""


def test_another_groups_organiser_gets_nothing(cast: Cast) -> None:
    url = f"/groups/manage/{cast.groups['group_a'].public_id}/members/export.csv"
    assert cast.client_for("organiser_b").get(url).status_code == 404
    assert cast.client_for("volunteer").get(url).status_code in (403, 404)
    assert not AccessLogEntry.objects.filter(purpose="member_export").exists()


def test_large_lists_are_read_in_chunks(cast: Cast, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(members, "EXPORT_CHUNK", 2)
    group = cast.groups["group_a"]
    count = Membership.objects.filter(group=group).count()
    assert count > 2
    with django_assert_max_num_queries(8 * (count // 2 + 2)):
        rows = list(members.member_export_rows(viewer=cast.users["organiser_a"], group=group))
    assert len(rows) == count
