"""The coordinator's pages (own clinic only): therapies and batches, scheduling, the bedside, observations.

Every page is scoped to the user's clinic (``visible_clinic_id``): another
clinic's dose or infusion is simply not found (404). The services check roles
and the clinic again, and decide; the views only show forms and refusals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from batches.models import Batch, Dose, Therapy
from compliance import clinic_selectors
from compliance.models import Infusion
from compliance.readiness import ReadinessReport, readiness_report
from compliance.readiness.many import readiness_reports
from compliance.readiness.rules import DoseReadiness
from compliance.services.scheduling import (
    infusion_administer,
    infusion_cancel,
    infusion_reschedule,
    infusion_schedule,
    observation_record,
)
from core.roles import Role, has_role
from web.forms.coordinator import BedsideForm, CancelForm, ObservationForm, RescheduleForm, ScheduleForm
from web.views.common import call_service, role_required, visible_clinic_id

SCHEDULERS = (Role.COORDINATOR, Role.QA)  # as compliance.services.scheduling
PAGE_SIZE = 25  # therapies per page of the worklist, newest first
BEDSIDE = (Role.COORDINATOR, Role.TECHNICIAN, Role.QA)


@dataclass(frozen=True)
class DoseRow:
    dose: Dose
    readiness: DoseReadiness | None
    infusion: Infusion | None  # the scheduled or administered one


@dataclass(frozen=True)
class BatchRow:
    batch: Batch
    report: ReadinessReport
    doses: list[DoseRow]

    @property
    def projected_between(self) -> tuple[dt.date, dt.date] | None:
        """The projection's uncertainty band [low, high] when the readiness report carries one."""
        return getattr(self.report, "projected_ready_between", None)


def _therapy_rows(therapies: list[Therapy]) -> list[tuple[Therapy, list[BatchRow]]]:
    reports = readiness_reports(clinic_selectors.clinic_batches(therapies))
    return [
        (therapy, [_batch_row(batch, reports[batch.pk]) for batch in therapy.batches.all()])
        for therapy in therapies
    ]


def _batch_row(batch: Batch, report: ReadinessReport) -> BatchRow:
    doses = [
        DoseRow(dose, report.answer.for_dose(dose.dose_id), next(iter(dose.active_infusions), None))  # type: ignore[attr-defined]
        for dose in batch.doses.all()
    ]
    return BatchRow(batch, report, doses)


@require_GET
@role_required(Role.COORDINATOR)
def worklist(request: HttpRequest) -> HttpResponse:
    """The coordinator's home: upcoming infusions, then every therapy with its batches, readiness and doses."""
    clinic_id = visible_clinic_id(request.user)
    page = Paginator(clinic_selectors.clinic_therapies(clinic_id=clinic_id), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "therapy_rows": _therapy_rows(list(page.object_list)),
        "upcoming": list(clinic_selectors.upcoming_infusions(clinic_id=clinic_id)),
    }
    return render(request, "coordinator/worklist.html", context)


def _dose_or_404(request: HttpRequest, dose_id: str) -> Dose:
    dose = clinic_selectors.dose_page(dose_id=dose_id, clinic_id=visible_clinic_id(request.user))
    if dose is None:
        raise Http404(f"No dose {dose_id}.")
    return dose


def _infusion_or_404(request: HttpRequest, pk: Any) -> Infusion:
    infusion = clinic_selectors.infusion_page(pk=pk, clinic_id=visible_clinic_id(request.user))
    if infusion is None:
        raise Http404(f"No infusion {pk}.")
    return infusion


@require_http_methods(["GET", "POST"])
@role_required(*SCHEDULERS)
def dose_schedule(request: HttpRequest, dose_id: str) -> HttpResponse:
    """Schedule an infusion of the dose; readiness at the chosen time decides (every reason shown)."""
    dose = _dose_or_404(request, dose_id)
    form = ScheduleForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            outcome = call_service(
                form,
                lambda: infusion_schedule(
                    dose=dose,
                    scheduled_for=form.cleaned_data["scheduled_for"],
                    route=dose.batch.therapy.protocol.route,
                    actor=request.user,
                ),
            )
            if outcome.ok:
                messages.success(request, _("Infusion of dose %(dose)s scheduled.") % {"dose": dose.dose_id})
                return redirect("coordinator:infusion", pk=outcome.value.pk)
            status = outcome.status
    context = {
        "dose": dose,
        "form": form,
        "readiness": readiness_report(dose.batch).answer.for_dose(dose.dose_id),
    }
    return render(request, "coordinator/schedule.html", context, status=status)


