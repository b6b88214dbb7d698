"""The user each signed-in request loads: with their movement-wide roles and whether they
organise a group, from one statement compiled once and filled per request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from handsup.accounts import backends
from handsup.accounts.backends import RolesAccountBackend, RolesModelBackend
from handsup.accounts.models import User
from handsup.groups.models import Group, Membership, MovementRole
from handsup.groups.permissions import holds_privileged_role, movement_roles

pytestmark = pytest.mark.django_db


def _user(email: str, **fields: object) -> User:
    return User.objects.create_user(email=email, password="correct-horse-battery", **fields)


@pytest.mark.parametrize("backend", [RolesModelBackend, RolesAccountBackend])
def test_each_request_gets_its_own_user_with_their_own_roles_in_one_query(backend: type) -> None:
    group = Group.objects.create(name="Ardwick", slug="ardwick", kind=Group.Kind.BRANCH)
    plain = _user("plain@example.org")
    curator = _user("curator@example.org")
    MovementRole.objects.create(user=curator, role=MovementRole.Role.CURATOR)
    MovementRole.objects.create(user=curator, role=MovementRole.Role.DPO)
    organiser = _user("organiser@example.org")
    Membership.objects.create(user=organiser, group=group, role=Membership.Role.ORGANISER)
    member = _user("member@example.org")
    Membership.objects.create(user=member, group=group, role=Membership.Role.MEMBER)
    expected = {
        plain.pk: (frozenset(), False),
        curator.pk: (frozenset({"curator", "dpo"}), True),
        organiser.pk: (frozenset(), True),
        member.pk: (frozenset(), False),
    }
    # Twice round, in another order the second time: the compiled statement is reused, and
    # each call must still read its own person.
    for order in (list(expected), list(reversed(expected))):
        for pk in order:
            with CaptureQueriesContext(connection) as queries:
                loaded = backend().get_user(pk)
                roles, privileged = movement_roles(loaded), holds_privileged_role(loaded)
            assert loaded.pk == pk and loaded.email == User.objects.get(pk=pk).email
            assert (roles, privileged) == expected[pk]
            assert len(queries) == 1


def test_no_user_for_an_unknown_id_a_bad_id_or_a_deactivated_account() -> None:
    gone = _user("gone@example.org", is_active=False)
    backend = RolesModelBackend()
    assert backend.get_user(gone.pk) is None
    assert backend.get_user(gone.pk + 1000) is None
    assert backend.get_user("not a number") is None
    assert backend.get_user(str(_user("here@example.org").pk)) is not None


def test_without_a_compiled_statement_each_request_builds_its_own(monkeypatch) -> None:
    # Should the compiler ever not hold the id exactly once, nothing is cached as a guess:
    # every request builds the statement afresh and still gets the right person.
    monkeypatch.setattr(backends, "_USER_SQL", {})
    monkeypatch.setattr(backends.Statement, "build", classmethod(lambda cls, *args: None))
    curator = _user("curator@example.org")
    MovementRole.objects.create(user=curator, role=MovementRole.Role.CURATOR)
    plain = _user("plain@example.org")
    for pk, roles in ((curator.pk, {"curator"}), (plain.pk, set()), (curator.pk, {"curator"})):
        loaded = RolesModelBackend().get_user(pk)
        assert loaded.pk == pk and movement_roles(loaded) == frozenset(roles)
    assert backends._USER_SQL == {"default": None}
