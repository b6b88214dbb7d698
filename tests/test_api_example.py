"""The Python example in docs/api.md runs against a live server and does what it says:
posts a need, publishes it, and prints its shortlist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from handsup.needs.models import Need
from handsup.needs.tests.conftest import make_volunteer, migration_rows, standard_register
from handsup.people.models import Skill
from handsup.platform.tokens import do_create_token

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "api_example.py"

__all__ = ["migration_rows", "standard_register"]


@pytest.mark.django_db(transaction=True)
def test_the_example_posts_a_need_and_prints_its_shortlist(migration_rows, cast, live_server):
    skill = Skill.objects.order_by("pk").first()
    assert skill is not None
    make_volunteer(skills={skill: (3, True)}, offset_m=None, marker="ExampleMarker")
    made = do_create_token(
        actor=cast.users["admin_a"],
        group=cast.groups["group_a"],
        name="Example",
        scopes=["needs:read", "needs:write"],
        expires_in_days=1,
    )
    environment = {
        **os.environ,
        "HANDSUP_API_URL": live_server.url,
        "HANDSUP_API_TOKEN": made.secret,
    }
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Published: status open" in result.stdout
    assert "Shortlist: 1 people" in result.stdout
    assert "ExampleMarker" not in result.stdout
    need = Need.objects.get()
    assert need.group == cast.groups["group_a"] and need.status == Need.Status.OPEN
