"""Signing in, as Django's and allauth's backends do it, with one change: the user loaded
for each request brings along what every page asks of them (their movement-wide roles,
and whether they organise or administer any group), in the same query, so the navigation
and the MFA check cost no query of their own."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef

from handsup.core.aggregates import rows_of, split_rows
from handsup.groups.models import Membership, MovementRole
from handsup.groups.permissions import remember_roles


def _user_with_roles(user_id: Any) -> Any:
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)  # type: ignore[union-attr]
    except Exception:
        return None
    user = (
        user_model._default_manager.filter(pk=pk)
        .annotate(
            roles_listed=rows_of(MovementRole.objects.all(), "user_id", "pk", "role"),
            privileged_member=Exists(
                Membership.objects.filter(user_id=OuterRef("pk")).privileged()
            ),
        )
        .first()
    )
    if user is not None:
        remember_roles(
            user,
            roles=frozenset(role for (role,) in split_rows(user.roles_listed)),
            privileged_member=user.privileged_member,
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
