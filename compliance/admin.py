from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from compliance.models import ApiToken, AuditEntry, User
from compliance.tokens import token_revoke
from core.admin import NoDeleteMixin
from core.roles import Role


class LimsUserChangeForm(UserChangeForm):
    """A coordinator belongs to exactly one clinic: said on the form, before the database refuses it."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        groups = cleaned.get("groups")
        coordinator = groups is not None and any(group.name == Role.COORDINATOR for group in groups)
        if coordinator and cleaned.get("clinic") is None:
            self.add_error(
                "clinic", ValidationError("A coordinator must belong to a clinic.", code="clinic_required")
            )
        return cleaned


@admin.register(User)
class LimsUserAdmin(NoDeleteMixin, UserAdmin):
    form = LimsUserChangeForm
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


@admin.register(ApiToken)
class ApiTokenAdmin(NoDeleteMixin, admin.ModelAdmin):
    """Tokens are issued by ``manage.py issue_token`` (the key is shown once); here they are reviewed and revoked."""

    list_display = ("prefix", "clinic", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "clinic")
    readonly_fields = ("prefix", "clinic", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(token=token, actor=request.user)
        self.message_user(request, "Tokens revoked.")
