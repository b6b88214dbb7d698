"""Platform admins edit the purposes register and draft new privacy notices here.

The consent, access and audit logs are deliberately not in the admin: even without
names, a consent row says which party or campaign a person supports, and every read of
such data must itself be access-logged. They are read through the person's own ledger
and the data protection officer's views, which log what they show.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Max
from django.http import HttpRequest

from handsup.privacy.models import PrivacyNotice, Purpose
from handsup.privacy.notice import audit_published
from handsup.privacy.register import STANDARD_PURPOSE_CODES


@admin.register(Purpose)
class PurposeAdmin(admin.ModelAdmin[Purpose]):
    list_display = ["code", "name", "scope", "channel", "lawful_basis"]
    list_filter = ["scope", "lawful_basis"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Purpose | None = None) -> list[str]:
        # Code refers to purposes by code; renaming one would silently unhook it.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Purpose | None = None) -> bool:
        if obj is not None and obj.code in STANDARD_PURPOSE_CODES:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(admin.ModelAdmin[PrivacyNotice]):
    list_display = ["version", "published_at", "needs_fresh_consent"]

    def save_model(self, request: HttpRequest, obj: PrivacyNotice, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if obj.published_at is not None:
            # The admin is for signed-in staff only.
            audit_published(actor=request.user, notice=obj)  # type: ignore[arg-type]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        newest = PrivacyNotice.objects.aggregate(newest=Max("version"))["newest"] or 0
        return {"version": newest + 1}

    # Consent events cite the notice a person was shown: once published, it is a record.
    def has_change_permission(self, request: HttpRequest, obj: PrivacyNotice | None = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: PrivacyNotice | None = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)
