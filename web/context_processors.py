"""Template context every page gets."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.roles import Role, has_role


def sweep_health(request: HttpRequest) -> dict[str, Any]:
    """For QA: whether the background sweeps are stale (then flags are no longer updated).

    One indexed query per QA page view; nothing for anyone else.
    """
    user = getattr(request, "user", None)
    if user is None or not has_role(user, Role.QA):
        return {}
    from monitoring.runs import sweep_staleness

    staleness = sweep_staleness()
    return {"sweeps_stale": None if staleness["ok"] else staleness}
