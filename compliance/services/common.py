"""Small checks every compliance service shares."""

from __future__ import annotations

from typing import Any

from batches.domain import NotPermitted
from compliance.roles import Role, has_role


def require_role(user: Any, *roles: Role, action: str) -> None:
    """Refuse (NotPermitted) unless ``user`` holds one of ``roles``."""
    if not has_role(user, *roles):
        names = " or ".join(role.value.upper() if role == Role.QA else role.value for role in roles)
        raise NotPermitted(f"Only {names} staff may {action}.", code="role")
