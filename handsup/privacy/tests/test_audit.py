"""The audit log: who did what to which object, in which group."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from handsup.privacy.audit import record_audit
from handsup.privacy.models import AuditEntry, Purpose
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db


def test_an_action_is_recorded_with_its_actor_object_and_group(cast: Cast):
    admin, group = cast.users["admin_a"], cast.groups["group_a"]
    volunteer = cast.users["volunteer"]
    entry = record_audit(
        actor=admin,
        action="group.member_role_changed",
        obj=volunteer,
        group=group,
        details={"from": "member", "to": "organiser"},
    )
    entry.refresh_from_db()
    assert (entry.actor, entry.action, entry.group) == (admin, "group.member_role_changed", group)
    assert (entry.object_type, entry.object_public_id) == ("accounts.user", volunteer.public_id)
    assert entry.details == {"from": "member", "to": "organiser"}
    assert entry.at is not None


def test_objects_without_a_public_id_are_named_by_primary_key(cast: Cast):
    purpose = Purpose.objects.get(code="group_email")
    entry = record_audit(
        actor=cast.users["platform_admin"], action="privacy.purpose_edited", obj=purpose
    )
    assert (entry.object_type, entry.object_public_id) == ("privacy.purpose", str(purpose.pk))


def test_the_system_acts_without_an_actor():
    entry = record_audit(actor=AnonymousUser(), action="retention.group_data_removed")
    assert entry.actor is None
    assert (entry.object_type, entry.object_public_id, entry.group) == ("", "", None)
    assert entry.details == {}


@pytest.mark.parametrize("action", ["changed role", "Group.Changed", "group", "group."])
def test_actions_are_dotted_names(action):
    with pytest.raises(ValueError):
        record_audit(actor=None, action=action)
    assert not AuditEntry.objects.exists()


def test_an_unsaved_object_cannot_be_audited(cast: Cast):
    with pytest.raises(ValueError):
        record_audit(actor=None, action="privacy.purpose_added", obj=Purpose(code="new"))
