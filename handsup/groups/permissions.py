"""The one place that answers "may this person do X to this group?".

Views ask `group_policy`; they never check roles by hand. Each question has two forms:
`groups_for(user, action)` gives the queryset of groups, `allows(user, action, group)`
answers for one group. Actions:

- view: see the group's public page (active and archived groups; a pending group to
  whoever asked for it and whoever may approve it; anything to a platform admin).
- organise: run the group day to day (organisers and admins of an active group).
- administer: change settings, roles and approvals (admins of an active group;
  platform admins always).
- see_figures: the group's aggregate figures (organisers and admins, admins of any
  ancestor group, platform admins).
- approve: decide on a pending group (admins of its parent; platform admins).
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q, QuerySet

from handsup.groups.models import Group, Membership, MovementRole

GroupAction = Literal["view", "organise", "see_figures", "administer", "approve"]

PRIVILEGED_GROUP_ROLES = (Membership.Role.ORGANISER, Membership.Role.ADMIN)
PUBLIC_STATUSES = (Group.Status.ACTIVE, Group.Status.ARCHIVED)


def movement_roles(user: Any) -> frozenset[str]:
    """The movement-wide roles a user holds, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_handsup_movement_roles", None)
    if cached is None:
        cached = frozenset(MovementRole.objects.filter(user=user).values_list("role", flat=True))
        user._handsup_movement_roles = cached
    return cached


def remember_roles(user: Any, *, roles: frozenset[str], privileged_member: bool) -> None:
    """Cache what `movement_roles` and `holds_privileged_role` would read, when it was read
    with the user (the sign-in backends load it with every request's user)."""
    user._handsup_movement_roles = roles
    user._handsup_privileged_member = privileged_member


def is_platform_admin(user: Any) -> bool:
    return MovementRole.Role.PLATFORM_ADMIN in movement_roles(user)


def works_on_data_protection(user: Any) -> bool:
    """Data protection officers, and platform admins: the desk, retention's reports and
    the record of processing."""
    return bool(movement_roles(user) & {MovementRole.Role.DPO, MovementRole.Role.PLATFORM_ADMIN})


def curates_stories(user: Any) -> bool:
    """Story curators, and platform admins: the stories queue, tags and support requests."""
    return bool(
        movement_roles(user) & {MovementRole.Role.CURATOR, MovementRole.Role.PLATFORM_ADMIN}
    )


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


def _admin_group_ids(user: Any) -> list[int]:
    return list(
        Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values_list(
            "group_id", flat=True
        )
    )


def descendant_ids(root_ids: list[int]) -> set[int]:
    """Ids of every group below the given ones (not including them)."""
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


class GroupPolicy:
    def groups_for(self, user: Any, action: GroupAction) -> QuerySet[Group]:
        groups: QuerySet[Group] = Group.objects.all()
        signed_in = getattr(user, "is_authenticated", False)
        platform_admin = signed_in and is_platform_admin(user)
        if action == "view":
            if platform_admin:
                return groups
            visible = Q(status__in=PUBLIC_STATUSES)
            if signed_in:
                approvable = self.groups_for(user, "approve").values("pk")
                visible |= Q(requested_by=user) | Q(pk__in=approvable)
                visible |= Q(pk__in=Membership.objects.filter(user=user).values("group_id"))
            return groups.filter(visible)
        if not signed_in:
            return groups.none()
        if action == "approve":
            pending = groups.filter(status=Group.Status.PENDING)
            if platform_admin:
                return pending
            return pending.filter(parent_id__in=_admin_group_ids(user))
        if action == "administer":
            if platform_admin:
                return groups
            return groups.filter(
                status=Group.Status.ACTIVE,
                memberships__user=user,
                memberships__role=Membership.Role.ADMIN,
            )
        if action == "organise":
            return groups.filter(
                status=Group.Status.ACTIVE,
                memberships__user=user,
                memberships__role__in=PRIVILEGED_GROUP_ROLES,
            )
        # see_figures: organisers and admins of the group, and admins of any ancestor.
        if platform_admin:
            return groups
        return groups.filter(
            Q(memberships__user=user, memberships__role__in=PRIVILEGED_GROUP_ROLES)
            | Q(pk__in=descendant_ids(_admin_group_ids(user)))
        ).distinct()

    def allows(self, user: Any, action: GroupAction, group: Group) -> bool:
        return self.groups_for(user, action).filter(pk=group.pk).exists()


group_policy = GroupPolicy()
