"""The in-process matching index (`index.py`): the same shortlist as the database path,
never anyone ineligible even when stale, and fresh within two seconds of a commit made
on another connection.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.utils import timezone

from handsup.groups.models import GroupBlock, Membership
from handsup.messaging.models import CampaignPeriod
from handsup.needs import index as index_module
from handsup.needs.actions import SkillWanted, do_create_need
from handsup.needs.index import MatchingIndex, _sum_as_python_does, forget_indexes, get_index
from handsup.needs.matching import ShortlistFilters, shortlist
from handsup.needs.models import Invitation, MatchingChange, Need
from handsup.people.models import DateAway, Person, PersonSkill, Skill, SkillCategory
from handsup.privacy.consent import do_record_consent
from handsup.privacy.register import PurposeCode

from .conftest import in_days, make_volunteer, on_site_details, record_ask

# Two seconds, as issue 10 asks; the poll itself is the test, not its speed.
FRESH_WITHIN_SECONDS = 2.0


def post_need(cast: Any, taxonomy: list[Skill], **changes: Any) -> Need:
    return do_create_need(
        actor=cast.users["organiser_a"],
        group=cast.groups["group_a"],
        details=on_site_details(taxonomy, **changes),
        publish=True,
    )


def volunteers(skills: list[Skill], count: int) -> list[Any]:
    """`count` people who fit an on-site need for skills[0] at level 2, at different
    distances and levels so their scores differ."""
    return [
        make_volunteer(
            skills={skills[0]: (2 + i % 3, False), skills[1]: (1 + i % 4, True)},
            offset_m=(300 * i, -200 * i),
            availability=(1 << (i % 21)) | 0b111,
            asks_per_week=3,
        )
        for i in range(count)
    ]


def user_ids(cards: list[Any]) -> list[int]:
    return [card.user_id for card in cards]


@pytest.mark.django_db
class TestSameAsTheDatabasePath:
    def test_on_site_with_asks_outcomes_and_filters(self, cast, skills):
        people = volunteers(skills, 12)
        now = timezone.now()
        group_b = cast.groups["group_b"]
        record_ask(people[0], group_b, now - timedelta(days=3))
        record_ask(people[1], group_b, now - timedelta(days=40))
        record_ask(people[2], group_b, now - timedelta(hours=2))
        Membership.objects.create(user=people[3], group=cast.groups["group_a"])
        need = post_need(cast, skills)
        index = MatchingIndex.build()
        for filters in (
            None,
            ShortlistFilters(min_level=3),
            ShortlistFilters(max_km=2),
            ShortlistFilters(members_only=True),
        ):
            for limit in (1, 5, 50):
                expected = shortlist(need, now=now, filters=filters, limit=limit)
                assert index.shortlist(need, now=now, filters=filters, limit=limit) == expected
        assert index.size >= 12 and index.nbytes > 0

    def test_remote_need_counts_only_skills_done_remotely(self, cast, skills):
        volunteers(skills, 8)
        need = post_need(
            cast,
            skills,
            location_kind=Need.LocationKind.REMOTE,
            place=None,
            radius_km=None,
            skills=(SkillWanted(skill=skills[1], min_level=1, required=True),),
        )
        now = timezone.now()
        expected = shortlist(need, now=now)
        assert expected, "the remote-capable volunteers fit"
        assert MatchingIndex.build().shortlist(need, now=now) == expected

    def test_refresh_reloads_just_the_people_who_changed(self, cast, skills):
        people = volunteers(skills, 4)
        need = post_need(cast, skills)
        index = MatchingIndex.build()
        newcomer = volunteers(skills, 1)[0]
        person = Person.objects.get(user=people[0])
        PersonSkill.objects.filter(person=person).update(level=4)  # bulk: no signal
        PersonSkill.objects.get(person=person, skill=skills[0]).save()  # ...one is enough
        record_ask(people[1], cast.groups["group_b"], timezone.now() - timedelta(hours=1))
        # The newcomer (user, person, profile, skills, consent) and people[0].
        assert index.refresh() == 2
        now = timezone.now()
        assert index.shortlist(need, now=now) == shortlist(need, now=now)
        assert newcomer.pk in user_ids(index.shortlist(need, now=now))
        assert index.refresh() == 0

    def test_a_moment_before_the_asks_it_holds_goes_to_the_database(self, cast, skills):
        people = volunteers(skills, 4)
        need = post_need(cast, skills)
        record_ask(people[0], cast.groups["group_b"], timezone.now() - timedelta(days=29))
        index = MatchingIndex.build()
        then = timezone.now() - timedelta(days=3)
        assert index.shortlist(need, now=then) == shortlist(need, now=then)

    def test_a_rebuild_row_reloads_everyone(self, cast, skills):
        volunteers(skills, 3)
        index = MatchingIndex.build()
        MatchingChange.objects.create(user_id=None)
        assert index.refresh() == index.size == Person.objects.filter(user__isnull=False).count()

    def test_erased_people_leave_the_index(self, cast, skills):
        people = volunteers(skills, 3)
        need = post_need(cast, skills)
        index = MatchingIndex.build()
        size = index.size
        people[0].delete()
        index.refresh()
        assert index.size == size - 1
        assert people[0].pk not in user_ids(index.shortlist(need))

    def test_a_confirmed_email_address_reaches_the_index(self, cast, skills):
        """Verification is an update (no save signal): the confirmation itself is noted."""
        volunteers(skills, 2)
        (newcomer,) = volunteers(skills, 1)
        Person.objects.filter(user=newcomer).update(verified=False)
        need = post_need(cast, skills)
        index = MatchingIndex.build()
        assert newcomer.pk not in user_ids(index.shortlist(need))
        address = EmailAddress.objects.create(user=newcomer, email=newcomer.email, verified=True)
        email_confirmed.send(sender=EmailAddress, request=None, email_address=address)
        assert index.refresh() == 1
        now = timezone.now()
        assert newcomer.pk in user_ids(index.shortlist(need, now=now))
        assert index.shortlist(need, now=now) == shortlist(need, now=now)


def withdraw_consent(user: Any, cast: Any, need: Need) -> None:
    do_record_consent(
        user=user, purpose=PurposeCode.FOUND_MOVEMENT, given=False, source="web", recorded_by=user
    )


def block_group(user: Any, cast: Any, need: Need) -> None:
    GroupBlock.objects.create(user=user, group=cast.groups["group_a"])


def invite(user: Any, cast: Any, need: Need) -> None:
    now = timezone.now()
    Invitation.objects.create(
        need=need, user=user, source="ask", created_at=now, expires_at=now + timedelta(days=3)
    )


def suspend(user: Any, cast: Any, need: Need) -> None:
    user.is_active = False
    user.save()


def go_away(user: Any, cast: Any, need: Need) -> None:
    DateAway.objects.create(person=user.person, starts_on=in_days(0), ends_on=in_days(30))


def reach_ask_budget(user: Any, cast: Any, need: Need) -> None:
    for hours in (1, 2, 3):
        record_ask(user, cast.groups["group_b"], timezone.now() - timedelta(hours=hours))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [withdraw_consent, block_group, invite, suspend, go_away, reach_ask_budget],
    ids=["consent-withdrawn", "group-blocked", "invited", "suspended", "away", "ask-budget"],
)
def test_a_stale_index_never_shows_anyone_ineligible(cast, skills, change):
    people = volunteers(skills, 8)
    need = post_need(cast, skills)
    index = MatchingIndex.build()
    before = index.shortlist(need, limit=5)
    gone = [user for user in people if user.pk in user_ids(before[:2])]
    for user in gone:
        change(user, cast, need)
    # No refresh: the index still holds them as they were, the re-check does not.
    after = index.shortlist(need, limit=5)
    assert not {user.pk for user in gone} & set(user_ids(after))
    assert len(after) == 5
    assert after == shortlist(need, limit=5)


def commit_elsewhere(work: Any) -> None:
    """Run `work` in a thread with its own connection, committed when it returns."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                work()
        except BaseException as error:  # pragma: no cover - reported below
            failure.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert not failure, failure


