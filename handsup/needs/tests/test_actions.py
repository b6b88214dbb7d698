"""Creating, editing, publishing and closing needs; every bad input leaves things as they were."""

from __future__ import annotations

from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import call_command

from handsup.needs.actions import (
    NeedRuleBroken,
    SkillWanted,
    TimeWindow,
    do_close_need,
    do_create_need,
    do_publish_need,
    do_update_need,
    need_details_of,
)
from handsup.needs.models import Invitation, Need, NeedSkill, NeedWindow
from handsup.places.geo import geocode
from handsup.privacy.models import AuditEntry

from .conftest import at, in_days

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[object, ...]:
    """Everything the needs actions write, to show a refused change changed nothing."""
    return (
        list(Need.objects.order_by("pk").values()),
        list(NeedSkill.objects.order_by("pk").values()),
        list(NeedWindow.objects.order_by("pk").values()),
        AuditEntry.objects.filter(action__startswith="needs.").count(),
    )


def test_a_new_need_is_a_draft_with_its_skills_and_an_audit_row(cast, remote_details):
    need = do_create_need(
        actor=cast.users["organiser_a"], group=cast.groups["group_a"], details=remote_details
    )
    assert need.status == Need.Status.DRAFT
    assert need.created_by == cast.users["organiser_a"]
    assert (need.filled_count, need.people_needed, need.weekly_slots) == (0, 3, 0b101)
    assert list(need.skills.values_list("skill_id", "min_level", "required")) == [
        (remote_details.skills[0].skill.pk, 2, True)
    ]
    entry = AuditEntry.objects.get(action="needs.created")
    assert (entry.actor, entry.group, entry.object_public_id) == (
        cast.users["organiser_a"],
        cast.groups["group_a"],
        need.public_id,
    )
    assert entry.details == {"status": "draft"}


