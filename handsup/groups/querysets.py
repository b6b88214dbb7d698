from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from handsup.accounts.models import User


class GroupQuerySet(models.QuerySet[Any]):
    def active(self) -> GroupQuerySet:
        return self.filter(status="active")

    def where_user_has_role(self, user: User, roles: tuple[str, ...]) -> GroupQuerySet:
        return self.filter(memberships__user=user, memberships__role__in=roles)


class MembershipQuerySet(models.QuerySet[Any]):
    def privileged(self) -> MembershipQuerySet:
        return self.filter(role__in=("organiser", "admin"))
