"""The Django admin opens to platform admins only (who must have MFA, like every role)."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class HandsUpAdminSite(AdminSite):
    site_header = "Hands Up administration"
    site_title = "Hands Up administration"

    def has_permission(self, request: HttpRequest) -> bool:
        # Imported here: this module is loaded with the app registry, before models.
        from handsup.groups.permissions import is_platform_admin

        user = request.user
        return bool(user.is_active and user.is_staff and is_platform_admin(user))


class HandsUpAdminConfig(AdminConfig):
    default_site = "handsup.core.admin_site.HandsUpAdminSite"
