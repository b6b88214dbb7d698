"""Two real `handsup worker` processes share one schedule: each period runs once."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

pytestmark = pytest.mark.workers

QUERY = """
import json
from django_tasks_db.models import DBTaskResult
from handsup.core.models import JobRun
runs = list(JobRun.objects.filter(job__endswith=".heartbeat").values(
    "period_start", "claimed_by", "finished_at", "run_count"))
tasks = DBTaskResult.objects.filter(task_path__endswith="run_periodic_job")
print(json.dumps({
    "runs": [[str(r["period_start"]), r["claimed_by"], r["finished_at"] is not None,
              r["run_count"]] for r in runs],
    "job_runs_all": JobRun.objects.count(),
    "tasks": tasks.count(),
    "task_workers": sorted({w for ws in tasks.values_list("worker_ids", flat=True) for w in ws}),
}))
"""


def _handsup(env: dict[str, str], *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handsup.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.fixture
def worker_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A database of its own, migrated, that both worker processes share."""
    env = {k: v for k, v in os.environ.items() if k != "HANDSUP_DEMO"}
    env.update(HANDSUP_TESTING="1", HANDSUP_VAR_DIR=str(tmp_path), HANDSUP_HEARTBEAT_SECONDS="1")
    default = settings.DATABASES["default"]
    if default["ENGINE"].endswith("postgresql"):
        name = f"handsup_workers_{secrets.token_hex(4)}"
        admin = f"host={default['HOST']} port={default['PORT'] or 5432} user={default['USER']}"
        with psycopg.connect(admin + " dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        user = default["USER"]
        env["DATABASE_URL"] = (
            f"postgres://{user}@{default['HOST']}:{default['PORT'] or 5432}/{name}"
        )
        try:
            _handsup(env, "migrate", "--noinput", "-v0")
            yield env
        finally:
            with psycopg.connect(admin + " dbname=postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        env.pop("DATABASE_URL", None)
        env["HANDSUP_SQLITE_PATH"] = str(tmp_path / "workers.sqlite3")
        _handsup(env, "migrate", "--noinput", "-v0")
        yield env


def _wait_until_started(worker: subprocess.Popen, timeout: float = 90) -> None:
    # Start-up time depends on the machine's load; the measured window starts after it.
    deadline = time.monotonic() + timeout
    assert worker.stderr is not None
    while time.monotonic() < deadline:
        line = worker.stderr.readline()
        if "started" in line:
            # Keep draining its log so a full pipe can never stall it.
            threading.Thread(target=worker.stderr.read, daemon=True).start()
            return
        if not line and worker.poll() is not None:
            break
    raise AssertionError(f"worker did not start (exit code {worker.poll()})")


@contextmanager
def two_workers(env: dict[str, str]) -> Iterator[list[subprocess.Popen[str]]]:
    """Two real `handsup worker` processes ("worker-one", "worker-two"), started and
    waited for; on leaving, checked still alive and stopped with SIGTERM."""
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "handsup.cli",
                "worker",
                "--tick",
                "0.2",
                "--interval",
                "0.1",
                "--worker-id",
                worker_id,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker_id in ("worker-one", "worker-two")
    ]
    try:
        for worker in workers:
            _wait_until_started(worker)
        yield workers
        for worker in workers:
            assert worker.poll() is None, "a worker died during the run"
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)


def test_two_workers_claim_each_period_once(worker_env: dict[str, str]):
    with two_workers(worker_env):
        time.sleep(6)

    output = _handsup(worker_env, "shell", "--no-imports", "-c", QUERY).stdout
    facts = json.loads(output.strip().splitlines()[-1])
    runs = facts["runs"]
    periods = [run[0] for run in runs]
    assert len(runs) >= 4, facts
    assert len(periods) == len(set(periods)), "a period was claimed twice"
    assert {run[1] for run in runs} <= {"worker-one", "worker-two"}
    finished = [run for run in runs if run[2]]
    assert len(finished) >= len(runs) - 2, "claimed periods were left unrun"
    assert all(run[3] == 1 for run in finished), f"a period ran more than once: {runs}"
    # One task per claimed period (heartbeats plus the daily and hourly jobs).
    assert facts["tasks"] == facts["job_runs_all"]
    assert set(facts["task_workers"]) <= {"worker-one", "worker-two"}
