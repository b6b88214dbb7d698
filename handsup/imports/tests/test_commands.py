"""`handsup import volunteers` and `handsup bench import`, at small sizes so they can't rot."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

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
    assert names[4][1] is True
    ours, again, without, checked, baseline = result["results"]
    assert ours["rows"] == 200 and ours["created"] > 150
    assert again["updated"] > 150
    assert baseline["rows"] == 20 and baseline["scaled_to_rows"] == 200
    # Writing alone: a file with the same mix of rows writes exactly what the first
    # import wrote (a person, account, profile, membership, record and their consents).
    assert checked["name"] == "writes alone, with key checks"
    assert ours["rows_written"] > 5 * ours["created"]
    for floor in (without, checked):
        assert floor["floor"] is True and floor["baseline"] is False
        assert floor["rows"] == ours["created"]
        assert floor["rows_written"] == ours["rows_written"]
    assert checked["key_checks"] is True
    # PostgreSQL leaves them deferred, and the rollback skips them; SQLite can't turn
    # them off inside the test's transaction, and says so.
    assert without["key_checks"] is (connection.vendor == "sqlite")
    assert "Writing alone (" in " ".join(result["notes"])
    for item in result["results"]:
        assert item["database"] in {"sqlite", "postgresql"}
        assert item["seconds"] > 0 and item["per_s"] > 0
    assert {"cores", "python", "database_version"} <= set(result["machine"])
    assert (User.objects.count(), Group.objects.count()) == (users, groups)

    table = StringIO()
    call_command("bench", "import", "--rows", "30", "--baseline-rows", "5", stdout=table)
    assert "per-row .save() baseline" in table.getvalue()
    assert "rows written" in table.getvalue()


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


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_writes_alone_runs_once_without_key_checks_and_turns_them_back_on(
    cast, places
):
    users = User.objects.count()
    out = StringIO()
    call_command("bench", "import", "--rows", "150", "--baseline-rows", "5", "--json", stdout=out)
    by_name = {r["name"]: r for r in json.loads(out.getvalue())["results"]}
    without = by_name["writes alone, without key checks"]
    checked = by_name["writes alone, with key checks"]
    assert (without["key_checks"], checked["key_checks"]) == (False, True)
    assert (
        without["rows_written"]
        == checked["rows_written"]
        == by_name["import (new)"]["rows_written"]
    )
    assert User.objects.count() == users
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1


def test_the_bench_says_what_it_is_doing_on_stderr_unless_asked_not_to(cast, places):
    out, err = StringIO(), StringIO()
    call_command(
        "bench", "import", "--rows", "20", "--baseline-rows", "5", "--json", stdout=out, stderr=err
    )
    json.loads(out.getvalue())  # the steps don't get into the JSON
    steps = err.getvalue().splitlines()
    assert steps[0].endswith("Writing a CSV of 20 rows") and steps[0].startswith("[")
    assert any(line.endswith("Timing the per-row baseline on 5 rows") for line in steps)
    assert steps[-1].endswith("Removing the benchmark's people")

    out, err = StringIO(), StringIO()
    call_command(
        "bench", "import", "--rows", "20", "--baseline-rows", "5", "--quiet", stdout=out, stderr=err
    )
    assert err.getvalue() == ""
    assert "per-row .save() baseline" in out.getvalue()
