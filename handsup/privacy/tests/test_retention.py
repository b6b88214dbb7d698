"""Retention that runs by itself: on the demo movement (the personas' groups) with people
of our own, the clock moved forward, exactly the right people are asked, then erased;
ex-members' holds end; expired grants close; the old access log is counted and goes; a
dry run changes nothing; the report names nobody; bad periods are refused."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import URLResolver, include, path
from django.utils import timezone

from handsup import urls as project_urls
from handsup.accounts.models import User
from handsup.core.schedule import registered_jobs
from handsup.groups.actions import add_months
from handsup.groups.models import Departure, Group, Membership, MovementLimits
from handsup.imports.models import ImportedPerson
from handsup.messaging.models import Kind, LedgerEntry, Message
from handsup.needs.actions import NeedDetails, SkillWanted, do_create_need
from handsup.needs.models import ContactGrant, Invitation, Need
from handsup.people.models import Person, Profile, Skill
from handsup.privacy import urls as privacy_urls
from handsup.privacy.models import (
    AccessLogEntry,
    AccessLogSummary,
    AuditEntry,
    ReconfirmRequest,
    RetentionRun,
)
from handsup.privacy.retention import (
    access_log_cutoff,
    months_before,
    run_daily_retention,
    run_retention,
)
from handsup.privacy.views_retention import keep_urlpatterns
from tests.fixtures import Cast

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

# This module is also the tests' URLconf: the project's, with the "Keep my account"
# routes under /my-data/ where the lead wires them (harmless once they are).
urlpatterns = [
    entry
    for entry in project_urls.urlpatterns
    if not (isinstance(entry, URLResolver) and getattr(entry, "namespace", None) == "privacy")
] + [path("my-data/", include((privacy_urls.urlpatterns + keep_urlpatterns, "privacy")))]

KEEP_URL = "/my-data/keep-my-account/"
REPORTS_URL = "/dpo/retention/"


def person(
    email: str,
    *,
    last_login: datetime | None = None,
    joined: datetime | None = None,
    claimed: bool = True,
    groups: tuple[Group, ...] = (),
) -> User:
    """A volunteer of our own, with a chosen last sign-in."""
    user = User.objects.create_user(
        email, "correct-horse-battery" if claimed else None, full_name=f"Name of {email}"
    )
    if not claimed:
        # What an import makes: an unusable password and nobody ever signed in.
        User.objects.filter(pk=user.pk).update(password=make_password(None))
    User.objects.filter(pk=user.pk).update(
        last_login=last_login, date_joined=joined or timezone.now()
    )
    person_row = Person.objects.create(user=user, display_name=f"Name of {email}")
    Profile.objects.create(person=person_row)
    for group in groups:
        Membership.objects.create(user=user, group=group)
    user.refresh_from_db()
    return user


@dataclass
class Movement:
    cast: Cast
    now: datetime
    later: datetime  # the clock moved forward
    people: dict[str, User]
    grants: dict[str, ContactGrant]

    def user(self, key: str) -> User:
        if key in self.people:
            return self.people[key]
        return self.cast.users[key]


def _grant(need: Need, user: User, *, created: datetime, expires: datetime) -> ContactGrant:
    invitation = Invitation.objects.create(
        need=need,
        user=user,
        source=Invitation.Source.ASK,
        status=Invitation.Status.ACCEPTED,
        created_at=created,
        expires_at=created + timedelta(days=14),
        answered_at=created,
    )
    return ContactGrant.objects.create(
        invitation=invitation,
        user=user,
        group=need.group,
        need=need,
        created_at=created,
        expires_at=expires,
    )


@pytest.fixture
def movement(cast: Cast) -> Movement:
    """The demo movement, plus people whose last sign-in we chose, ex-members, imported
    people, contact grants and an access log; the clock then moves on 40 days."""
    now = timezone.now()
    later = now + timedelta(days=40)
    a, b = cast.groups["group_a"], cast.groups["group_b"]
    ago = lambda months: months_before(later, months)  # noqa: E731
    people = {
        # Away: no sign-in for 25 months (as of `later`), or never since joining 26 ago.
        "away": person("away@example.org", last_login=ago(25), groups=(a,)),
        "never_signed_in": person("never@example.org", joined=ago(26), groups=(b,)),
        # Away too, but they answer: one signs in, one presses the button.
        "signs_in": person("signs-in@example.org", last_login=ago(30), groups=(a,)),
        "confirms": person("confirms@example.org", last_login=ago(27)),
        # Recently enough: 22 months (still under 24 when the 30 days are up).
        "recent": person("recent@example.org", last_login=ago(22), groups=(a,)),
        # Ex-members: one whose group's period has passed (still in group B), one not.
        "left_long_ago": person("left-long-ago@example.org", groups=(b,)),
        "left_lately": person("left-lately@example.org"),
        # Imported by group A, never claimed, left: A's hold ends, so they are erased...
        "imported_only_a": person("imported-a@example.org", claimed=False),
        # ...unless group B imported them too.
        "imported_a_and_b": person("imported-ab@example.org", claimed=False),
    }
    day_before_later = timezone.localdate(later) - timedelta(days=1)
    Departure.objects.create(user=people["left_long_ago"], group=a, retain_until=day_before_later)
    Departure.objects.create(
        user=people["left_lately"], group=b, retain_until=day_before_later + timedelta(days=60)
    )
    for key in ("imported_only_a", "imported_a_and_b"):
        Departure.objects.create(user=people[key], group=a, retain_until=day_before_later)
        ImportedPerson.objects.create(user=people[key], group=a)
    ImportedPerson.objects.create(user=people["imported_a_and_b"], group=b)
    # The group's admin is away too: asked, but erasing them is refused (A's only admin).
    User.objects.filter(pk=cast.users["admin_a"].pk).update(last_login=ago(40))

    skill = Skill.objects.order_by("pk").first()
    assert skill is not None
    need = do_create_need(
        actor=cast.users["organiser_a"],
        group=a,
        details=NeedDetails(
            title="Phone bank callers",
            description="Call members about the summer fair.",
            skills=(SkillWanted(skill=skill, min_level=2, required=True),),
            location_kind=Need.LocationKind.REMOTE,
            place=None,
            radius_km=None,
            schedule_kind=Need.ScheduleKind.ONGOING,
            weekly_slots=0b101,
            hours=Decimal("2.5"),
            people_needed=5,
            closes_on=timezone.localdate(now) + timedelta(days=30),
            visibility=Need.Visibility.MOVEMENT,
        ),
        publish=True,
    )
    grants = {
        "expires_before_later": _grant(
            need, cast.users["volunteer"], created=now, expires=now + timedelta(days=35)
        ),
        "still_current": _grant(
            need, cast.users["volunteer_other"], created=now, expires=now + timedelta(days=90)
        ),
        "revoked": _grant(need, people["recent"], created=now, expires=now + timedelta(days=20)),
    }
    ContactGrant.objects.filter(pk=grants["revoked"].pk).update(revoked_at=now)
    return Movement(cast=cast, now=now, later=later, people=people, grants=grants)


def _log_reads(movement: Movement) -> dict[str, Any]:
    """Reads 30 and 29 months back (to be counted) and one last month (to stay)."""
    cast, later = movement.cast, movement.later
    a = cast.groups["group_a"]
    old_month = months_before(later, 30)
    rows = [
        AccessLogEntry(
            actor=cast.users["organiser_a"],
            subject=cast.users["volunteer"],
            purpose="member_list",
            fields=["full_name"],
            group=a,
            at=old_month,
        )
        for _ in range(3)
    ] + [
        AccessLogEntry(
            actor=cast.users["organiser_a"],
            subject=cast.users["volunteer_no_consent"],
            purpose="people_page",
            fields=["full_name", "email"],
            group=a,
            at=months_before(later, 29),
        ),
        AccessLogEntry(
            actor=cast.users["organiser_b"],
            subject=cast.users["volunteer_other"],
            purpose="member_list",
            fields=["full_name"],
            group=cast.groups["group_b"],
            at=months_before(later, 1),
        ),
    ]
    AccessLogEntry.objects.bulk_create(rows)
    month = timezone.localtime(old_month).date().replace(day=1)
    # An earlier run already counted 5 reads of that month.
    AccessLogSummary.objects.create(month=month, group=a, purpose="member_list", reads=5)
    return {"month": month}


def table_counts() -> dict[str, Any]:
    return {
        "users": list(User.objects.order_by("pk").values_list("pk", "email", "erased_at")),
        "memberships": Membership.objects.count(),
        "departures": Departure.objects.count(),
        "imported": ImportedPerson.objects.count(),
        "requests": list(ReconfirmRequest.objects.order_by("pk").values()),
        "grants": list(ContactGrant.objects.order_by("pk").values()),
        "access_log": AccessLogEntry.objects.count(),
        "summaries": list(AccessLogSummary.objects.order_by("pk").values()),
        "messages": Message.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def asked_ids() -> set[int]:
    return set(ReconfirmRequest.objects.values_list("user_id", flat=True))


def erased_ids() -> set[int]:
    return set(User.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))


def counts(run: RetentionRun, rule: str) -> dict[str, int]:
    return next(r["counts"] for r in run.report["rules"] if r["rule"] == rule)


# --- The whole story --------------------------------------------------------------------------


def test_the_right_people_are_asked_then_erased_and_nobody_else(movement: Movement):
    m = movement
    run = run_retention(now=m.later)

    # Asked: exactly those away 24 months or more (the admin too).
    away = {"away", "never_signed_in", "signs_in", "confirms"}
    assert asked_ids() == {m.user(k).pk for k in away} | {m.user("admin_a").pk}
    assert counts(run, "inactive_volunteers")["asked"] == 5
    request = ReconfirmRequest.objects.get(user=m.user("away"))
    assert request.asked_at == m.later
    assert request.anonymise_after == m.later + timedelta(days=30)
    # One service email to them all, with the link.
    message = Message.objects.get(kind=Kind.SERVICE, subject__contains="keep your")
    assert set(message.ledger.values_list("user_id", flat=True)) == asked_ids()
    assert KEEP_URL in message.body_markdown

    # Ex-members: group A's hold on the one who left long ago ends; nobody else's.
    left = m.user("left_long_ago")
    assert not Departure.objects.filter(user=left).exists()
    assert Membership.objects.filter(user=left, group=m.cast.groups["group_b"]).exists()
    assert Departure.objects.filter(user=m.user("left_lately")).exists()
    # The import A alone held is erased; the one B imported too keeps B's link only.
    assert erased_ids() == {m.user("imported_only_a").pk}
    both = m.user("imported_a_and_b")
    assert list(ImportedPerson.objects.filter(user=both).values_list("group__slug", flat=True)) == [
        m.cast.groups["group_b"].slug
    ]
    assert counts(run, "ex_members") == {
        "departures_ended": 3,
        "import_links_removed": 2,
        "unclaimed_erased": 1,
    }

    # Grants: the expired one closes at its expiry; the current and revoked ones stay.
    grants = {k: ContactGrant.objects.get(pk=g.pk) for k, g in m.grants.items()}
    assert grants["expires_before_later"].revoked_at == grants["expires_before_later"].expires_at
    assert grants["still_current"].revoked_at is None
    assert grants["revoked"].revoked_at == m.now
    assert counts(run, "expired_grants") == {"closed": 1}

    # Meanwhile one signs in, one presses "Keep my account".
    Client().force_login(m.user("signs_in"))
    client = Client()
    client.force_login(m.user("confirms"))
    ReconfirmRequest.objects.filter(user=m.user("confirms")).update(confirmed_at=None)
    page = client.get(KEEP_URL)
    assert page.status_code == 200 and b"Keep my account" in page.content
    assert ReconfirmRequest.objects.get(user=m.user("confirms")).confirmed_at is None
    assert client.post(KEEP_URL).status_code == 302
    assert ReconfirmRequest.objects.get(user=m.user("confirms")).confirmed_at is not None

    # A day early, nobody is erased.
    run_retention(now=m.later + timedelta(days=29))
    assert erased_ids() == {m.user("imported_only_a").pk}

    # 30 days on: exactly those who did neither are erased; the sole admin is refused.
    before_erasure = erased_ids()
    run = run_retention(now=m.later + timedelta(days=31))
    assert erased_ids() - before_erasure == {m.user("away").pk, m.user("never_signed_in").pk}
    assert counts(run, "inactive_volunteers") == {
        "kept_by_signing_in": 0,
        "erased": 2,
        "erasure_refused_sole_admin": 1,
        "asked": 0,
        "waiting": 0,
    }
    assert User.objects.get(pk=m.user("admin_a").pk).erased_at is None
    for key in ("signs_in", "confirms", "recent", "left_long_ago", "left_lately"):
        assert User.objects.get(pk=m.user(key).pk).erased_at is None, key
    for key in m.cast.users:
        assert User.objects.get(pk=m.cast.users[key].pk).erased_at is None, key
    # Those who answered are not asked again on the next run.
    run = run_retention(now=m.later + timedelta(days=32))
    assert counts(run, "inactive_volunteers")["asked"] == 0


def test_signing_in_after_being_asked_keeps_the_account_even_if_the_signal_was_missed(
    movement: Movement,
):
    m = movement
    run_retention(now=m.later)
    # A sign-in recorded without the signal (another process, say).
    User.objects.filter(pk=m.user("away").pk).update(last_login=m.later + timedelta(days=3))
    run = run_retention(now=m.later + timedelta(days=31))
    assert counts(run, "inactive_volunteers")["kept_by_signing_in"] == 1
    assert User.objects.get(pk=m.user("away").pk).erased_at is None
    request = ReconfirmRequest.objects.get(user=m.user("away"))
    assert request.confirmed_at == m.later + timedelta(days=3)


def test_a_run_erases_at_most_its_share_and_leaves_the_rest_for_the_next(
    movement: Movement, monkeypatch: Any
):
    m = movement
    monkeypatch.setattr("handsup.privacy.retention.ERASURES_PER_RUN", 1)
    run_retention(now=m.later)
    already = erased_ids()
    run = run_retention(now=m.later + timedelta(days=31))
    assert counts(run, "inactive_volunteers")["erasure_deferred"] == 3
    assert len(erased_ids() - already) == 1
    run_retention(now=m.later + timedelta(days=32))
    run_retention(now=m.later + timedelta(days=33))
    run_retention(now=m.later + timedelta(days=34))
    gone = {m.user(k).pk for k in ("away", "never_signed_in", "signs_in", "confirms")}
    assert erased_ids() - already == gone


def test_the_access_log_is_counted_and_the_old_rows_go(movement: Movement):
    m = movement
    month = _log_reads(m)["month"]
    total_before = AccessLogEntry.objects.count()
    run = run_retention(now=m.later)
    cutoff = access_log_cutoff(m.later, 24)
    assert not AccessLogEntry.objects.filter(at__lt=cutoff).exists()
    assert AccessLogEntry.objects.count() == total_before - 4
    summaries = {
        (s.month, s.group.slug if s.group else None, s.purpose): s.reads
        for s in AccessLogSummary.objects.select_related("group")
    }
    slug = m.cast.groups["group_a"].slug
    next_month = add_months(month, 1)
    assert summaries == {(month, slug, "member_list"): 5 + 3, (next_month, slug, "people_page"): 1}
    assert counts(run, "access_log") == {"rows_summarised": 4, "summaries": 2}


def test_a_dry_run_changes_nothing_and_says_what_it_would_do(movement: Movement):
    m = movement
    _log_reads(m)
    before = table_counts()
    runs = RetentionRun.objects.count()
    dry = run_retention(now=m.later, dry_run=True)
    assert table_counts() == before
    assert RetentionRun.objects.count() == runs + 1 and dry.dry_run
    # What it said it would do is what the real run then does.
    real = run_retention(now=m.later)
    for rule in ("ex_members", "expired_grants", "access_log"):
        assert counts(dry, rule) == counts(real, rule), rule
    assert (
        counts(dry, "inactive_volunteers")["asked"] == counts(real, "inactive_volunteers")["asked"]
    )


def test_the_report_names_nobody(movement: Movement):
    m = movement
    _log_reads(m)
    run_retention(now=m.later)
    run = run_retention(now=m.later + timedelta(days=31))
    text = json.dumps(run.report)
    everyone = list(m.people.values()) + list(m.cast.users.values())
    for user in everyone:
        for value in (user.email, user.full_name, user.public_id, f'"{user.pk}"'):
            assert value not in text
    for group in m.cast.groups.values():
        assert group.name not in text and group.slug not in text
    assert all(r["lines"] for r in run.report["rules"])


# --- The schedule and the command ------------------------------------------------------------


def test_retention_runs_daily_on_the_schedule(movement: Movement):
    job = registered_jobs()["handsup.privacy.retention.run_daily_retention"]
    assert job.every == timedelta(days=1)
    assert "done" in str(run_daily_retention())
    assert RetentionRun.objects.filter(dry_run=False).exists()


def test_the_command_prints_the_report(movement: Movement):
    m = movement
    out = io.StringIO()
    day = timezone.localdate(m.later).isoformat()
    call_command("retention", "--dry-run", "--as-of", day, stdout=out)
    text = out.getvalue()
    assert "Dry run: nothing was changed." in text
    assert "5 had not signed in for 24 months" in text
    assert "3 ex-members' records ended" in text
    assert not ReconfirmRequest.objects.exists()
    out = io.StringIO()
    call_command("retention", stdout=out)
    assert "Applied." in out.getvalue()


def test_the_command_refuses_a_later_day_without_dry_run_and_a_bad_date(movement: Movement):
    day = (timezone.localdate() + timedelta(days=400)).isoformat()
    with pytest.raises(CommandError, match="--dry-run"):
        call_command("retention", "--as-of", day)
    with pytest.raises(CommandError, match="a date like"):
        call_command("retention", "--dry-run", "--as-of", "31/12/2027")
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("months", [0, 1000])
@pytest.mark.parametrize("name", ["HANDSUP_INACTIVE_MONTHS", "HANDSUP_ACCESS_LOG_MONTHS"])
def test_a_period_of_0_or_1000_months_is_refused_with_nothing_changed(
    movement: Movement, settings: Any, name: str, months: int
):
    setattr(settings, name, months)
    before = table_counts()
    with pytest.raises(CommandError) as error:
        call_command("retention", stdout=io.StringIO())
    assert str(error.value) == (
        f"{name} is {months}: it must be a whole number of months from 1 to 120. "
        "Nothing was changed."
    )
    assert table_counts() == before
    assert not RetentionRun.objects.exists()
    assert str(run_daily_retention()).startswith("not run:")
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("months", [0, 1000])
def test_a_group_retention_of_0_or_1000_months_is_refused_with_nothing_changed(
    cast: Cast, months: int
):
    group = cast.groups["group_a"]
    before = Group.objects.filter(pk=group.pk).values().get()
    response = cast.client_for("admin_a").post(
        f"/groups/manage/{group.public_id}/settings/",
        {
            "description": "New words",
            "join_policy": "open",
            "updates_per_week_normal": 1,
            "updates_per_week_campaign": 2,
            "retention_months": months,
        },
    )
    assert response.status_code == 400
    expected = (
        "at least 1 month"
        if months == 0
        else f"at most {MovementLimits.current().max_retention_months} months"
    )
    assert expected in response.content.decode()
    assert Group.objects.filter(pk=group.pk).values().get() == before


@pytest.mark.parametrize("months", [0, 1000])
def test_a_movement_limit_of_0_or_1000_months_is_refused(cast: Cast, months: int):
    from handsup.groups.forms import MovementLimitsForm

    form = MovementLimitsForm(
        data={
            "updates_per_week_normal": 1,
            "updates_per_week_campaign": 3,
            "max_retention_months": months,
        },
        instance=MovementLimits.current(),
    )
    assert not form.is_valid()
    assert "max_retention_months" in form.errors


# --- The pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["dpo", "platform_admin"])
def test_dpos_and_platform_admins_read_the_reports(
    movement: Movement, key: str, django_assert_num_queries: Any
):
    run_retention(now=movement.later, dry_run=True)
    run_retention(now=movement.later)
    client = movement.cast.client_for(key)
    client.get(REPORTS_URL)  # warm the session and the caches
    with django_assert_num_queries(4):
        response = client.get(REPORTS_URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "dry run: nothing was changed" in page
    assert "had not signed in for 24 months" in page


@pytest.mark.parametrize(
    "key",
    ["anonymous", "volunteer", "organiser_a", "admin_a", "admin_parent", "curator"],
)
def test_nobody_else_reads_the_reports(movement: Movement, key: str):
    run_retention(now=movement.later)
    response = movement.cast.client_for(key).get(REPORTS_URL)
    assert response.status_code in {302, 403, 404}
    assert b"had not signed in" not in response.content


def test_the_keep_page_is_for_the_signed_in_person_and_a_get_changes_nothing(
    movement: Movement,
):
    m = movement
    run_retention(now=m.later)
    response = Client().get(KEEP_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # Signing in answers the question by itself.
    client = Client()
    client.force_login(m.user("away"))
    assert ReconfirmRequest.objects.get(user=m.user("away")).confirmed_at is not None
    page = client.get(KEEP_URL).content.decode()
    assert "Your account stays" in page
    # Someone still signed in from before: the button answers it.
    ReconfirmRequest.objects.filter(user=m.user("away")).update(confirmed_at=None)
    before = table_counts()
    assert "Keep my account" in client.get(KEEP_URL).content.decode()
    assert table_counts() == before
    response = client.post(KEEP_URL, follow=True)
    assert "Thank you: your account stays." in response.content.decode()
    assert ReconfirmRequest.objects.get(user=m.user("away")).confirmed_at is not None
    assert AuditEntry.objects.filter(action="privacy.account_kept").count() == 1


def test_as_of_means_that_day_at_the_current_time():
    from handsup.privacy.management.commands.retention import _as_of

    moment = _as_of("2027-03-31")
    assert timezone.localtime(moment).date() == date(2027, 3, 31)


def test_months_before_keeps_to_the_months_last_day():
    moment = timezone.make_aware(datetime(2027, 3, 31, 12, 0))
    assert timezone.localtime(months_before(moment, 1)).date() == date(2027, 2, 28)
