"""`handsup bench web` at toy size, against the test run's own live server (so on SQLite
and PostgreSQL alike): real sessions, real wrk, every response a 200, the figures
reported in the QUALITY.md shape. No timing is asserted. And the parsing of what the
wrk script prints."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from pytest_django.live_server_helper import LiveServer

from handsup.needs.bench import BENCH_TITLE
from handsup.needs.bench_ceiling import CEILING_HEADING, CEILING_PATH
from handsup.needs.bench_web import (
    TARGET_QUERIES,
    close_sessions,
    fetch,
    lua_script,
    measure,
    open_sessions,
    parse_wrk_output,
    session_cookie,
    verify_pages,
)
from handsup.needs.index import forget_indexes
from handsup.needs.models import Need

# The live server reads what this test writes, so the test's writes must commit; the
# `migration_rows` fixture makes again the migrations' rows (the skills, the privacy
# register) that another such test's flush may have removed.
live = pytest.mark.django_db(transaction=True)

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8000/needs/
  2 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    1.20ms  20.00ms   90.00%
  Latency Distribution
     50%    3.90ms
  812 requests in 2.00s, 9.01MB read
Requests/sec:    405.90
handsup-wrk requests 812
handsup-wrk duration_us 2000500
handsup-wrk bytes 9010000
handsup-wrk error_connect 0
handsup-wrk error_read 1
handsup-wrk error_write 0
handsup-wrk error_status 2
handsup-wrk error_timeout 3
handsup-wrk latency_p50_us 3900
handsup-wrk latency_p95_us 7250
handsup-wrk latency_p99_us 15001
handsup-wrk latency_mean_us 4100
handsup-wrk latency_max_us 20000
handsup-wrk status_200 400
handsup-wrk status_302 2
handsup-wrk status_200 410
"""


@pytest.fixture
def fresh_index() -> Iterator[None]:
    # Another test's index in this process would describe people a flush removed.
    forget_indexes()
    yield
    forget_indexes()