def _infusion_context(request: HttpRequest, infusion: Infusion, bound: dict[str, Any]) -> dict[str, Any]:
    scheduled = infusion.status == Infusion.Status.SCHEDULED
    can_schedule = has_role(request.user, *SCHEDULERS) and scheduled
    can_observe = has_role(request.user, *BEDSIDE) and infusion.status == Infusion.Status.ADMINISTERED
    return {
        "infusion": infusion,
        "dose": infusion.dose,
        "batch": infusion.dose.batch,
        "can_administer": scheduled and has_role(request.user, *BEDSIDE),
        "cancel_form": bound.get("cancel_form")
        or (CancelForm(auto_id="cancel_%s") if can_schedule else None),
        "reschedule_form": bound.get("reschedule_form")
        or (RescheduleForm(auto_id="reschedule_%s") if can_schedule else None),
        "observation_form": bound.get("observation_form")
        or (
            ObservationForm(initial={"observed_at": timezone.localtime()}, auto_id="obs_%s")
            if can_observe
            else None
        ),
    }


def _render_infusion(
    request: HttpRequest, infusion: Infusion, *, status: int = 200, **bound: Any
) -> HttpResponse:
    return render(
        request, "coordinator/infusion.html", _infusion_context(request, infusion, bound), status=status
    )


@require_GET
@role_required(*BEDSIDE)
def infusion_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """One infusion: when, which dose, for whom; cancel, reschedule, bedside, observations, refused scans."""
    return _render_infusion(request, _infusion_or_404(request, pk))


@require_POST
@role_required(*SCHEDULERS)
def infusion_cancel_view(request: HttpRequest, pk: Any) -> HttpResponse:
    """Cancel a scheduled infusion with a reason; the dose can be scheduled again."""
    infusion = _infusion_or_404(request, pk)
    form = CancelForm(request.POST, auto_id="cancel_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form,
            lambda: infusion_cancel(
                infusion=infusion, reason=form.cleaned_data["reason"], actor=request.user
            ),
        )
        if outcome.ok:
            messages.success(
                request, _("Infusion of dose %(dose)s cancelled.") % {"dose": infusion.dose.dose_id}
            )
            return redirect("coordinator:worklist")
        status = outcome.status
    return _render_infusion(request, infusion, status=status, cancel_form=form)


@require_POST
@role_required(*SCHEDULERS)
def infusion_reschedule_view(request: HttpRequest, pk: Any) -> HttpResponse:
    """Move a scheduled infusion to a new time with a reason: cancelled and scheduled anew, both or neither."""
    infusion = _infusion_or_404(request, pk)
    form = RescheduleForm(request.POST, auto_id="reschedule_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form,
            lambda: infusion_reschedule(infusion=infusion, actor=request.user, **form.cleaned_data),
        )
        if outcome.ok:
            messages.success(
                request, _("Infusion of dose %(dose)s rescheduled.") % {"dose": infusion.dose.dose_id}
            )
            return redirect("coordinator:infusion", pk=outcome.value.pk)
        status = outcome.status
    return _render_infusion(request, infusion, status=status, reschedule_form=form)


@require_http_methods(["GET", "POST"])
@role_required(*BEDSIDE)
def bedside(request: HttpRequest, pk: Any) -> HttpResponse:
    """At the bedside: scan the dose label, then the patient's wristband; a mismatch is refused and recorded.

    After a refusal the page comes back with the reason at the top, next to the
    scan field, which has the focus again for the next scan.
    """
    infusion = _infusion_or_404(request, pk)
    form = BedsideForm(request.POST or None, auto_id="bedside_%s")
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            outcome = call_service(
                form,
                lambda: infusion_administer(
                    infusion=infusion,
                    actor=request.user,
                    scanned_identifier=form.cleaned_data["scanned_identifier"],
                    patient_code=form.cleaned_data["wristband"],
                ),
            )
            if outcome.ok:
                messages.success(
                    request,
                    _("Dose %(dose)s administered: identity verified.") % {"dose": infusion.dose.dose_id},
                )
                return redirect("coordinator:infusion", pk=infusion.pk)
            status = outcome.status
            infusion = _infusion_or_404(request, pk)  # the refused scan is now one of its attempts
            form = _ready_for_next_scan(form)
    context = {"infusion": infusion, "dose": infusion.dose, "form": form}
    return render(request, "coordinator/bedside.html", context, status=status)


def _ready_for_next_scan(refused: BedsideForm) -> BedsideForm:
    """Empty scan fields for the next scan, the refusal kept above them."""
    form = BedsideForm(auto_id="bedside_%s")
    form.refusal = list(getattr(refused, "refusal", [])) + [  # type: ignore[attr-defined]
        str(error) for error in refused.non_field_errors()
    ]
    return form


@require_POST
@role_required(*BEDSIDE)
def observation_add(request: HttpRequest, pk: Any) -> HttpResponse:
    """Record an adverse event or a follow-up after the infusion."""
    infusion = _infusion_or_404(request, pk)
    form = ObservationForm(request.POST, auto_id="obs_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form, lambda: observation_record(infusion=infusion, actor=request.user, **form.cleaned_data)
        )
        if outcome.ok:
            messages.success(request, _("Observation recorded."))
            return redirect("coordinator:infusion", pk=infusion.pk)
        status = outcome.status
    return _render_infusion(request, infusion, status=status, observation_form=form)
