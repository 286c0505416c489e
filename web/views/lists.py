"""List pages: batches, worklists, notifications. Each is a fixed number of queries."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from batches import selectors
from batches.domain import BatchStatus
from batches.models import Flag, Notification
from compliance.worklists import batch_release_worklist, deviation_open_list, finding_open_list, qc_worklist
from core.roles import Role, has_role
from monitoring.notifications import notification_mark_read
from monitoring.sweeps import flag_acknowledge as flag_acknowledge_service
from web.forms.lab import FlagAcknowledgeForm
from web.views.common import ALL_ROLES, role_required, safe_next, visible_clinic_id

PAGE_SIZE = 25
WORKLIST_ROLES = (Role.TECHNICIAN, Role.QA)  # who acknowledges flags
# Roles with a worklist here; any other role is sent to its home page, never to a bare 403.
WORKLIST_PAGE_ROLES = (Role.TECHNICIAN, Role.QC, Role.QA)


@require_GET
@role_required(*ALL_ROLES)
def batch_list(request: HttpRequest) -> HttpResponse:
    """Batches newest first (clinic-scoped for coordinators), filterable by status, 25 a page."""
    clinic_id = visible_clinic_id(request.user)
    status = request.GET.get("status", "")
    status = status if status in {s.value for s in BatchStatus} else ""
    rows = selectors.batch_overview_list(clinic_id=clinic_id, status=status or None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "batches": selectors.with_growth(page.object_list),
        "status": status,
        "statuses": list(BatchStatus),
        "status_counts": selectors.batch_status_counts() if clinic_id is None else None,
    }
    return render(request, "batches/list.html", context)


@require_GET
@role_required(*ALL_ROLES)
def worklists(request: HttpRequest) -> HttpResponse:
    """What the signed-in person has to do, by role: the bench, QC tests due, QA's reviews, open flags.

    A role without a worklist here (a coordinator, an administrator) goes to its home page.
    Each list is one query, whatever its length.
    """
    if not has_role(request.user, *WORKLIST_PAGE_ROLES):
        return redirect("home")
    context: dict[str, object] = {"ack_form": FlagAcknowledgeForm()}
    if has_role(request.user, Role.TECHNICIAN):
        context["bench"] = {
            "feeding_due": list(selectors.worklist_feeding_due()),
            "awaiting_seeding": list(selectors.worklist_awaiting_seeding()),
            "culture_overdue": list(selectors.worklist_culture_overdue()),
        }
    if has_role(request.user, Role.QC):
        context["qc_due"] = qc_worklist()
    if has_role(request.user, Role.QA):
        context["qa"] = {
            "deviations": list(deviation_open_list()),
            "findings": list(finding_open_list()),
            "release": list(batch_release_worklist()),
        }
    if has_role(request.user, *WORKLIST_ROLES):
        context["flags"] = list(selectors.flag_open_list())
    return render(request, "batches/worklists.html", context)


@require_POST
@role_required(*WORKLIST_ROLES)
def flag_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge an open flag (a compare-and-set: a second click changes nothing)."""
    flag = get_object_or_404(Flag, pk=pk)
    form = FlagAcknowledgeForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    if flag_acknowledge_service(flag=flag, actor=request.user, note=note):
        messages.success(request, _("Flag acknowledged: %(kind)s.") % {"kind": flag.get_kind_display()})
    else:
        messages.info(request, _("That flag was already acknowledged or has been resolved."))
    return redirect(safe_next(request, reverse("batches:worklists")))


@require_GET
@role_required(*ALL_ROLES)
def notifications(request: HttpRequest) -> HttpResponse:
    """The signed-in user's notifications, newest first, 25 a page."""
    rows = selectors.notification_list(user_id=request.user.pk)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "batches/notifications.html", {"page": page})


@require_POST
@role_required(*ALL_ROLES)
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's own notifications read; another user's is simply not found."""
    get_object_or_404(Notification, pk=pk, user_id=request.user.pk)
    if notification_mark_read(notification_id=pk, user_id=request.user.pk):
        messages.success(request, _("Notification marked as read."))
    else:
        messages.info(request, _("That notification was already read."))
    return redirect(safe_next(request, reverse("batches:notifications")))