def bench(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("bench", "web", *args, "--json", stdout=out)
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


@live
@pytest.mark.usefixtures("migration_rows", "places", "fresh_index")
def test_the_page_under_load_is_reported_with_every_response_a_200(
    live_server: LiveServer,
) -> None:
    # On SQLite the live server's request threads share the test's one in-memory
    # connection, which can't serve two requests at once: one connection there.
    connections = "2" if connection.vendor == "postgresql" else "1"
    report = bench(
        "--volunteers", "40", "--open-needs", "10", "--sessions", "5",
        "--connections", connections, "--threads", connections, "--duration", "2",
        "--warmup", "1", "--url", live_server.url,
    )  # fmt: skip

    assert report["benchmark"] == "web"
    assert report["figures"] == ["W1"]
    assert report["path"] == "/needs/"
    assert report["volunteers"] == 40 and report["open_needs"] == 10
    assert report["sessions"] == 5
    assert 0 <= report["sessions_fitting_a_need"] <= 5
    assert report["external_url"] == live_server.url
    # An outside server: no server of ours, and no baseline.
    assert report["server"] is None
    assert report["ratios"] is None
    assert [result["baseline"] for result in report["results"]] == [False]
    assert "no baseline run" in " ".join(report["notes"])
    assert report["machine"]["database"] in ("sqlite", "postgresql")

    (ours,) = report["results"]
    assert ours["figure"] == "W1"
    assert ours["database"] == report["machine"]["database"]
    assert ours["connections"] == int(connections) and ours["sessions"] == 5
    assert ours["requests"] > 0
    assert ours["rows"] == ours["requests"]
    assert ours["seconds"] > 0 and ours["per_s"] > 0
    # Every response under load was a 200, and every session's page was checked first.
    assert ours["statuses"] == {"200": ours["requests"]}
    assert ours["verified_statuses"] == {"200": 5}
    assert ours["errors"]["status"] == 0
    assert 0 < ours["p50_ms"] <= ours["p95_ms"] <= ours["p99_ms"] <= ours["max_ms"]
    assert ours["warmup_requests"] > 0
    # Pages with the heading, the filters and the needs listed: not a stub.
    assert ours["kb_per_response"] > 1

    queries = report["queries_per_page"]
    assert len(queries["samples"]) == 5
    assert queries["max"] == max(queries["samples"]) > 0
    assert 0 < queries["median"] <= queries["max"]
    assert ours["queries_per_page_max"] == queries["max"]
    assert report["targets"] == {"per_s": 1000.0, "p95_ms": 25.0, "queries": TARGET_QUERIES}
    assert set(report["met"]) == {"per_s", "p95_ms", "queries"}
    assert report["met"]["queries"] == (queries["max"] <= TARGET_QUERIES)

    # The sessions and the benchmark's needs are gone again.
    assert not Session.objects.exists()
    assert not Need.objects.filter(title__startswith=BENCH_TITLE).exists()


@live
def test_a_session_that_does_not_get_the_page_stops_the_run(live_server: LiveServer) -> None:
    with pytest.raises(RuntimeError, match="did not get the page"):
        verify_pages(live_server.url + "/needs/", ["sessionid=not-a-session"])


def test_the_script_lines_are_parsed_and_threads_added_up() -> None:
    run = parse_wrk_output(WRK_OUTPUT)

    assert run.requests == 812
    assert run.duration_s == pytest.approx(2.0005)
    assert run.bytes_read == 9_010_000
    assert run.per_s == pytest.approx(812 / 2.0005)
    assert run.errors == {"connect": 0, "read": 1, "write": 0, "status": 2, "timeout": 3}
    assert run.error_count == 6
    assert (run.p50_ms, run.p95_ms, run.p99_ms) == (3.9, 7.25, 15.001)
    assert (run.mean_ms, run.max_ms) == (4.1, 20.0)
    # Both threads' 200s, and the redirect that must fail the run.
    assert run.statuses == {200: 810, 302: 2}
    assert run.not_ok() == {302: 2}


def test_output_without_the_script_lines_is_an_error_not_a_zero() -> None:
    human_only = WRK_OUTPUT.split("handsup-wrk")[0]
    with pytest.raises(RuntimeError, match="lacks the script's requests"):
        parse_wrk_output(human_only)
    truncated = "\n".join(line for line in WRK_OUTPUT.splitlines() if "p95" not in line)
    with pytest.raises(RuntimeError, match="latency_p95_us"):
        parse_wrk_output(truncated)


def test_the_script_rotates_the_cookies_it_is_given() -> None:
    script = lua_script(path="/needs/", cookies=["sessionid=a", "sessionid=b"])
    assert '"sessionid=a",\n  "sessionid=b"' in script
    assert 'local path = "/needs/"' in script
    assert "cookies[(position % #cookies) + 1]" in script
    assert "latency:percentile(p)" in script
    with pytest.raises(ValueError):
        lua_script(path="/needs/", cookies=[])
    with pytest.raises(ValueError):
        lua_script(path="/needs/", cookies=['sessionid=x"\n'])


@live
def test_the_ceiling_page_is_loaded_with_real_sessions_and_refuses_anyone_else(
    live_server: LiveServer, tmp_path: Path
) -> None:
    from django.test.utils import override_settings

    from handsup.accounts.models import User

    users = [
        User.objects.create_user(email=f"ceiling{n}@example.org", password="x-long-password-1")
        for n in range(3)
    ]
    keys = open_sessions(users)
    cookies = [session_cookie(key) for key in keys]
    script = tmp_path / "ceiling.lua"
    script.write_text(lua_script(path=CEILING_PATH, cookies=cookies))
    url = live_server.url + CEILING_PATH
    # The live server runs in this process: the ceiling server's URLs, for this test.
    with override_settings(ROOT_URLCONF="handsup.needs.bench_ceiling"):
        # Without a session the page sends people to log in, so a run with a bad
        # session stops instead of timing redirects.
        assert fetch(url, "")[0] == 302
        with pytest.raises(RuntimeError, match="did not get the page"):
            verify_pages(url, ["sessionid=not-a-session"], heading=CEILING_HEADING)
        status, body = fetch(url, cookies[0])
        assert status == 200 and CEILING_HEADING in body
        load = measure(
            url,
            cookies,
            script=script,
            threads=1,
            connections=1,
            duration_s=1,
            warmup_s=0,
            baseline=False,
            heading=CEILING_HEADING,
        )
    assert load.verified == {200: 3}
    assert load.timed is not None and load.timed.requests > 0
    assert load.timed.statuses == {200: load.timed.requests}
    close_sessions(keys)
    assert not Session.objects.exists()
    # The application's own URLs have no such page.
    assert fetch(url, cookies[0])[0] == 404
