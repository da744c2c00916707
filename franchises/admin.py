from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import Franchise, User


@admin.register(Franchise)
class FranchiseAdmin(SimpleHistoryAdmin):
    list_display = ("name", "kind", "city", "timezone", "royalty_rate", "monthly_fee",
                    "standby_fee", "show_up_fee", "is_active")
    list_filter = ("kind", "is_active", "city")
    search_fields = ("name", "city")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "role", "franchise", "is_staff", "is_active")
    list_filter = ("role", "franchise", "is_staff")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Role", {"fields": ("role", "franchise", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("Role", {"fields": ("role", "franchise")}),
    )
