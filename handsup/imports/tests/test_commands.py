"""`handsup import volunteers` and `handsup bench import`, at small sizes so they can't rot."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.imports.models import ImportJob

pytestmark = pytest.mark.django_db

CONTENT = "Name,Email,Postcode\nAnn Archer,ann@example.org,M1 1AE\nBad,bad,\nBen,ben@example.org,\n"


def _call(*args: str) -> str:
    out = StringIO()
    call_command("import", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_command_imports_and_reports(cast, places, tmp_path):
    path = tmp_path / "volunteers.csv"
    path.write_text(CONTENT)
    organiser = cast.users["organiser_a"]
    output = _call(
        "volunteers", str(path), "--group", cast.groups["group_a"].slug, "--by", organiser.email
    )
    assert "2 people were added" in output
    assert "1 rows rejected" in output
    assert "row 3: Email: “bad” isn't an email address." in output
    report = tmp_path / "volunteers.rejected.csv"
    assert str(report) in output
    assert "isn't an email address" in report.read_text()
    job = ImportJob.objects.get()
    assert (job.status, job.created_by, job.source_file) == ("done", organiser, None)
    assert User.objects.filter(email="ann@example.org").exists()


def test_a_dry_run_needs_nobody_and_changes_nothing(cast, places, tmp_path):
    path = tmp_path / "volunteers.csv"
    path.write_text(CONTENT)
    report = tmp_path / "problems.csv"
    output = _call(
        "volunteers",
        str(path),
        "--group",
        cast.groups["group_a"].slug,
        "--dry-run",
        "--report",
        str(report),
    )
    assert "2 people would be added" in output
    assert report.exists()
    assert not User.objects.filter(email="ann@example.org").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group", "group-a"], "--by"),
        (["--group", "no-such-group", "--dry-run"], "No group"),
        (["--group", "group-a", "--by", "nobody@example.org"], "No account"),
    ],
)
def test_the_command_refuses_what_it_cant_do(cast, places, tmp_path, args, message):
    path = tmp_path / "volunteers.csv"
    path.write_text(CONTENT)
    with pytest.raises(CommandError, match=message):
        _call("volunteers", str(path), *args)


def test_only_those_allowed_may_import(cast, places, tmp_path):
    path = tmp_path / "volunteers.csv"
    path.write_text(CONTENT)
    with pytest.raises(CommandError, match="may not import"):
        _call(
            "volunteers", str(path), "--group", "group-a", "--by", cast.users["organiser_b"].email
        )
    with pytest.raises(CommandError, match="may not import"):
        _call("volunteers", str(path), "--by", cast.users["organiser_a"].email)


def test_an_unreadable_file_is_a_clear_error(cast, places, tmp_path):
    path = tmp_path / "volunteers.csv"
    path.write_text("Email,Postcode\nann@example.org,M1 1AE\n")
    with pytest.raises(CommandError, match="No column holds people's names"):
        _call("volunteers", str(path), "--group", "group-a", "--dry-run")


def test_the_bench_runs_small_and_cleans_up(cast, places):
    users, groups = User.objects.count(), Group.objects.count()
    out = StringIO()
    call_command("bench", "import", "--rows", "200", "--baseline-rows", "20", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["benchmark"] == "import"
    names = [(r["name"], r["baseline"]) for r in result["results"]]
    assert names[0] == ("import (new)", False)
    assert names[1] == ("re-import (updates)", False)
    assert names[2][1] is True
    ours, again, baseline = result["results"]
    assert ours["rows"] == 200 and ours["created"] > 150
    assert again["updated"] > 150
    assert baseline["rows"] == 20 and baseline["scaled_to_rows"] == 200
    for item in result["results"]:
        assert item["database"] in {"sqlite", "postgresql"}
        assert item["seconds"] > 0 and item["per_s"] > 0
    assert {"cores", "python", "database_version"} <= set(result["machine"])
    assert (User.objects.count(), Group.objects.count()) == (users, groups)

    table = StringIO()
    call_command("bench", "import", "--rows", "30", "--baseline-rows", "5", stdout=table)
    assert "per-row .save() baseline" in table.getvalue()


@pytest.mark.django_db(transaction=True)
def test_after_a_run_postgresql_tables_are_vacuumed_and_nothing_is_tried_where_it_cannot_be():
    from django.db import connection, transaction

    from handsup.core.benchmarks import tidy_tables
    from handsup.imports.bench import TOUCHED_TABLES

    ran: list[str] = []

    def record(execute, sql, params, many, context):
        if "VACUUM" in sql.upper() or "ANALYZE" in sql.upper():
            ran.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        with transaction.atomic():
            tidy_tables(TOUCHED_TABLES, vacuum=True)  # VACUUM can't run in a transaction
        assert ran == []
        tidy_tables(TOUCHED_TABLES, vacuum=True)
        vacuumed = list(ran)
        ran.clear()
        with transaction.atomic():
            tidy_tables(TOUCHED_TABLES, vacuum=False)  # statistics alone may
        analysed = list(ran)
    tables = [model._meta.db_table for model in TOUCHED_TABLES]
    assert "accounts_user" in tables and "privacy_consentevent" in tables
    if connection.vendor == "postgresql":
        assert vacuumed == [f'VACUUM (ANALYZE) "{table}"' for table in tables]
        assert analysed == [f'ANALYZE "{table}"' for table in tables]
    else:
        assert vacuumed == analysed == []
