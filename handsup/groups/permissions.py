"""The one place that answers "may this person do X to this group?".

Views ask `group_policy`; they never check roles by hand. Each question has two forms:
`allows(user, action, group)` for one row and `groups_for(user, action)` for a queryset.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q

from handsup.groups.models import Group, Membership, MovementRole

GroupAction = Literal["view", "organise", "see_figures", "administer"]

PRIVILEGED_GROUP_ROLES = (Membership.Role.ORGANISER, Membership.Role.ADMIN)


def movement_roles(user: Any) -> frozenset[str]:
    """The movement-wide roles a user holds, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_handsup_movement_roles", None)
    if cached is None:
        cached = frozenset(MovementRole.objects.filter(user=user).values_list("role", flat=True))
        user._handsup_movement_roles = cached
    return cached


def is_platform_admin(user: Any) -> bool:
    return MovementRole.Role.PLATFORM_ADMIN in movement_roles(user)


def holds_privileged_role(user: Any) -> bool:
    """Organisers, admins and every movement-wide role must enrol MFA."""
    if not getattr(user, "is_authenticated", False):
        return False
    if movement_roles(user) or user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_handsup_privileged_member", None)
    if cached is None:
        cached = Membership.objects.filter(user=user).privileged().exists()
        user._handsup_privileged_member = cached
    return bool(cached)


class GroupPolicy:
    def groups_for(self, user: Any, action: GroupAction) -> Any:
        groups = Group.objects.all()
        if action == "view":
            return groups.active()
        if not getattr(user, "is_authenticated", False):
            return groups.none()
        if is_platform_admin(user) and action in ("see_figures", "administer"):
            return groups
        if action == "organise":
            return groups.where_user_has_role(user, PRIVILEGED_GROUP_ROLES)
        if action == "administer":
            return groups.where_user_has_role(user, (Membership.Role.ADMIN,))
        # see_figures: organisers of the group, and admins of any ancestor group.
        admin_of = list(
            Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values_list(
                "group_id", flat=True
            )
        )
        return groups.filter(
            Q(memberships__user=user, memberships__role__in=PRIVILEGED_GROUP_ROLES)
            | Q(pk__in=_descendant_ids(admin_of))
        ).distinct()

    def allows(self, user: Any, action: GroupAction, group: Group) -> bool:
        return self.groups_for(user, action).filter(pk=group.pk).exists()


def _descendant_ids(root_ids: list[int]) -> set[int]:
    # The tree is shallow (national → region → constituency → branch), so a few
    # set-based passes are cheaper than a recursive query that SQLite and PostgreSQL
    # would each spell differently.
    found: set[int] = set()
    frontier = set(root_ids)
    while frontier:
        children = set(Group.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier = children - found
        found |= children
    return found


group_policy = GroupPolicy()
