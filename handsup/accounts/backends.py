"""Signing in, as Django's and allauth's backends do it, with one change: the user loaded
for each request brings along what every page asks of them (their movement-wide roles,
and whether they organise or administer any group), in the same query, so the navigation
and the MFA check cost no query of their own."""

from __future__ import annotations

from functools import partial
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import router
from django.db.models import Exists, OuterRef

from handsup.core.aggregates import rows_of, split_rows
from handsup.core.statements import Statement, compiled
from handsup.groups.models import Membership, MovementRole
from handsup.groups.permissions import remember_roles

# Every signed-in request runs this statement, and building it through the ORM cost more
# than running it: it is compiled once per database, and each request fills in its id.
# None: the compiler didn't hold the id once (never seen), so each request builds it.
_USER_SQL: dict[str, Statement | None] = {}


def _user_query(using: str, ids: list[Any]) -> Any:
    """The account with its movement roles listed and whether it organises a group."""
    return (
        get_user_model()
        ._default_manager.using(using)
        .filter(pk=ids[0])
        .annotate(
            roles_listed=rows_of(MovementRole.objects.all(), "user_id", "pk", "role"),
            privileged_member=Exists(
                Membership.objects.filter(user_id=OuterRef("pk")).privileged()
            ),
        )[:1]
    )


def _user_sql(using: str, pk: Any) -> tuple[str, list[Any]]:
    if using not in _USER_SQL:
        _USER_SQL[using] = Statement.build(partial(_user_query, using), 1, using)
    statement = _USER_SQL[using]
    if statement is None:
        return compiled(_user_query(using, [pk]), using)
    return statement.fill([pk])


def _user_with_roles(user_id: Any) -> Any:
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)  # type: ignore[union-attr]
    except Exception:
        return None
    using = router.db_for_read(user_model)
    sql, params = _user_sql(using, pk)
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
