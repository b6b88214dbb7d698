"""R7: hostile files get clear per-row or per-file errors, never a crash or a half import.

Each case of the issue is its own test."""

from __future__ import annotations

import csv
import io

import pytest

from handsup.accounts.models import User
from handsup.imports.engine import describe_file
from handsup.imports.models import ImportJob
from handsup.imports.reading import FileProblem
from handsup.imports.tests.helpers import run_csv
from handsup.people.models import Person
from handsup.places.models import Postcode

pytestmark = pytest.mark.django_db


def _import(cast, tmp_path, content, **kwargs):
    return run_csv(
        content,
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        tmp_path=tmp_path,
        **kwargs,
    )


def _report_rows(report: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(report)))[1:]


def test_a_byte_order_mark_is_not_part_of_the_first_column(cast, places, tmp_path):
    content = "\ufeffEmail,Name\nzoe@example.org,Zoë Øster\n".encode()
    job, _report = _import(cast, tmp_path, content)
    assert job.encoding == "utf-8-sig"
    assert job.columns == ["Email", "Name"]
    assert job.created_count == 1
    assert User.objects.get(email="zoe@example.org").full_name == "Zoë Øster"


def test_windows_1252_files_are_read_as_such(cast, places, tmp_path):
    content = "Name,Email\nJosé Müller – “Joe”,jose@example.org\n".encode("cp1252")
    job, _report = _import(cast, tmp_path, content)
    assert job.encoding == "cp1252"
    assert job.created_count == 1
    assert User.objects.get(email="jose@example.org").full_name == "José Müller – “Joe”"
    assert any("Windows-1252" in note for note in job.notes)


def test_nul_bytes_reject_their_row_only(cast, places, tmp_path):
    content = b"Name,Email\nNul\x00 Person,nul@example.org\nFine Person,fine@example.org\n"
    job, report = _import(cast, tmp_path, content)
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.rejected_count) == (1, 1)
    assert job.row_errors[0]["row"] == 2
    assert "NUL" in job.row_errors[0]["message"]
    assert not User.objects.filter(email="nul@example.org").exists()
    assert _report_rows(report)[0][0] == "2"


def test_a_200_kb_field_is_rejected_with_a_message(cast, places, tmp_path):
    huge = "x" * 200_000
    content = f"Name,Email\n{huge},big@example.org\nSmall Person,small@example.org\n"
    job, report = _import(cast, tmp_path, content)
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.rejected_count) == (1, 1)
    assert "KB" in job.row_errors[0]["message"]
    # The report carries the start of the value, not all 200 KB of it.
    assert len(report) < 5_000


def test_a_quoted_field_over_the_csv_limit_is_rejected_and_reading_goes_on(cast, places, tmp_path):
    huge = "y" * 300_000
    content = f'Name,Email\n"{huge}",big@example.org\nAfter Person,after@example.org\n'
    job, _report = _import(cast, tmp_path, content)
    assert job.status == ImportJob.Status.DONE
    assert job.rejected_count == 1
    assert User.objects.filter(email="after@example.org").exists()


def test_a_line_longer_than_the_line_limit_is_cut_and_rejected(cast, places, tmp_path):
    content = "Name,Email\n" + "z," * 700_000 + "\nLast Person,last@example.org\n"
    job, _report = _import(cast, tmp_path, content)
    assert job.status == ImportJob.Status.DONE
    assert job.rejected_count == 1
    assert User.objects.filter(email="last@example.org").exists()


def test_formula_prefixes_are_rejected_and_neutralised_in_the_report(cast, places, tmp_path):
    content = (
        "Name,Email,Phone,Skills\n"
        '"=HYPERLINK(""http://evil.example"",""click"")",f1@example.org,,\n'
        "@SUM(A1),f2@example.org,,\n"
        "Good Name,f3@example.org,+44 161 496 0000,-cmd\n"
        "Plain Person,f4@example.org,+44 161 496 0001,driving\n"
    )
    job, report = _import(cast, tmp_path, content)
    assert job.created_count == 1
    assert job.rejected_count == 3
    assert all("formula" in error["message"] for error in job.row_errors)
    rows = _report_rows(report)
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil.example","click")' in cells
    assert "'@SUM(A1)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    # A phone number's leading + is not a formula.
    assert User.objects.get(email="f4@example.org").person.profile.phone == "+44 161 496 0001"


def test_duplicate_headers_stop_the_file(cast, places, tmp_path):
    content = "Name,Email,E-mail\nAnn,ann@example.org,other@example.org\n"
    job, _report = _import(cast, tmp_path, content)
    assert job.status == ImportJob.Status.FAILED
    assert "both called" in job.failure
    assert "Email" in job.failure and "E-mail" in job.failure
    assert not User.objects.filter(email="ann@example.org").exists()


