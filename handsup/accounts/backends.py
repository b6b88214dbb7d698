"""Signing in, as Django's and allauth's backends do it, with one change: the user loaded
for each request brings along what every page asks of them (their movement-wide roles,
and whether they organise or administer any group), in the same query, so the navigation
and the MFA check cost no query of their own."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import router
from django.db.models import Exists, OuterRef

from handsup.core.aggregates import rows_of, split_rows
from handsup.core.statements import Statement
from handsup.groups.models import Membership, MovementRole
from handsup.groups.permissions import remember_roles

# Every signed-in request runs this statement, and building it through the ORM cost more
# than running it: it is compiled once per database, and each request fills in its id.
_USER_SQL: dict[str, Statement] = {}


def _statement(using: str) -> Statement:
    statement = _USER_SQL.get(using)
    if statement is None:
        built = Statement.build(
            lambda ids: (
                get_user_model()
                ._default_manager.using(using)
                .filter(pk=ids[0])
                .annotate(
                    roles_listed=rows_of(MovementRole.objects.all(), "user_id", "pk", "role"),
                    privileged_member=Exists(
                        Membership.objects.filter(user_id=OuterRef("pk")).privileged()
                    ),
                )[:1]
            ),
            1,
            using,
        )
        assert built is not None, "The user's statement holds its id once."
        statement = _USER_SQL[using] = built
    return statement


def _user_with_roles(user_id: Any) -> Any:
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)  # type: ignore[union-attr]
    except Exception:
        return None
    using = router.db_for_read(user_model)
    sql, params = _statement(using).fill([pk])
    user: Any = next(iter(user_model._default_manager.raw(sql, params).using(using)), None)
    if user is not None:
        remember_roles(
            user,
            roles=frozenset(role for (role,) in split_rows(user.roles_listed)),
            # SQLite gives EXISTS as 0 or 1, and a raw query converts only model fields.
            privileged_member=bool(user.privileged_member),
        )
    return user


class RolesModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = _user_with_roles(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class RolesAccountBackend(AllauthBackend):
    def get_user(self, user_id: Any) -> Any:
        user = _user_with_roles(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
