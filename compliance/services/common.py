"""Small checks every compliance service shares."""

from __future__ import annotations

# Defined once, with the roles (batches services use it too); re-exported for existing imports.
from compliance.roles import require_role

__all__ = ["require_role"]
