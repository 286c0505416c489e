"""Template helpers of the web UI: the eye-readable label and the unread-notifications badge."""

from __future__ import annotations

from typing import Any

from django import template

from batches import selectors
from core import isbt128
from core.roles import has_role

register = template.Library()


@register.filter
def din_k(din: str) -> str:
    """The DIN followed by its keyboard check character K, as the label prints it."""
    try:
        return din + isbt128.check_character(din)
    except ValueError:
        return din


@register.simple_tag(takes_context=True)
def unread_notification_count(context: template.Context) -> int:
    """Unread notifications of the signed-in user: one COUNT, none for anonymous visitors."""
    user: Any = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return selectors.notification_unread_count(user_id=user.pk)


@register.filter(name="has_role")
def has_role_filter(user: Any, roles: str) -> bool:
    """``{% if user|has_role:"technician,qa" %}``: the same role check the views make."""
    return has_role(user, *roles.split(","))


@register.filter
def cells(value: int | None) -> str:
    """A cell count with thousands separators (20,000,000), as people read counts off a counter."""
    return "" if value is None else f"{value:,}"
