"""Group updates through the API: preview sends nothing, send goes through pacing as
the compose page does; the form's rules come back per field; scope and audit."""

from __future__ import annotations

import pytest

from handsup.groups.models import Membership
from handsup.messaging.models import LedgerEntry, Message
from handsup.privacy.models import AuditEntry

from .api_fixtures import *  # noqa: F403 (the token fixtures)
from .api_fixtures import make_caller

pytestmark = pytest.mark.django_db

UPDATE = {"subject": "Summer fair", "body": "We need **stewards** on Saturday."}


def test_preview_sends_nothing_and_send_goes_through_pacing(cast, caller_a):
    members = Membership.objects.filter(group=cast.groups["group_a"]).count()
    response = caller_a.post("/updates/preview", UPDATE)
    assert response.status_code == 200, response.content
    assert response.json()["recipients"] == members
    assert not Message.objects.exists() and not LedgerEntry.objects.exists()
    sent = caller_a.post("/updates", UPDATE)
    assert sent.status_code == 201, sent.content
    message = Message.objects.get()
    assert sent.json()["id"] == message.public_id
    assert message.group == cast.groups["group_a"] and message.author == cast.users["admin_a"]
    assert LedgerEntry.objects.filter(message=message).count() == members
    audit = AuditEntry.objects.get(action="api.update_sent")
    assert audit.details == {"via": "api", "token": caller_a.token.prefix}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"audience": "skill"}, "skill"),
        ({"audience": "area"}, "area"),
        ({"audience": "area", "area": "ZZ9"}, "audience"),
        ({"body": "<script>alert(1)</script>"}, "body"),
        ({"subject": ""}, "subject"),
        ({"cc": "everyone"}, "cc"),
    ],
)
def test_bad_updates_are_422_per_field(caller_a, changes, field):
    response = caller_a.post("/updates", {**UPDATE, **changes})
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()
    assert not Message.objects.exists()


def test_updates_need_their_scope(cast, caller_read_only):
    assert caller_read_only.post("/updates/preview", UPDATE).status_code == 403
    caller = make_caller(cast, group="group_a", creator="admin_a", scopes=["needs:write"])
    assert caller.post("/updates", UPDATE).status_code == 403
    assert not Message.objects.exists()