def test_an_on_site_need_keeps_its_place_and_times(cast, remote_details, places, window):
    details = replace(
        remote_details,
        location_kind="on_site",
        place=geocode("M1 1AE"),
        radius_km=15,
        schedule_kind="windows",
        windows=(window,),
        weekly_slots=0b11,  # ignored for set times
    )
    need = do_create_need(
        actor=cast.users["organiser_a"], group=cast.groups["group_a"], details=details
    )
    assert (need.postcode, need.district, need.radius_km, need.weekly_slots) == (
        "M1 1AE",
        "M1",
        15,
        0,
    )
    assert need.eastings and need.northings
    assert [(w.starts_at, w.ends_at) for w in need.windows.all()] == [
        (window.starts_at, window.ends_at)
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"skills": ()}, "skills", "at least one skill"),
        ({"location_kind": "on_site", "radius_km": 0}, "radius_km", "from 1 to 200 km"),
        ({"location_kind": "on_site", "radius_km": 10_000}, "radius_km", "from 1 to 200 km"),
        ({"closes_on": in_days(-1)}, "closes_on", "closing date has passed"),
        ({"people_needed": 0}, "people_needed", "at least 1 person"),
        ({"people_needed": 501}, "people_needed", "at most 500"),
        ({"hours": 0}, "hours", "more than 0"),
        ({"weekly_slots": 0}, "weekly_slots", "at least one part of the week"),
        ({"schedule_kind": "windows"}, "windows", "at least one time"),
        ({"closes_on": in_days(400)}, "closes_on", "within a year"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_details_are_refused_with_a_message_and_nothing_changes(
    cast, make_need, remote_details, places, changes, field, message
):
    existing = make_need()
    if changes.get("location_kind") == "on_site":
        changes = {**changes, "place": geocode("M1")}
    bad = replace(remote_details, **changes)
    before = snapshot()
    with pytest.raises(NeedRuleBroken) as refused:
        do_create_need(actor=cast.users["organiser_a"], group=cast.groups["group_a"], details=bad)
    assert message in refused.value.problems[field]
    with pytest.raises(NeedRuleBroken):
        do_update_need(actor=cast.users["organiser_a"], need=existing, details=bad)
    assert snapshot() == before


def test_a_skill_twice_or_a_time_that_ends_first_is_refused(cast, remote_details, skills):
    twice = replace(
        remote_details,
        skills=(SkillWanted(skills[0], 2, True), SkillWanted(skills[0], 3, False)),
    )
    backwards = replace(
        remote_details, schedule_kind="windows", windows=(TimeWindow(at(3, 12), at(3, 11)),)
    )
    past = replace(
        remote_details, schedule_kind="windows", windows=(TimeWindow(at(-2, 9), at(-2, 10)),)
    )
    before = snapshot()
    for details, message in (
        (twice, "listed once"),
        (backwards, "end after it starts"),
        (past, "already passed"),
    ):
        with pytest.raises(NeedRuleBroken, match=message):
            do_create_need(
                actor=cast.users["organiser_a"], group=cast.groups["group_a"], details=details
            )
    assert snapshot() == before


def test_an_edit_records_which_parts_changed(cast, make_need, remote_details, skills):
    need = make_need()
    changed = do_update_need(
        actor=cast.users["admin_a"],
        need=need,
        details=replace(
            remote_details,
            title="Phone bank callers, evenings",
            skills=(SkillWanted(skills[1], 3, False),),
            people_needed=5,
        ),
    )
    assert changed == ["title", "skills", "effort"]
    need.refresh_from_db()
    assert (need.title, need.people_needed) == ("Phone bank callers, evenings", 5)
    assert list(need.skills.values_list("skill_id", "min_level", "required")) == [
        (skills[1].pk, 3, False)
    ]
    entry = AuditEntry.objects.get(action="needs.updated")
    assert entry.actor == cast.users["admin_a"]
    assert entry.details == {"changed": ["title", "skills", "effort"], "status": "draft"}
    # Saving the same details again changes nothing and records nothing.
    assert (
        do_update_need(actor=cast.users["admin_a"], need=need, details=need_details_of(need)) == []
    )
    assert AuditEntry.objects.filter(action="needs.updated").count() == 1


def test_people_needed_can_not_drop_below_places_already_filled(cast, make_need, remote_details):
    need = make_need()
    Need.objects.filter(pk=need.pk).update(filled_count=2)
    before = snapshot()
    with pytest.raises(NeedRuleBroken, match="at least 2"):
        do_update_need(
            actor=cast.users["organiser_a"],
            need=need,
            details=replace(remote_details, people_needed=1),
        )
    assert snapshot() == before


def test_publish_then_close(cast, make_need):
    need = make_need()
    need = do_publish_need(actor=cast.users["organiser_a"], need=need)
    assert need.status == Need.Status.OPEN and need.closed_at is None
    need = do_close_need(actor=cast.users["organiser_a"], need=need)
    assert need.status == Need.Status.CLOSED and need.closed_at is not None
    assert list(
        AuditEntry.objects.filter(object_public_id=need.public_id)
        .order_by("pk")
        .values_list("action", "details")
    ) == [
        ("needs.created", {"status": "draft"}),
        ("needs.published", {}),
        ("needs.closed", {"was": "open"}),
    ]


def test_a_closed_need_can_not_be_published_edited_or_closed_again(cast, make_need, remote_details):
    need = do_close_need(actor=cast.users["organiser_a"], need=make_need())
    before = snapshot()
    with pytest.raises(NeedRuleBroken, match="Only a draft"):
        do_publish_need(actor=cast.users["organiser_a"], need=need)
    with pytest.raises(NeedRuleBroken, match="closed, so it can't be changed"):
        do_update_need(
            actor=cast.users["organiser_a"], need=need, details=replace(remote_details, title="New")
        )
    with pytest.raises(NeedRuleBroken, match="already closed"):
        do_close_need(actor=cast.users["organiser_a"], need=need)
    assert snapshot() == before


def test_a_draft_whose_closing_date_has_passed_is_not_published(cast, make_need):
    need = make_need()
    Need.objects.filter(pk=need.pk).update(closes_on=in_days(-1))
    before = snapshot()
    with pytest.raises(NeedRuleBroken, match="closing date has passed"):
        do_publish_need(actor=cast.users["organiser_a"], need=need)
    assert snapshot() == before


def test_a_need_open_from_the_start(cast, make_need):
    need = make_need(publish=True)
    assert need.status == Need.Status.OPEN
    assert AuditEntry.objects.get(action="needs.created").details == {"status": "open"}
    assert Need.objects.open().filter(pk=need.pk).exists()
    Need.objects.filter(pk=need.pk).update(closes_on=in_days(-1))
    assert not Need.objects.open().filter(pk=need.pk).exists()


def test_the_demo_needs_are_made_once(db):
    call_command("demo_data", stdout=StringIO())
    needs = Need.objects.count()
    call_command("demo_data", stdout=StringIO())
    assert Need.objects.count() == needs == 4
    assert Need.objects.filter(status=Need.Status.DRAFT).count() == 1
    assert Need.objects.filter(location_kind="on_site", district="M1").count() == 1
    # The demo volunteer has one ask waiting for her answer, made once.
    waiting = Invitation.objects.get(user__email="volunteer@demo.handsup.invalid")
    assert waiting.status == Invitation.Status.PENDING
    assert waiting.need.title == "Stewards for the summer fair"
