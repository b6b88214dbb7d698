"""Two real `handsup worker` processes on PostgreSQL build and send digests: everyone
gets exactly one for the period, however the two workers' runs overlap."""

from __future__ import annotations

import json
import time

import pytest

from tests.test_workers import _handsup, two_workers, worker_env

__all__ = ["worker_env"]

pytestmark = [pytest.mark.workers, pytest.mark.postgresql]

PEOPLE = 600

# Volunteers (no quiet hours near now, joined long ago), each with one group update
# pacing folded for them yesterday: every one of them has a digest due this week.
SEED = f"""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo
from django.db import transaction
from handsup.accounts.models import User
from handsup.groups.models import Group
from handsup.messaging.models import LedgerEntry, Message
from handsup.people.models import Person, Profile

now = datetime.now(UTC)
quiet = (now.astimezone(ZoneInfo("Europe/London")) + timedelta(hours=12)).time()
quiet_from = time(quiet.hour, 0)
quiet_until = time(quiet.hour, 30)
with transaction.atomic():
    group = Group.objects.create(name="Riverside", slug="riverside", kind="branch")
    update = Message.objects.create(
        kind="group_update", group=group, subject="Canvassing on Saturday",
        body_markdown="Meet at the library at **10am**.", sent_at=now - timedelta(days=1),
    )
    users = User.objects.bulk_create(
        User(email=f"v{{n}}@test.handsup.invalid", date_joined=datetime(2020, 1, 1, tzinfo=UTC))
        for n in range({PEOPLE})
    )
    people = Person.objects.bulk_create(
        Person(user=user, display_name=f"Volunteer {{n}}") for n, user in enumerate(users)
    )
    Profile.objects.bulk_create(
        Profile(person=person, quiet_from=quiet_from, quiet_until=quiet_until)
        for person in people
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            user=user, message=update, kind="group_update", group=group,
            at=now - timedelta(days=1), decision="folded", reason="over_budget_day",
        )
        for user in users
    )
print("seeded")
"""

QUERY = """
import json
from django.db.models import Count
from handsup.core.models import JobRun
from handsup.messaging.models import Digest, LedgerEntry, OutboxItem

digests = Digest.objects.all()
ledger = LedgerEntry.objects.filter(kind="digest")
outbox = OutboxItem.objects.filter(message__kind="digest")
print(json.dumps({
    "digests": digests.count(),
    "digest_people": digests.values("user_id").distinct().count(),
    "most_digests_per_person": max(
        digests.values("user_id").annotate(n=Count("id")).values_list("n", flat=True),
        default=0,
    ),
    "ledger": ledger.count(),
    "ledger_people": ledger.values("user_id").distinct().count(),
    "ledger_decisions": sorted(set(ledger.values_list("decision", flat=True))),
    "outbox": outbox.count(),
    "outbox_people": outbox.values("user_id").distinct().count(),
    "outbox_sent": outbox.filter(status="sent").count(),
    "most_attempts": max(outbox.values_list("attempts", flat=True), default=0),
    "folded_settled": LedgerEntry.objects.filter(
        decision="folded", digest__isnull=False
    ).count(),
    "digest_runs_that_settled_someone": digests.values("message_id").distinct().count(),
    "digest_job_claims": sorted(
        set(JobRun.objects.filter(job__endswith="send_digests").values_list(
            "claimed_by", flat=True))
    ),
}))
"""


def _facts(env: dict[str, str]) -> dict:
    output = _handsup(env, "shell", "--no-imports", "-c", QUERY).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_two_workers_send_each_person_one_digest_for_the_period(worker_env: dict[str, str]):
    env = {
        **worker_env,
        "HANDSUP_DIGEST_EVERY_SECONDS": "1",
        # Small batches: a run takes longer than a period, so the two workers' runs
        # overlap and both go after the same people.
        "HANDSUP_DIGEST_BATCH_SIZE": "20",
    }
    assert "seeded" in _handsup(env, "shell", "--no-imports", "-c", SEED).stdout
    with two_workers(env):
        deadline = time.monotonic() + 150
        facts = _facts(env)
        while time.monotonic() < deadline and facts["outbox_sent"] < PEOPLE:
            time.sleep(2)
            facts = _facts(env)
        # Let more runs come round after everyone was served: they must find nobody due.
        time.sleep(3)

    facts = _facts(env)
    print(facts)
    assert facts["digests"] == facts["digest_people"] == PEOPLE, facts
    assert facts["most_digests_per_person"] == 1
    assert facts["ledger"] == facts["ledger_people"] == PEOPLE
    assert facts["ledger_decisions"] == ["sent"]
    assert facts["outbox"] == facts["outbox_people"] == facts["outbox_sent"] == PEOPLE
    assert facts["most_attempts"] == 1
    assert facts["folded_settled"] == PEOPLE
    assert set(facts["digest_job_claims"]) == {"worker-one", "worker-two"}
