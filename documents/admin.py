"""The download log in the admin: QA reads who took which document; nobody edits or deletes it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import NoDeleteMixin
from documents.models import DocumentDownload


@admin.register(DocumentDownload)
class DocumentDownloadAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ("downloaded_at", "document", "batch", "actor_name", "channel", "language")
    list_filter = ("document", "channel", "language")
    search_fields = ("batch__din", "actor_name")
    date_hierarchy = "downloaded_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
