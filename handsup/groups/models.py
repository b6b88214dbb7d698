"""The movement's groups, memberships and movement-wide roles.

This is the minimum the foundation needs (personas, navigation, MFA enforcement); the
groups issue adds areas, policies, approvals and branding.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.groups.querysets import GroupQuerySet, MembershipQuerySet


class Group(PublicIdModel):
    class Kind(models.TextChoices):
        NATIONAL = "national", _("National")
        REGION = "region", _("Nation or region")
        CONSTITUENCY = "constituency", _("Constituency party")
        BRANCH = "branch", _("Branch")
        AFFILIATE = "affiliate", _("Affiliate")
        CAMPAIGN = "campaign", _("Campaign")
        SOCIETY = "society", _("Society")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    description = models.TextField(_("what the group does"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Group]:
        chain: list[Group] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        ORGANISER = "organiser", _("Organiser")
        ADMIN = "admin", _("Admin")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="membership_once_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id} as {self.role}"


class MovementRole(models.Model):
    """A role that spans the whole movement rather than one group."""

    class Role(models.TextChoices):
        PLATFORM_ADMIN = "platform_admin", _("Platform admin")
        CURATOR = "curator", _("Story curator")
        DPO = "dpo", _("Data protection officer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="movement_roles"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="movement_role_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} as {self.role}"
