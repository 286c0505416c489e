"""Admin pieces every app's admin uses."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class NoDeleteMixin:
    """Regulated records are never deleted: not from the admin either."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions  # type: ignore[no-any-return]
