from django.contrib import admin

from handsup.groups.models import Group, Membership, MovementRole


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
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
