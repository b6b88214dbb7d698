"""A material edit (times, place, skills) tells the people invited; other edits don't."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.utils import timezone

from handsup.messaging.models import Kind, Message
from handsup.needs.actions import SkillWanted, do_update_need, need_details_of
from handsup.needs.edits import EditTold, material_parts, tell_invitees_of_edit
from handsup.needs.models import Invitation, Need
from handsup.privacy.models import AuditEntry

from .conftest import form_data, make_volunteer
from .test_afterwards import invite, notes_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(cast: Any, make_need: Any) -> dict[str, Invitation]:
    """An open need with someone in every state: asked and waiting, an offer waiting,
    said yes (twice), said no and withdrawn."""
    need = make_need(publish=True)
    organiser = cast.users["organiser_a"]
    return {
        "waiting": invite(need, make_volunteer(), status="pending", invited_by=organiser),
        "offer": invite(need, make_volunteer(), status="pending", source="offer"),
        "yes": invite(need, cast.users["volunteer"], invited_by=organiser),
        "yes_no_grant": invite(need, make_volunteer(), grant=False, invited_by=organiser),
        "no": invite(need, make_volunteer(), status="declined", invited_by=organiser),
        "withdrawn": invite(need, make_volunteer(), status="withdrawn", invited_by=organiser),
    }


def _edit(cast: Any, need: Need, **changes: Any) -> list[str]:
    details = replace(need_details_of(need), **changes)
    return do_update_need(actor=cast.users["organiser_a"], need=need, details=details)


@pytest.mark.parametrize(
    ("change", "part", "described"),
    [
        ({"weekly_slots": 0b11000}, "time", "when it happens"),
        ({"skills": "second"}, "skills", "the skills it asks for"),
    ],
    ids=["time", "skills"],
)
def test_a_material_edit_tells_the_waiting_and_asks_the_yeses_to_confirm(
    cast, invited, skills, change, part, described
):
    need = invited["yes"].need
    if change.get("skills") == "second":
        change = {"skills": (SkillWanted(skill=skills[1], min_level=1, required=True),)}
    before = timezone.now()
    assert _edit(cast, need, **change) == [part]
    for key in ("waiting", "offer"):
        (note,) = notes_to(invited[key].user, "has changed")
        assert note.subject == "“Phone bank callers” has changed"
        assert described in note.body_markdown
        assert f"/needs/{need.public_id}/" in note.body_markdown
    for key in ("yes", "yes_no_grant"):
        (note,) = notes_to(invited[key].user, "Please confirm again")
        assert f"/needs/{need.public_id}/answer/" in note.body_markdown
        assert described in note.body_markdown
        invited[key].refresh_from_db()
        assert invited[key].reconfirm_requested_at is not None
        assert invited[key].reconfirm_requested_at >= before
        assert invited[key].status == Invitation.Status.ACCEPTED  # still a yes until they say
    for key in ("no", "withdrawn"):
        assert notes_to(invited[key].user) == []
        invited[key].refresh_from_db()
        assert invited[key].reconfirm_requested_at is None
    # One note for the waiting, one for the yeses: two messages, not one per person.
    assert Message.objects.filter(kind=Kind.SERVICE).count() == 2
    audit = AuditEntry.objects.get(action="needs.invitees_told_of_edit")
    assert audit.details == {"changed": [part], "pending": 2, "reconfirm": 2}


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Phone bank callers, autumn"},
        {"description": "Call members about the autumn fair."},
        {"people_needed": 5},
        {"visibility": Need.Visibility.MEMBERS},
    ],
    ids=["title", "description", "people-needed", "visibility"],
)
def test_other_edits_tell_nobody(cast, invited, change):
    need = invited["yes"].need
    assert _edit(cast, need, **change) != []
    assert not Message.objects.filter(kind=Kind.SERVICE).exists()
    assert not Invitation.objects.filter(reconfirm_requested_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="needs.invitees_told_of_edit").exists()


def test_a_material_edit_with_nobody_invited_sends_nothing(cast, make_need):
    need = make_need(publish=True)
    assert _edit(cast, need, weekly_slots=0b1) == ["time"]
    assert not Message.objects.exists()


def test_several_parts_are_named_together(cast, invited, skills):
    need = invited["yes"].need
    told = tell_invitees_of_edit(
        actor=cast.users["organiser_a"], need=need, changed=["title", "skills", "time", "place"]
    )
    assert told == EditTold(pending=2, reconfirm=2)
    assert told.total == 4
    (note,) = notes_to(invited["waiting"].user)
    assert "when it happens, where it is and the skills it asks for" in note.body_markdown


def test_material_parts_keep_their_order():
    assert material_parts(["skills", "title", "time"]) == ["time", "skills"]
    assert material_parts(["title", "effort"]) == []


def _remote_form(skills: Any, need: Need, **changes: Any) -> dict[str, Any]:
    """The edit form as posted for `make_need`'s remote, ongoing need."""
    values: dict[str, Any] = {
        "title": need.title,
        "description": need.description,
        "level_0": "2",
        "skill_1": "",
        "level_1": "",
        "must_1": "",
        "location_kind": "remote",
        "place": "",
        "radius_km": "",
        "schedule_kind": "ongoing",
        "slots": ["0", "2"],
        "window_0_start": "",
        "window_0_end": "",
        "hours": "2.5",
        "people_needed": "3",
        "closes_on": need.closes_on.isoformat(),
    }
    return form_data(skills, **{**values, **changes})


def test_the_edit_page_says_how_many_were_told(cast, invited, skills):
    need = invited["yes"].need
    client = cast.client_for("organiser_a")
    url = f"/groups/manage/{need.group.public_id}/needs/{need.public_id}/edit/"
    unchanged = client.post(url, _remote_form(skills, need), follow=True)
    assert "Nothing was changed." in unchanged.content.decode()
    response = client.post(url, _remote_form(skills, need, slots=["0", "2", "5"]), follow=True)
    page = response.content.decode()
    assert "We told 4 invitees about the change." in page
    assert len(notes_to(invited["waiting"].user, "has changed")) == 1
    retitled = client.post(
        url, _remote_form(skills, need, title="New title", slots=["0", "2", "5"]), follow=True
    )
    assert "invitees about the change" not in retitled.content.decode()
    assert len(notes_to(invited["waiting"].user)) == 1


def test_a_lapsed_ask_is_not_told(cast, make_need):
    need = make_need(publish=True)
    lapsed = invite(need, make_volunteer(), status="pending", days_ago=20)
    assert _edit(cast, need, weekly_slots=0b1) == ["time"]
    assert notes_to(lapsed.user) == []
