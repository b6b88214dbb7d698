"""GET /members: names and roles for all, emails only where the member agreed to share
contact details with the group; everyone returned is access-logged; other groups' members
never appear."""

from __future__ import annotations

import pytest

from handsup.accounts.models import User
from handsup.groups.models import Membership
from handsup.privacy.consent import do_record_consent
from handsup.privacy.models import AccessLogEntry
from handsup.privacy.register import PurposeCode

from .api_fixtures import *  # noqa: F403 (the token fixtures)
from .api_fixtures import make_caller

pytestmark = pytest.mark.django_db


def member(cast, email: str, *, shares: bool) -> User:
    user = User.objects.create_user(email, None, full_name=f"Member {email.split('@')[0].title()}")
    Membership.objects.create(user=user, group=cast.groups["group_a"])
    if shares:
        do_record_consent(
            user=user,
            purpose=PurposeCode.SHARE_CONTACT_WITH_GROUP,
            given=True,
            source="web",
            recorded_by=user,
            group=cast.groups["group_a"],
        )
    return user


def test_emails_only_with_consent_and_every_member_is_logged(cast, caller_a, caller_b):
    sharer = member(cast, "sharer@example.test", shares=True)
    private = member(cast, "private@example.test", shares=False)
    AccessLogEntry.objects.all().delete()
    response = caller_a.get("/members", limit=100)
    assert response.status_code == 200
    by_name = {item["name"]: item for item in response.json()["items"]}
    assert by_name[sharer.full_name]["email"] == "sharer@example.test"
    assert by_name[private.full_name]["email"] is None
    assert "private@example.test" not in response.content.decode()
    logged = set(AccessLogEntry.objects.values_list("subject_id", flat=True))
    assert {sharer.pk, private.pk} <= logged
    # Group B's token sees group B's members only.
    names_b = {item["name"] for item in caller_b.get("/members", limit=100).json()["items"]}
    assert sharer.full_name not in names_b and private.full_name not in names_b


def test_members_need_their_scope(cast):
    caller = make_caller(cast, group="group_a", creator="admin_a", scopes=["groups:read"])
    response = caller.get("/members")
    assert response.status_code == 403 and "members:read" in response.json()["detail"]
