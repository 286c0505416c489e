"""The home page at ``/``: each role gets its own worklist there; roles without one get the batch list."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from core.roles import Role, has_role
from web.views import coordinator
from web.views.lists import batch_list, worklists

# A role's own worklist view, checked in this order; every other role gets the batch list.
HOMES: tuple[tuple[Role, Callable[[HttpRequest], HttpResponse]], ...] = (
    (Role.COORDINATOR, coordinator.worklist),
    (Role.TECHNICIAN, worklists),  # the lab's worklist shows each of the user's lab roles
    (Role.QC, worklists),
    (Role.QA, worklists),
)


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """``/`` (``LOGIN_REDIRECT_URL``): the user's worklist when their role has one, else the batch list."""
    view = next((view for role, view in HOMES if has_role(request.user, role)), batch_list)
    return view(request)
