from typing import Any

from django import forms
from django.contrib import admin

from handsup.groups.actions import GroupRuleBroken, check_parent_allowed
from handsup.groups.models import Group, Membership, MovementRole


class GroupAdminForm(forms.ModelForm):
    """The admin builds the fields; this adds the tree check to them."""

    def clean_parent(self) -> Any:
        parent = self.cleaned_data.get("parent")
        try:
            check_parent_allowed(self.instance if self.instance.pk else None, parent)
        except GroupRuleBroken as error:
            raise forms.ValidationError(str(error)) from error
        return parent


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    form = GroupAdminForm
    list_display = ["name", "kind", "status", "parent"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "group", "role"]
    list_filter = ["role"]
    raw_id_fields = ["user", "group"]
    list_select_related = ["user", "group"]


@admin.register(MovementRole)
class MovementRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "granted_at"]
    raw_id_fields = ["user"]
