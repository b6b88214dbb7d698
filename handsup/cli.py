"""The `handsup` command.

handsup demo                 migrate, load demo data, serve and run a worker (SQLite)
handsup serve [--host --port --workers]   production server (gunicorn + whitenoise)
handsup worker               background tasks and the periodic schedule
handsup seed --volunteers N  the synthetic movement
handsup check                system checks, including the deploy checks on production settings
handsup manage ARGS...       any Django management command
handsup COMMAND ARGS...      shorthand for `handsup manage COMMAND ARGS...`
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys


def _manage(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handsup.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 (loads the settings)
    except ImproperlyConfigured as problem:
        # What to set, in one line, rather than a traceback through Django's loader.
        print(f"handsup: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    execute_from_command_line(["handsup", *argv])


def _check(argv: list[str]) -> int:
    """Run the system checks twice: as configured, and on production settings."""
    env = dict(os.environ)
    for name in ("HANDSUP_DEMO", "DEBUG", "HANDSUP_TESTING"):
        env.pop(name, None)
    notes = []
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = secrets.token_urlsafe(50)
        notes.append("SECRET_KEY was not set: checked with a throwaway key.")
    if not env.get("ALLOWED_HOSTS"):
        env["ALLOWED_HOSTS"] = "handsup.example.org"
        notes.append("ALLOWED_HOSTS was not set: checked with handsup.example.org.")
    for note in notes:
        print(note, file=sys.stderr)
    command = [sys.executable, "-m", "handsup.cli", "manage", "check", "--deploy"]
    command += ["--fail-level", "WARNING", *argv]
    return subprocess.call(command, env=env)


def _serve(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="handsup serve")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))
    args = parser.parse_args(argv)
    subprocess.check_call(
        [sys.executable, "-m", "handsup.cli", "manage", "collectstatic", "--noinput", "-v0"]
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "handsup.wsgi:application",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--access-logfile",
        "-",
    ]
    os.execv(sys.executable, command)
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "manage":
        _manage(rest)
        return 0
    if command == "check":
        return _check(rest)
    if command == "serve":
        return _serve(rest)
    _manage([command, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
