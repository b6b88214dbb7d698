"""Benchmark W1 (QUALITY.md): a volunteer's "Needs for me" page served by the production
server under load, with the in-process matching index on, against the same page with it
off, in the same run.

`handsup bench web --volunteers N --open-needs K --sessions S [--connections C]
[--duration D] [--baseline-duration B] [--ceiling-duration C] [--url URL] [--keep]
[--json]` (`web_report`):

* The people and needs: the seeded movement and K open needs exactly as `handsup bench
  matching` makes them (`bench.ensure_movement`, `bench.make_needs`); the needs are
  removed at the end unless `--keep`.
* The sessions: S seeded volunteers who hold skills, who are not organisers or admins
  (they would be sent to enrol MFA), and, as far as there are such people, whom the
  shortlist finds for at least one of the needs, so their pages list something. Each gets
  a real session made by `django.contrib.auth.login` itself (on a request that never
  reached a view: no password form, no rate limit), stored by the configured session
  engine; the sessions are deleted at the end.
* The server: the production server as `handsup serve` runs it (gunicorn,
  `handsup.wsgi:application`, static files collected) on a free loopback port, with this
  process's environment and secret key, told it is behind a TLS proxy (`BEHIND_PROXY=1`,
  every request says `X-Forwarded-Proto: https`) so production's HTTPS redirect stays on
  and is not what gets measured. Every session's page is fetched once (each must answer
  200 with the page's heading, or the run stops), then concurrent rounds until no worker
  is slow any more (each builds its index on its first requests), then an untimed `wrk`
  run; only then the timed one. With `--url` an already running server is used instead,
  and there is no baseline.
* The load: `wrk -t T -c C -d D --latency` with a Lua script that sends each request with
  the next session's cookie, counts every response's status, and prints requests,
  duration, errors and the 50/95/99th latency percentiles as machine-readable lines,
  which are what is reported (never wrk's human text). Any response that is not 200
  stops the run: a redirect to log in is not a fast page.
* Queries per page: the same page rendered in this process with Django's test client for
  a few of the sessions (after one untimed request), counted with
  `CaptureQueriesContext`; the maximum and the median are reported.
* The baseline: a second server with `HANDSUP_MATCHING_INDEX=off`, the same sessions,
  a shorter run (`--baseline-duration`); its rate and p95 are set beside ours as ratios.
* The ceiling: a third server, the same in every way but for one more page
  (`bench_ceiling`: a signed-in page whose view does nothing), loaded with the same
  sessions for `--ceiling-duration` seconds. No signed-in page on that server and machine
  can beat it, so it tells how much of a target is the page's and how much the stack's.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth import load_backend, login
from django.contrib.auth.models import AnonymousUser
from django.core.management.base import CommandError, CommandParser
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from handsup.accounts.models import User
from handsup.core.benchmarks import machine, step
from handsup.groups.models import Membership, MovementRole
from handsup.needs.bench import BenchNeed, ensure_movement, make_needs, remove_needs
from handsup.needs.bench_ceiling import CEILING_HEADING, CEILING_PATH
from handsup.needs.models import Need
from handsup.people.models import PersonSkill

FIGURE = "W1"
TARGET_PER_S = 1_000.0
TARGET_P95_MS = 25.0
TARGET_QUERIES = 5
HEADING = "<h1>Needs for me</h1>"
# How the Lua script's `done` marks its lines in wrk's output.
WRK_MARK = "handsup-wrk"
WRK_ERRORS = ("connect", "read", "write", "status", "timeout")
# A request slower than this is a wrk timeout: counted as an error, not as a latency.
WRK_TIMEOUT_S = 10
# The shortlist's people for each need, at most this many taken from one need, so the
# sessions are spread over many needs and places.
FITTING_PER_NEED = 3
QUERY_SAMPLES = 5
VERIFY_TIMEOUT_S = 300.0
WARMUP_ROUNDS = 20
WARM_SECONDS = 1.0  # a round whose slowest page is faster than this: the workers are warm
WARMUP_SECONDS = 5  # of untimed wrk, after the warm-up rounds (--warmup)
WARMUP_LIMIT_S = 300.0  # the warm-up rounds stop after this long, warm or not
BASELINE_CHECKED = 3  # sessions whose baseline page is checked before its load
START_TIMEOUT_S = 120.0
RELIABLE_SAMPLES = 1_000  # QUALITY.md's percentiles are over at least this many


# --- wrk --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkRun:
    """What the Lua script's `done` printed for one wrk run."""

    requests: int
    duration_s: float
    bytes_read: int  # responses, headers included
    errors: dict[str, int]
    statuses: dict[int, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def not_ok(self) -> dict[int, int]:
        """Responses that were not 200, by status."""
        return {status: n for status, n in self.statuses.items() if status != 200}


def lua_script(*, path: str, cookies: Sequence[str], forwarded_proto: str = "https") -> str:
    """The wrk script: each request carries the next of `cookies` (whole `name=value`
    strings), each thread starting at another place in the list; `done` prints the
    figures as `handsup-wrk <key> <value>` lines."""
    if not cookies:
        raise ValueError("The load needs at least one session cookie.")
    quoted = ",\n".join(f"  {_lua_string(cookie)}" for cookie in cookies)
    return f"""-- Written by `handsup bench web` (handsup/needs/bench_web.py).
local cookies = {{
{quoted}
}}
local path = {_lua_string(path)}
local proto = {_lua_string(forwarded_proto)}
local threads = {{}}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  statuses = {{}}
  position = offset or 0
end

function request()
  position = position + 1
  return wrk.format("GET", path, {{
    ["Cookie"] = cookies[(position % #cookies) + 1],
    ["X-Forwarded-Proto"] = proto,
  }})
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local mark = "{WRK_MARK}"
  io.write(string.format("%s requests %d\\n", mark, summary.requests))
  io.write(string.format("%s duration_us %d\\n", mark, summary.duration))
  io.write(string.format("%s bytes %d\\n", mark, summary.bytes))
  for _, name in ipairs({{"connect", "read", "write", "status", "timeout"}}) do
    io.write(string.format("%s error_%s %d\\n", mark, name, summary.errors[name]))
  end
  for _, p in ipairs({{50, 95, 99}}) do
    io.write(string.format("%s latency_p%d_us %d\\n", mark, p, latency:percentile(p)))
  end
  io.write(string.format("%s latency_mean_us %d\\n", mark, latency.mean))
  io.write(string.format("%s latency_max_us %d\\n", mark, latency.max))
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      io.write(string.format("%s status_%d %d\\n", mark, status, n))
    end
  end
end
"""


def _lua_string(text: str) -> str:
    if not re.fullmatch(r"[\x20-\x7e]*", text):
        raise ValueError(f"Not a plain ASCII header value: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_WRK_LINE = re.compile(rf"^{WRK_MARK} (\w+) (-?[0-9.]+)$", re.MULTILINE)


def parse_wrk_output(text: str) -> WrkRun:
    """The figures from the script's lines in wrk's output; anything else is ignored.
    Status lines from several threads are added up."""
    values: dict[str, float] = {}
    statuses: dict[int, int] = {}
    for key, value in _WRK_LINE.findall(text):
        if key.startswith("status_"):
            status = int(key.removeprefix("status_"))
            statuses[status] = statuses.get(status, 0) + int(float(value))
        else:
            values[key] = float(value)
    wanted = ["requests", "duration_us", "bytes", *(f"error_{name}" for name in WRK_ERRORS)]
    wanted += ["latency_p50_us", "latency_p95_us", "latency_p99_us"]
    wanted += ["latency_mean_us", "latency_max_us"]
    missing = [key for key in wanted if key not in values]
    if missing:
        raise RuntimeError(
            f"wrk's output lacks the script's {', '.join(missing)} lines; it said:\n{text}"
        )
    return WrkRun(
        requests=int(values["requests"]),
        duration_s=values["duration_us"] / 1e6,
        bytes_read=int(values["bytes"]),
        errors={name: int(values[f"error_{name}"]) for name in WRK_ERRORS},
        statuses=dict(sorted(statuses.items())),
        p50_ms=round(values["latency_p50_us"] / 1000, 3),
        p95_ms=round(values["latency_p95_us"] / 1000, 3),
        p99_ms=round(values["latency_p99_us"] / 1000, 3),
        mean_ms=round(values["latency_mean_us"] / 1000, 3),
        max_ms=round(values["latency_max_us"] / 1000, 3),
    )


def wrk_executable() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise CommandError(
            "wrk is not installed: `apt-get install wrk` (Debian), `make tools`, or "
            "scripts/ensure-wrk."
        )
    return found


def run_wrk(url: str, script: Path, *, threads: int, connections: int, duration_s: int) -> WrkRun:
    command = [
        wrk_executable(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + WRK_TIMEOUT_S + 60
    )
    if finished.returncode != 0:
        raise RuntimeError(
            f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout}"
        )
    return parse_wrk_output(finished.stdout)


# --- Sessions ---------------------------------------------------------------------------


def _not_privileged(user_ids: Sequence[int]) -> list[int]:
    """The ids of those who may use the site without enrolling MFA first (in order)."""
    privileged = set(
        Membership.objects.filter(user_id__in=user_ids)
        .privileged()
        .values_list("user_id", flat=True)
    )
    privileged |= set(
        MovementRole.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True)
    )
    privileged |= set(
        User.objects.filter(Q(is_staff=True) | Q(is_superuser=True), pk__in=user_ids).values_list(
            "pk", flat=True
        )
    )
    return [pk for pk in user_ids if pk not in privileged]


def pick_users(count: int, needs: Sequence[BenchNeed], *, now: datetime) -> tuple[list[User], int]:
    """`count` seeded volunteers for the sessions, and how many of them the shortlist
    finds for one of `needs` (they come first; the rest hold skills, fitting or not)."""
    from handsup.needs.index import get_index

    index = get_index()
    chosen: list[int] = []
    by_pk = Need.objects.select_related("group").in_bulk([need.pk for need in needs])
    for bench_need in needs[: max(count * 5, 1)]:
        if len(chosen) >= count:
            break
        cards = index.shortlist(by_pk[bench_need.pk], now=now, limit=FITTING_PER_NEED * 3)
        found = [card.user_id for card in cards if card.user_id not in chosen]
        chosen += _not_privileged(found)[:FITTING_PER_NEED]
    chosen = chosen[:count]
    fitting = len(chosen)
    if len(chosen) < count:
        holders = (
            PersonSkill.objects.filter(person__seeded=True, person__user__is_active=True)
            .exclude(person__user_id__in=chosen)
            .order_by("person__user_id")
            .values_list("person__user_id", flat=True)
            .distinct()
        )
        for batch_start in range(0, 50 * count, 5 * count):
            more = _not_privileged(list(holders[batch_start : batch_start + 5 * count]))
            chosen += [pk for pk in more if pk not in chosen][: count - len(chosen)]
            if len(chosen) >= count or len(more) == 0:
                break
    if len(chosen) < count:
        raise RuntimeError(
            f"Only {len(chosen)} seeded volunteers hold skills and are not organisers; "
            f"--sessions {count} asks for more (seed more volunteers)."
        )
    users = User.objects.in_bulk(chosen)
    return [users[pk] for pk in chosen], fitting


def login_backend() -> str:
    """The backend a login through allauth records in the session: the first configured
    backend that is allauth's (or derives from it), else the first configured."""
    for path in settings.AUTHENTICATION_BACKENDS:
        if isinstance(load_backend(path), AuthenticationBackend):
            return str(path)
    return str(settings.AUTHENTICATION_BACKENDS[0])


def open_sessions(users: Sequence[User]) -> list[str]:
    """A logged-in session for each user, made by `django.contrib.auth.login` on a
    request of our own, and saved; their keys, in order."""
    engine = import_module(settings.SESSION_ENGINE)
    backend = login_backend()
    keys: list[str] = []
    for user in users:
        request = HttpRequest()
        request.session = engine.SessionStore()
        request.user = AnonymousUser()
        login(request, user, backend=backend)
        request.session.save()
        key = request.session.session_key
        if key is None:
            raise RuntimeError("The session engine gave the logged-in session no key.")
        keys.append(key)
    return keys


def close_sessions(keys: Sequence[str]) -> None:
    engine = import_module(settings.SESSION_ENGINE)
    for key in keys:
        engine.SessionStore(session_key=key).delete()


def session_cookie(key: str) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={key}"


# --- Fetching one page ------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def fetch(url: str, cookie: str, *, timeout: float = VERIFY_TIMEOUT_S) -> tuple[int, str]:
    """One GET as wrk sends it (the cookie, behind the TLS proxy), redirects not
    followed: the status and the body."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"Not an http(s) URL: {url}")
    headers = {"Cookie": cookie, "X-Forwarded-Proto": "https"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (checked above)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as refused:
        return int(refused.code), refused.read().decode("utf-8", "replace")


def verify_pages(url: str, cookies: Sequence[str], *, heading: str = HEADING) -> dict[int, int]:
    """Fetch the page once per cookie; every one must be 200 with the page's heading.
    The statuses seen, by status."""
    statuses: dict[int, int] = {}
    wrong: list[str] = []
    for cookie in cookies:
        status, body = fetch(url, cookie)
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200 or heading not in body:
            wrong.append(f"{status}{'' if heading in body else ' without the heading'}")
    if wrong:
        raise RuntimeError(
            f"{len(wrong)} of {len(cookies)} logged-in sessions did not get the page at "
            f"{url} (first: {wrong[0]}): the sessions are not what a login makes, or the "
            "page fails."
        )
    return statuses


def warm_up(url: str, cookies: Sequence[str], *, parallel: int) -> list[float]:
    """Concurrent rounds of requests until the slowest of a round is under
    WARM_SECONDS: every worker has then built what it builds on first use. The slowest
    page of each round, in seconds."""
    slowest: list[float] = []

    def timed(cookie: str) -> float:
        started = time.perf_counter()
        status, _body = fetch(url, cookie)
        if status != 200:
            raise RuntimeError(f"A warm-up request got {status} from {url}.")
        return time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        deadline = time.monotonic() + WARMUP_LIMIT_S
        for round_number in range(WARMUP_ROUNDS):
            if time.monotonic() > deadline:
                break
            batch = [cookies[(round_number * parallel + i) % len(cookies)] for i in range(parallel)]
            slowest.append(round(max(pool.map(timed, batch)), 3))
            if slowest[-1] < WARM_SECONDS and len(slowest) >= 2:
                break
    return slowest


# --- Queries per page -------------------------------------------------------------------


def queries_per_page(path: str, keys: Sequence[str]) -> list[int]:
    """The queries the page makes for each session, rendered in this process (after one
    untimed request that pays for anything built on first use)."""
    client = Client()
    counts: list[int] = []
    # The test client calls itself "testserver"; production settings don't allow it.
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(ALLOWED_HOSTS=hosts):
        for position, key in enumerate([keys[0], *keys]):
            client.cookies[settings.SESSION_COOKIE_NAME] = key
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path, secure=True, headers={"x-forwarded-proto": "https"})
            if response.status_code != 200 or HEADING not in response.content.decode():
                raise RuntimeError(
                    f"In process, a logged-in session got {response.status_code} for {path}, "
                    "not the page."
                )
            if position:
                counts.append(len(captured.captured_queries))
    return counts


# --- The server -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(
    *, matching_index: str, settings_module: str = "handsup.settings"
) -> dict[str, str]:
    """This process's environment, with what the server needs to read the same database
    and sessions: the secret key (sessions are signed with it), the loopback host, the
    proxy's header trusted, and the index switched as asked."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    env["SECRET_KEY"] = settings.SECRET_KEY
    hosts = [host for host in env.get("ALLOWED_HOSTS", "").split(",") if host.strip()]
    env["ALLOWED_HOSTS"] = ",".join([*hosts, "127.0.0.1"])
    env["BEHIND_PROXY"] = "1"
    env["HANDSUP_MATCHING_INDEX"] = matching_index
    return env


def collect_static(env: dict[str, str]) -> None:
    """What `handsup serve` does first: production pages name hashed static files."""
    subprocess.run(
        [sys.executable, "-m", "handsup.cli", "manage", "collectstatic", "--noinput", "-v0"],
        env=env,
        check=True,
    )


@contextlib.contextmanager
def production_server(
    *, env: dict[str, str], workers: int, threads: int, log_path: Path, path: str
) -> Iterator[str]:
    """gunicorn as `handsup serve` starts it, on a free loopback port, in its own process
    group; the page's URL once it answers. Stopped (the whole group) on the way out."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "handsup.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        # A worker's first page builds the index: at national size, longer than
        # gunicorn's default 30 s allowance.
        "--timeout",
        "600",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}{path}"
    try:
        _wait_until_answering(url, process, log_path)
        yield url
    finally:
        _stop(process)


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"The server exited ({process.returncode}) before answering:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        try:
            fetch(url, "", timeout=5)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(
        f"The server did not answer within {START_TIMEOUT_S:.0f} s:\n"
        + log_path.read_text(errors="replace")[-3000:]
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def default_workers() -> int:
    """One gunicorn worker per core, plus one to keep the cores busy while another
    waits on the database."""
    return (os.cpu_count() or 1) + 1


# --- One measured server ----------------------------------------------------------------


@dataclass
class Load:
    """One server measured: how it was warmed, and the timed run."""

    url: str
    verified: dict[int, int]
    warm_rounds_s: list[float] = field(default_factory=list)
    warm_wrk: WrkRun | None = None
    timed: WrkRun | None = None


def measure(
    url: str,
    cookies: Sequence[str],
    *,
    script: Path,
    threads: int,
    connections: int,
    duration_s: int,
    warmup_s: int,
    baseline: bool,
    heading: str = HEADING,
) -> Load:
    """Check, warm and load one server. Ours: every session's page checked, then warmed
    until no worker is slow, then `warmup_s` of untimed wrk. The baseline builds nothing
    on first use, and each of its pages may take seconds: a few sessions checked, no
    warming, and a run that completes no request is reported as such."""
    checked = cookies[:BASELINE_CHECKED] if baseline else cookies
    load = Load(url=url, verified=verify_pages(url, checked, heading=heading))
    if not baseline:
        load.warm_rounds_s = warm_up(url, cookies, parallel=connections)
        if warmup_s:
            load.warm_wrk = run_wrk(
                url, script, threads=threads, connections=connections, duration_s=warmup_s
            )
    load.timed = run_wrk(
        url, script, threads=threads, connections=connections, duration_s=duration_s
    )
    wrong = load.timed.not_ok()
    if wrong:
        raise RuntimeError(
            f"Under load, {sum(wrong.values()):,} of {load.timed.requests:,} responses from "
            f"{url} were not 200: {wrong}. No figure is reported for a page that fails."
        )
    if load.timed.requests == 0 and not baseline:
        raise RuntimeError(f"wrk completed no request against {url} in {duration_s} s.")
    return load


def _result(
    name: str,
    *,
    baseline: bool,
    load: Load,
    sizes: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    run = load.timed
    assert run is not None
    return {
        "name": name,
        "baseline": baseline,
        "database": connection.vendor,
        **sizes,
        "url": load.url,
        # `rows`, `seconds` and `per_s` are the columns `handsup bench`'s table prints:
        # requests completed, the run's length, requests a second.
        "rows": run.requests,
        "requests": run.requests,
        "seconds": round(run.duration_s, 3),
        "per_s": round(run.per_s, 1),
        "p50_ms": run.p50_ms,
        "p95_ms": run.p95_ms,
        "p99_ms": run.p99_ms,
        "mean_ms": run.mean_ms,
        "max_ms": run.max_ms,
        # A fast page that lists nothing is no credit: how big the pages were.
        "kb_per_response": round(run.bytes_read / run.requests / 1000, 1) if run.requests else 0,
        "errors": run.errors,
        "statuses": {str(status): n for status, n in run.statuses.items()},
        "verified_statuses": {str(status): n for status, n in load.verified.items()},
        "warmup_slowest_s": load.warm_rounds_s,
        "warmup_requests": load.warm_wrk.requests if load.warm_wrk else 0,
        **extra,
    }


# --- The report -------------------------------------------------------------------------


def web_report(
    *,
    volunteers: int,
    open_needs: int,
    seed: int = 0,
    sessions: int = 200,
    connections: int = 16,
    duration: int = 20,
    baseline_duration: int = 10,
    ceiling_duration: int = 10,
    threads: int = 2,
    workers: int | None = None,
    worker_threads: int = 4,
    warmup: int = WARMUP_SECONDS,
    url: str | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """`handsup bench web`: the page under load, ours and the baseline, in the
    QUALITY.md shape."""
    if min(volunteers, sessions, connections, duration, threads) < 1 or open_needs < 0:
        raise ValueError("Sizes, sessions, connections, threads and duration must be positive.")
    wrk_executable()
    workers = workers or default_workers()
    path = reverse("needs:for_me")
    step(f"Seeding {volunteers:,} volunteers, unless seed {seed} already has them")
    movement = ensure_movement(volunteers, seed)
    now = timezone.now()
    step(f"Making {open_needs:,} open needs and {sessions:,} signed-in sessions")
    started = time.perf_counter()
    bench_needs, made_group = make_needs(open_needs, seed=seed, now=now)
    needs_seconds = time.perf_counter() - started
    keys: list[str] = []
    loads: dict[str, Load] = {}
    notes: list[str] = []
    try:
        users, fitting = pick_users(sessions, bench_needs, now=now)
        keys = open_sessions(users)
        cookies = [session_cookie(key) for key in keys]
        if url is None or "Manifest" in settings.STORAGES["staticfiles"]["BACKEND"]:
            # Production pages (ours in process, and the servers') name hashed files.
            collect_static(server_environment(matching_index="on"))
        queries = queries_per_page(path, keys[:QUERY_SAMPLES])
        with tempfile.TemporaryDirectory(prefix="handsup-bench-web-") as folder:
            scripts = {}
            for name, page in (("sessions", path), ("ceiling", CEILING_PATH)):
                scripts[page] = Path(folder) / f"{name}.lua"
                scripts[page].write_text(lua_script(path=page, cookies=cookies))

            def load(served: str, seconds: int, *, baseline: bool, page: str, heading: str) -> Load:
                return measure(
                    served,
                    cookies,
                    script=scripts[page],
                    threads=threads,
                    connections=connections,
                    duration_s=seconds,
                    warmup_s=warmup,
                    baseline=baseline,
                    heading=heading,
                )

            if url is not None:
                loads["ours"] = load(
                    url.rstrip("/") + path, duration, baseline=False, page=path, heading=HEADING
                )
                notes.append(f"Against the server already at {url} (--url): no baseline run.")
            else:
                ceiling_settings = "handsup.needs.bench_ceiling_settings"
                for label, env, page, heading, seconds in (
                    ("ours", server_environment(matching_index="on"), path, HEADING, duration),
                    (
                        "baseline",
                        server_environment(matching_index="off"),
                        path,
                        HEADING,
                        baseline_duration,
                    ),
                    (
                        "ceiling",
                        server_environment(matching_index="on", settings_module=ceiling_settings),
                        CEILING_PATH,
                        CEILING_HEADING,
                        ceiling_duration,
                    ),
                ):
                    if seconds < 1:
                        continue
                    step(f"W1: loading the page for {seconds} s: {label}")
                    with production_server(
                        env=env,
                        workers=workers,
                        threads=worker_threads,
                        log_path=Path(folder) / f"gunicorn-{label}.log",
                        path=page,
                    ) as served:
                        try:
                            loads[label] = load(
                                served,
                                seconds,
                                baseline=label == "baseline",
                                page=page,
                                heading=heading,
                            )
                        except TimeoutError:
                            if label != "baseline":
                                raise
                            # Without the index a page can take longer than the check
                            # waits (minutes, over 100,000 open needs): say so.
                            notes.append(
                                f"Baseline: no page within {VERIFY_TIMEOUT_S:.0f} s with the "
                                "index off; no ratio."
                            )
    finally:
        close_sessions(keys)
        if not keep:
            remove_needs(bench_needs, made_group)

    sizes = {
        "volunteers": movement.volunteers,
        "open_needs": open_needs,
        "sessions": sessions,
        "connections": connections,
        "wrk_threads": threads,
    }
    ours = loads["ours"].timed
    assert ours is not None
    base = loads["baseline"].timed if "baseline" in loads else None
    ratios = None
    if base is not None and base.requests == 0:
        notes.append(
            f"The baseline completed no request in {baseline_duration} s: every page took "
            f"longer ({base.error_count} errors or timeouts at {WRK_TIMEOUT_S} s); no ratio."
        )
    elif base is not None:
        ratios = {
            "per_s": round(ours.per_s / base.per_s, 1) if base.per_s else None,
            "p95": round(base.p95_ms / ours.p95_ms, 1) if ours.p95_ms else None,
        }
    query_max = max(queries)
    query_median = statistics.median(queries)
    met = {
        "per_s": ours.per_s >= TARGET_PER_S,
        "p95_ms": ours.p95_ms <= TARGET_P95_MS and ours.error_count == 0,
        "queries": query_max <= TARGET_QUERIES,
    }
    results = [
        _result(
            f"needs for me page, index on ({FIGURE})",
            baseline=False,
            load=loads["ours"],
            sizes=sizes,
            extra={
                "figure": FIGURE,
                "target_per_s": TARGET_PER_S,
                "target_p95_ms": TARGET_P95_MS,
                "target_queries": TARGET_QUERIES,
                "queries_per_page_max": query_max,
                "queries_per_page_median": query_median,
                "met": met,
                "baseline_ratio": ratios,
            },
        )
    ]
    if "baseline" in loads:
        results.append(
            _result(
                "needs for me page, index off (HANDSUP_MATCHING_INDEX=off)",
                baseline=True,
                load=loads["baseline"],
                sizes=sizes,
                extra={},
            )
        )
    if "ceiling" in loads:
        results.append(
            _result(
                "ceiling: a signed-in page whose view does nothing, same server and sessions",
                baseline=False,
                load=loads["ceiling"],
                sizes=sizes,
                extra={"ceiling": True},
            )
        )
        top = loads["ceiling"].timed
        assert top is not None
        notes.append(
            f"Ceiling: the same server serves a signed-in page that does nothing at "
            f"{top.per_s:,.0f} requests/s (p95 {top.p95_ms:.1f} ms) to the same sessions; "
            "no signed-in page here can beat that."
        )
    report: dict[str, Any] = {
        "benchmark": "web",
        "figures": [FIGURE],
        "path": path,
        "volunteers": movement.volunteers,
        "open_needs": open_needs,
        "sessions": sessions,
        "sessions_fitting_a_need": fitting,
        "connections": connections,
        "duration_s": duration,
        "baseline_duration_s": baseline_duration if "baseline" in loads else None,
        "ceiling_duration_s": ceiling_duration if "ceiling" in loads else None,
        "server": None
        if url is not None
        else {
            "command": "gunicorn handsup.wsgi:application",
            "workers": workers,
            "threads": worker_threads,
            "behind_proxy": True,
        },
        "external_url": url,
        "queries_per_page": {"samples": queries, "max": query_max, "median": query_median},
        "targets": {
            "per_s": TARGET_PER_S,
            "p95_ms": TARGET_P95_MS,
            "queries": TARGET_QUERIES,
        },
        "met": met,
        "ratios": ratios,
        "data": {
            "seed": movement.seed,
            "reused_seed": movement.reused,
            "seed_seconds": round(movement.seconds, 3),
            "seed_steps": movement.steps,
            "needs_seconds": round(needs_seconds, 3),
            "needs_kept": keep,
        },
        "results": results,
        "machine": machine(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }
    report["notes"] = notes + summary_lines(report)
    return report


def summary_lines(report: dict[str, Any]) -> list[str]:
    """What the command's table can't show: percentiles, targets, the server, ratios."""
    lines = []
    if report["data"]["reused_seed"]:
        lines.append(
            f"Reused the {report['volunteers']:,} volunteers seeded with seed "
            f"{report['data']['seed']}."
        )
    else:
        lines.append(
            f"Seeded {report['volunteers']:,} volunteers (seed {report['data']['seed']}) in "
            f"{report['data']['seed_seconds']:.1f} s."
        )
    lines.append(
        f"{report['open_needs']:,} open needs; {report['sessions']:,} logged-in sessions, "
        f"{report['sessions_fitting_a_need']:,} of them people the shortlist finds for a need."
    )
    server = report["server"]
    if server:
        lines.append(
            f"Server: gunicorn, {server['workers']} workers × {server['threads']} threads, "
            f"on loopback; wrk {report['connections']} connections."
        )
    for result in report["results"]:
        errors = sum(result["errors"].values())
        lines.append(
            f"{result['name']}: {_rate(result['per_s'])} req/s, p50 {result['p50_ms']:.2f} ms, "
            f"p95 {result['p95_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms over "
            f"{result['requests']:,} requests ({result['kb_per_response']:g} kB each), "
            f"statuses {result['statuses']}, "
            f"{errors} socket errors or timeouts."
        )
    queries = report["queries_per_page"]
    lines.append(
        f"Queries per page: max {queries['max']}, median {queries['median']:g} "
        f"(over {len(queries['samples'])} sessions, rendered in process)."
    )
    met = report["met"]
    ours = report["results"][0]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines.append(
        f"Target ({FIGURE}): ≥ {TARGET_PER_S:,.0f} req/s ({verdict(met['per_s'])}), "
        f"p95 ≤ {TARGET_P95_MS:g} ms ({verdict(met['p95_ms'])}), ≤ {TARGET_QUERIES} queries "
        f"({verdict(met['queries'])}); measured {_rate(ours['per_s'])} req/s, "
        f"p95 {ours['p95_ms']:.2f} ms, {queries['max']} queries."
    )
    fewest = min(result["requests"] for result in report["results"])
    if fewest < RELIABLE_SAMPLES:
        lines.append(
            f"Fewer than {RELIABLE_SAMPLES:,} requests in a run ({fewest:,}): QUALITY.md's "
            "percentiles are over at least that many (a longer --duration or "
            "--baseline-duration gives them)."
        )
    ratios = report["ratios"]
    if ratios:
        lines.append(
            f"Against the baseline: {ratios['per_s']}× the requests a second, "
            f"its p95 {ratios['p95']}× ours."
        )
    lines.append("Load average: " + ", ".join(f"{load:.2f}" for load in report["load_average"]))
    return lines


def _rate(per_s: float) -> str:
    return f"{per_s:,.0f}" if per_s >= 100 else f"{per_s:.1f}"


# --- The command's glue -----------------------------------------------------------------


def add_web_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--volunteers",
        type=int,
        default=1_000_000,
        help="Seeded volunteers (1000000); those already seeded with --seed are reused.",
    )
    parser.add_argument(
        "--open-needs",
        type=int,
        default=100_000,
        help="Open needs made for the run, as `bench matching` makes them (100000).",
    )
    parser.add_argument("--seed", type=int, default=0, help="The seed of `handsup seed` (0).")
    parser.add_argument(
        "--sessions", type=int, default=200, help="Logged-in volunteers the load rotates over."
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16).")
    parser.add_argument("--duration", type=int, default=20, help="Seconds of timed load (20).")
    parser.add_argument(
        "--baseline-duration",
        type=int,
        default=10,
        help="Seconds of load on the index-off baseline (10; 0 leaves it out).",
    )
    parser.add_argument(
        "--ceiling-duration",
        type=int,
        default=10,
        help="Seconds of load on a signed-in page that does nothing, served the same way "
        "(10; 0 leaves it out).",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2).")
    parser.add_argument(
        "--warmup",
        type=int,
        default=WARMUP_SECONDS,
        help=f"Seconds of untimed wrk load before the timed run ({WARMUP_SECONDS}).",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers (default: cores + 1).",
    )
    parser.add_argument(
        "--worker-threads", type=int, default=4, help="gunicorn threads per worker (4)."
    )
    parser.add_argument(
        "--url",
        default=None,
        help="Load a server already running at this base URL (it must share this "
        "database) instead of starting one; no baseline then.",
    )
    parser.add_argument(
        "--keep", action="store_true", help="Keep the benchmark's needs instead of removing them."
    )


def run_web(options: dict[str, Any]) -> dict[str, Any]:
    for name in ("volunteers", "sessions", "connections", "duration", "threads"):
        if options[name] < 1:
            raise CommandError(f"--{name} must be at least 1.")
    for name in ("open_needs", "baseline_duration", "ceiling_duration", "seed", "warmup"):
        if options[name] < 0:
            raise CommandError(f"--{name.replace('_', '-')} must be 0 or more.")
    if options["workers"] is not None and options["workers"] < 1:
        raise CommandError("--workers must be at least 1.")
    if options["worker_threads"] < 1:
        raise CommandError("--worker-threads must be at least 1.")
    return web_report(
        volunteers=options["volunteers"],
        open_needs=options["open_needs"],
        seed=options["seed"],
        sessions=options["sessions"],
        connections=options["connections"],
        duration=options["duration"],
        baseline_duration=options["baseline_duration"],
        ceiling_duration=options["ceiling_duration"],
        threads=options["threads"],
        workers=options["workers"],
        worker_threads=options["worker_threads"],
        warmup=options["warmup"],
        url=options["url"],
        keep=options["keep"],
    )
