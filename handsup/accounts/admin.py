from django.contrib import admin

from handsup.accounts.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["public_id", "last_login", "date_joined", "password"]
    exclude = ["groups", "user_permissions"]