@pytest.fixture
def own_skills(db: None) -> list[Skill]:
    """Skills made here: a test with `transaction=True` can run after another that
    flushed the tables, taking the taxonomy the migrations loaded with them."""
    category, _ = SkillCategory.objects.get_or_create(slug="zz-index", defaults={"name": "Test"})
    return [
        Skill.objects.get_or_create(
            slug=f"zz-index-{n}", defaults={"name": f"Index skill {n}", "category": category}
        )[0]
        for n in range(2)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_on_another_connection_reaches_get_index_within_2_seconds(
    standard_register, cast, own_skills, capsys
):
    skills = own_skills
    forget_indexes()
    volunteers(skills, 3)
    need = post_need(cast, skills)
    assert len(get_index().shortlist(need)) == 3
    made: list[Any] = []
    commit_elsewhere(lambda: made.extend(volunteers(skills, 1)))
    committed = time.monotonic()
    deadline = committed + FRESH_WITHIN_SECONDS
    seen_after = None
    while time.monotonic() < deadline:
        if made[0].pk in user_ids(get_index().shortlist(need)):
            seen_after = time.monotonic() - committed
            break
        time.sleep(0.05)
    forget_indexes()
    assert seen_after is not None, "the new volunteer never reached the index"
    with capsys.disabled():
        print(f"\n[index freshness on {connection.vendor}: {seen_after * 1000:.0f} ms]")


@pytest.mark.django_db
def test_dropouts_are_replaced_from_further_down_the_index_order(cast, skills, monkeypatch):
    """With no margin, the first re-check takes exactly `limit`; two of them have withdrawn
    their consent, so a second round must take the next ones in the index's order."""
    monkeypatch.setattr(index_module, "RECHECK_MARGIN", 0)
    people = volunteers(skills, 8)
    need = post_need(cast, skills)
    index = MatchingIndex.build()
    first = user_ids(index.shortlist(need, limit=3))
    for user in people:
        if user.pk in first[:2]:
            withdraw_consent(user, cast, need)
    after = index.shortlist(need, limit=3)
    assert len(after) == 3 and not set(first[:2]) & set(user_ids(after))
    assert after == shortlist(need, limit=3)


@pytest.mark.django_db
def test_a_score_the_index_has_not_caught_up_with_takes_the_careful_way(cast, skills, monkeypatch):
    """One of the first has been asked since the build: the database's score is not the
    index's, so the exact order can't be trusted and the slack re-check decides."""
    people = volunteers(skills, 6)
    need = post_need(cast, skills)
    index = MatchingIndex.build()
    first = user_ids(index.shortlist(need, limit=3))
    asked = next(user for user in people if user.pk == first[0])
    record_ask(asked, cast.groups["group_b"], timezone.now() - timedelta(days=2))
    careful: list[int] = []
    within_slack = MatchingIndex._within_slack

    def spy(self: MatchingIndex, *args: Any) -> Any:
        careful.append(1)
        return within_slack(self, *args)

    monkeypatch.setattr(MatchingIndex, "_within_slack", spy)
    now = timezone.now()
    assert index.shortlist(need, now=now, limit=3) == shortlist(need, now=now, limit=3)
    assert careful


@pytest.mark.django_db
def test_a_fresh_index_needs_no_careful_way(cast, skills, monkeypatch):
    volunteers(skills, 10)
    need = post_need(cast, skills)
    index = MatchingIndex.build()

    def refuse(*args: Any) -> Any:
        raise AssertionError("the exact order should have been trusted")

    monkeypatch.setattr(MatchingIndex, "_within_slack", refuse)
    now = timezone.now()
    for limit in (1, 4, 50):
        assert index.shortlist(need, now=now, limit=limit) == shortlist(need, now=now, limit=limit)


@pytest.mark.django_db
def test_members_only_asks_about_membership_further_down_each_time(cast, skills, monkeypatch):
    """Only the last in the order is a member: with no margin, each round asks about
    twice as many as the one before, not one more at a time."""
    monkeypatch.setattr(index_module, "RECHECK_MARGIN", 0)
    people = volunteers(skills, 12)
    need = post_need(cast, skills)
    index = MatchingIndex.build()
    now = timezone.now()
    order = user_ids(index.shortlist(need, now=now, limit=12))
    member = next(user for user in people if user.pk == order[-1])
    Membership.objects.create(user=member, group=cast.groups["group_a"])
    members_only = ShortlistFilters(members_only=True)
    asked: list[str] = []

    def count(execute: Any, sql: str, *args: Any) -> Any:
        if "groups_membership" in sql and "people_person" not in sql:
            asked.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        cards = index.shortlist(need, now=now, filters=members_only, limit=1)
    assert user_ids(cards) == [member.pk]
    assert cards == shortlist(need, now=now, filters=members_only, limit=1)
    assert len(asked) <= 5  # 1, 2, 4, 8, 16 deep: 12 people


@pytest.mark.django_db
def test_pacing_rules_are_read_once_a_second_for_every_group_without_a_campaign(
    cast, django_assert_num_queries
):
    index = MatchingIndex(DEFAULT_DB_ALIAS)
    now = timezone.now()
    first = index._ask_rules(cast.groups["group_a"], now)
    with django_assert_num_queries(0):
        other = index._ask_rules(cast.groups["group_b"], now)
    assert other == replace(first, group_id=cast.groups["group_b"].pk)


@pytest.mark.django_db
def test_a_campaign_makes_each_group_read_its_own_rules(cast):
    now = timezone.now()
    CampaignPeriod.objects.create(
        name="Push",
        group=cast.groups["group_a"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    index = MatchingIndex(DEFAULT_DB_ALIAS)
    assert index._ask_rules(cast.groups["group_a"], now).campaign is not None
    assert index._ask_rules(cast.groups["group_b"], now).campaign is None


def test_scores_add_up_as_python_sums_them():
    rng = np.random.default_rng(3)
    parts = [rng.random(2_000) * weight for weight in (0.3, 0.2, 0.2, 0.2, 0.1)]
    parts[2][:500] = 0.0
    totals = _sum_as_python_does(parts)
    assert [sum(column) for column in zip(*(p.tolist() for p in parts), strict=True)] == (
        totals.tolist()
    )
