from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from compliance.models import AuditEntry, User


class NoDeleteMixin:
    """Regulated records are never deleted: not from the admin either."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions  # type: ignore[no-any-return]


@admin.register(User)
class LimsUserAdmin(NoDeleteMixin, UserAdmin):
    list_display = ("username", "full_name", "clinic", "is_active", "is_staff")
    list_filter = ("groups", "is_active", "clinic")
    search_fields = ("username", "full_name")
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Signature and clinic", {"fields": ("full_name", "clinic")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Signature and clinic", {"fields": ("full_name", "clinic")}),
    )


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is written by the database, never by hand."""

    list_display = ("seq", "occurred_at", "action", "table_name", "object_pk", "actor_name", "reason")
    list_filter = ("action", "table_name")
    search_fields = ("object_pk", "actor_name", "request_id", "reason")
    ordering = ("-seq",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
