"""The foundation's promises: deploy checks, private files, opaque ids, demo mail."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client, override_settings

from handsup.accounts.models import User
from handsup.core.models import DemoMail, PrivateFile
from handsup.core.personas import PERSONAS, build_demo_groups
from handsup.core.storage import private_storage
from handsup.groups.models import Group, Membership, MovementRole


def test_deploy_checks_pass_on_production_settings_with_nothing_silenced():
    # Only what an operator would set: nothing the test run itself put in the environment.
    leave_out = {"HANDSUP_DEMO", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in leave_out}
    result = subprocess.run(
        [sys.executable, "-m", "handsup.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"HANDSUP_DEMO", "DEBUG", "SECRET_KEY", "HANDSUP_TESTING"}
    }
    result = subprocess.run(
        [sys.executable, "-c", "import handsup.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_the_command_says_what_to_set_without_a_traceback():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"HANDSUP_DEMO", "DEBUG", "SECRET_KEY", "HANDSUP_TESTING"}
    }
    result = subprocess.run(
        [sys.executable, "-m", "handsup.cli", "migrate", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("handsup: SECRET_KEY is not set.")
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.django_db
def test_private_files_have_no_url_and_are_served_only_to_those_allowed(cast):
    stored = PrivateFile.objects.create(
        name="members.csv",
        content_type="text/csv",
        owner=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        file=ContentFile(b"name\nsomeone\n", name="members.csv"),
    )
    with pytest.raises(ValueError, match="no public URL"):
        private_storage().url(stored.file.name)
    response = cast.client_for("admin_a").get(f"/files/{stored.public_id}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"name\nsomeone\n"
    assert "attachment" in response["Content-Disposition"]
    # Group B's organiser gets the same answer as for a file that does not exist.
    other = cast.client_for("organiser_b")
    assert other.get(f"/files/{stored.public_id}/").status_code == 404
    assert other.get("/files/no-such-file/").status_code == 404


@pytest.mark.django_db
def test_urls_use_opaque_ids_not_sequential_numbers(cast):
    group = cast.groups["group_a"]
    client = cast.client_for("organiser_a")
    assert client.get(f"/groups/manage/{group.public_id}/").status_code == 200
    assert client.get(f"/groups/manage/{group.pk}/").status_code == 404
    assert len(group.public_id) >= 16 and not group.public_id.isdigit()
    assert User.objects.filter(public_id="").count() == 0


@pytest.mark.django_db
def test_demo_data_can_be_loaded_twice_without_duplicates():
    call_command("demo_data", stdout=io.StringIO())
    counts = (
        User.objects.count(),
        Group.objects.count(),
        Membership.objects.count(),
        MovementRole.objects.count(),
    )
    call_command("demo_data", stdout=io.StringIO())
    assert counts == (
        User.objects.count(),
        Group.objects.count(),
        Membership.objects.count(),
        MovementRole.objects.count(),
    )
    assert counts[0] == len(PERSONAS)


@pytest.mark.django_db
def test_demo_mail_is_kept_and_shown_only_in_demo_mode():
    demo_mailer = {"default": {"BACKEND": "handsup.core.mail.DemoEmailBackend"}}
    with override_settings(MAILERS=demo_mailer, DEMO_MODE=True):
        mail.send_mail("Welcome", "Confirm at http://x.invalid/", None, ["vera@example.org"])
        response = Client().get("/demo/sent-mail/")
    assert DemoMail.objects.get().subject == "Welcome"
    assert response.status_code == 200
    assert b"vera@example.org" in response.content
    with override_settings(DEMO_MODE=False):
        assert Client().get("/demo/sent-mail/").status_code == 404


@pytest.mark.django_db
def test_health_endpoint_reports_the_database():
    build_demo_groups()
    response = Client().get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] in {"sqlite", "postgresql"}


@pytest.mark.django_db
def test_html_pages_carry_a_csp_with_a_fresh_nonce_for_htmx():
    first = Client().get("/")
    second = Client().get("/")
    policy = first["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "default-src 'self'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in first.content.decode()
    assert nonce not in second["Content-Security-Policy"]
    assert b"htmx" in first.content


@pytest.mark.django_db
def test_your_hands_up_page_lists_groups_in_a_fixed_number_of_queries(
    cast, django_assert_num_queries
):
    client = cast.client_for("organiser_a")
    client.get("/me/")  # warm the session
    # session, user (with their movement roles and whether they organise a group),
    # MFA enrolment, memberships (with their groups), the page's own movement-role
    # list, and open invitations to join groups (with their groups).
    with django_assert_num_queries(6) as captured:
        response = client.get("/me/")
    assert response.status_code == 200
    assert cast.groups["group_a"].name.encode() in response.content
    first = len(captured.captured_queries)
    # More groups, same number of queries.
    from handsup.groups.models import Group, Membership

    for index in range(5):
        extra = Group.objects.create(name=f"Extra {index}", slug=f"extra-{index}", kind="branch")
        Membership.objects.create(user=cast.users["organiser_a"], group=extra, role="member")
    with django_assert_num_queries(first):
        client.get("/me/")
