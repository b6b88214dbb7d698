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
from handsup.groups.models import Membership, MovementRole
from handsup.groups.permissions import remember_roles

# Every signed-in request runs this statement, and building it through the ORM cost more
# than running it: it is compiled once per database with a stand-in id, whose place in the
# parameters each request fills with the real one.
_STAND_IN = -1_987_654_321  # within any integer column's range; no id is negative
_COMPILED: dict[str, tuple[str, list[Any], int]] = {}


def _statement(using: str) -> tuple[str, list[Any], int]:
    compiled = _COMPILED.get(using)
    if compiled is None:
        query = (
            get_user_model()
            ._default_manager.using(using)
            .filter(pk=_STAND_IN)
            .annotate(
                roles_listed=rows_of(MovementRole.objects.all(), "user_id", "pk", "role"),
                privileged_member=Exists(
                    Membership.objects.filter(user_id=OuterRef("pk")).privileged()
                ),
            )[:1]
            .query
        )
        sql, params = query.get_compiler(using).as_sql()
        [slot] = [index for index, value in enumerate(params) if value == _STAND_IN]
        compiled = _COMPILED[using] = (sql, list(params), slot)
    return compiled


def _user_with_roles(user_id: Any) -> Any:
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)  # type: ignore[union-attr]
    except Exception:
        return None
    using = router.db_for_read(user_model)
    sql, template, slot = _statement(using)
    params = list(template)
    params[slot] = pk
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