def test_a_missing_name_column_stops_the_file(cast, places, tmp_path):
    job, _report = _import(cast, tmp_path, "Email,Postcode\nann@example.org,M1 1AE\n")
    assert job.status == ImportJob.Status.FAILED
    assert "names" in job.failure
    assert not User.objects.filter(email="ann@example.org").exists()


def test_a_missing_header_row_is_explained(cast, places, tmp_path):
    job, _report = _import(cast, tmp_path, "Ann Archer,ann@example.org,M1 1AE\n")
    assert job.status == ImportJob.Status.FAILED
    assert "column names" in job.failure


def test_the_wrong_delimiter_is_explained(cast, places, tmp_path):
    job, _report = _import(cast, tmp_path, "Name|Email\nAnn|ann@example.org\n")
    assert job.status == ImportJob.Status.FAILED
    assert "separated by commas, semicolons or tabs" in job.failure


def test_rows_split_differently_from_the_header_are_rejected(cast, places, tmp_path):
    content = "Name,Email\nAnn;ann@example.org\nBen,ben@example.org\n"
    job, _report = _import(cast, tmp_path, content)
    assert (job.created_count, job.rejected_count) == (1, 1)
    assert "different character" in job.row_errors[0]["message"]


def test_tab_separated_files_are_read(cast, places, tmp_path):
    job, _report = _import(cast, tmp_path, "Name\tEmail\nTab Person\ttab@example.org\n")
    assert job.delimiter == "\t"
    assert job.created_count == 1


def test_an_email_twice_in_one_file_is_reported_with_the_first_row(cast, places, tmp_path):
    content = (
        "Name,Email\nFirst Ann,ann@example.org\nBen,ben@example.org\nSecond Ann,ANN@example.org\n"
    )
    job, report = _import(cast, tmp_path, content)
    assert (job.created_count, job.duplicate_count, job.rejected_count) == (2, 1, 0)
    assert User.objects.get(email="ann@example.org").full_name == "First Ann"
    assert job.row_errors == [
        {
            "row": 4,
            "field": "Email",
            "message": "The same email address is in row 2; only that row is used.",
        }
    ]
    assert _report_rows(report)[0][0] == "4"


def test_postcodes_that_dont_exist_are_rejected_per_row(cast, places, tmp_path):
    unknown = "M1 9ZZ"
    assert not Postcode.objects.filter(code=unknown).exists()
    content = (
        "Name,Postcode\n"
        f"Unknown Code,{unknown}\n"
        "Not A Code,NOT A CODE\n"
        "Belfast Person,BT1 1AA\n"
        "No District,ZZ99 9ZZ\n"
        "Known Person,M1 1AE\n"
    )
    job, _report = _import(cast, tmp_path, content)
    assert (job.created_count, job.rejected_count) == (1, 4)
    messages = {error["row"]: error["message"] for error in job.row_errors}
    assert "can't find the postcode M1 9ZZ" in messages[2]
    assert "(M1)" in messages[2]  # the district it could use instead
    assert "doesn't look like a UK postcode" in messages[3]
    assert "Northern Ireland" in messages[4]
    assert {error["field"] for error in job.row_errors} == {"Postcode"}
    assert Person.objects.filter(display_name="Known Person").exists()


def test_bad_emails_and_phones_are_rejected_per_row(cast, places, tmp_path):
    content = "Name,Email,Phone\nA,not-an-email,\nB,b@example.org,call me\nC,c@example.org,\n"
    job, _report = _import(cast, tmp_path, content)
    assert (job.created_count, job.rejected_count) == (1, 2)
    assert [e["field"] for e in job.row_errors] == ["Email", "Phone"]


def test_a_spreadsheet_workbook_is_refused_with_advice():
    with pytest.raises(FileProblem, match="CSV UTF-8"):
        describe_file(io.BytesIO(b"PK\x03\x04" + b"\x00" * 100))


def test_utf16_files_are_refused_with_advice():
    with pytest.raises(FileProblem, match="UTF-16"):
        describe_file(io.BytesIO("Name,Email\nA,a@example.org\n".encode("utf-16")))


def test_an_empty_file_is_refused():
    with pytest.raises(FileProblem, match="empty"):
        describe_file(io.BytesIO(b"\n\n"))


def test_blank_lines_and_trailing_separators_are_ignored(cast, places, tmp_path):
    content = "Name,Email,\n\nAnn,ann@example.org,\n\n,,\n"
    job, _report = _import(cast, tmp_path, content)
    assert job.created_count == 1
    # The all-empty row has no name: reported, not imported.
    assert job.rejected_count == 1
