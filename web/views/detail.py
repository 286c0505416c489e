"""The batch page and the bench forms on it: log a step, transfer custody."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from batches import selectors
from batches.domain.steps import STEP_RULES
from batches.models import Batch
from batches.services import custody_transfer, step_record
from compliance.readiness import readiness_report
from compliance.selectors import administration_attempt_list, deviation_list
from core.roles import Role, has_role
from monitoring.tasks import enqueue_batch_refresh
from web.forms.lab import CustodyForm, StepForm
from web.forms.qa import DeviationOpenForm, FindingAssessForm
from web.views.common import ALL_ROLES, batch_or_404, call_service, role_required

STEP_AUTO_ID = "step_%s"
CUSTODY_AUTO_ID = "custody_%s"


def _default_kind(batch: Batch) -> str:
    """The first step kind the batch's status allows: what the technician most likely logs next."""
    return next((k for k, rule in STEP_RULES.items() if batch.status in rule.allowed_in), "receipt")


def _step_form(batch: Batch, data: Any = None, kind_source: Any = None) -> StepForm:
    kind = StepForm.kind_of(data if data is not None else kind_source, _default_kind(batch))
    fields_url = reverse("batches:step_fields", args=[batch.din])
    return StepForm(data, kind=kind, fields_url=fields_url, auto_id=STEP_AUTO_ID)


def _custody_form(data: Any = None) -> CustodyForm:
    return CustodyForm(data, locations=selectors.location_active_list(), auto_id=CUSTODY_AUTO_ID)


def _bench_forms(request: HttpRequest, batch: Batch, bound: dict[str, Any]) -> dict[str, Any]:
    if not has_role(request.user, Role.TECHNICIAN):
        return {}
    return {
        "step_form": bound.get("step_form") or _step_form(batch, kind_source=request.GET),
        "custody_form": bound.get("custody_form") or _custody_form(),
    }


def _qa_rows(request: HttpRequest, timeline: list[Any], deviations: list[Any], bound: dict[str, Any]) -> dict:
    """Open findings with QA's form each (the bound one when just refused); deviations; the open form.

    Deviations are worked on their own page (investigation, root cause, assessment, CAPA, closure).
    """
    is_qa = has_role(request.user, Role.QA)

    def form_for(kind: str, record: Any, is_open: bool, form_class: type) -> Any:
        if not is_qa or not is_open:
            return None
        pk, form = bound.get(kind, (None, None))
        return form if pk == record.pk else form_class(auto_id=f"{kind}{record.pk}_%s")

    findings = [e.record for e in timeline if e.kind == "finding" and e.record.is_open]
    return {
        "finding_rows": [(f, form_for("finding", f, True, FindingAssessForm)) for f in findings],
        "deviations": deviations,
        "deviation_open_form": bound.get("deviation_open_form")
        or (
            DeviationOpenForm(auto_id="devopen_%s")
            if has_role(request.user, Role.TECHNICIAN, Role.QC, Role.QA)
            else None
        ),
    }


def detail_context(request: HttpRequest, batch: Batch, **bound: Any) -> dict[str, Any]:
    """Everything the batch page shows; ``bound`` holds a refused form to show again with its errors."""
    timeline = selectors.batch_timeline(batch)
    deviations = deviation_list(batch)
    return {
        "batch": batch,
        "growth": batch.growth,  # type: ignore[attr-defined]
        "readiness": readiness_report(batch).answer,
        "flags": list(selectors.flag_open_list(batch=batch)),
        "timeline": timeline,
        "amended_ids": {e.record.amends_id for e in timeline if e.kind == "step" and e.record.amends_id},
        "can_view_checklist": has_role(request.user, Role.QA, Role.QC, Role.TECHNICIAN),
        "can_view_qc": has_role(request.user, Role.QA, Role.QC),
        "can_correct": has_role(request.user, Role.TECHNICIAN, Role.QA),
        # QA reviews refused bedside scans; they are kept against the infusion, not the batch record.
        "attempts": administration_attempt_list(batch) if has_role(request.user, Role.QA) else [],
        **_qa_rows(request, timeline, deviations, bound),
        **_bench_forms(request, batch, bound),
    }


def render_detail(request: HttpRequest, batch: Batch, *, status: int = 200, **bound: Any) -> HttpResponse:
    """The batch page, with a refused form (``step_form=form``, ``finding=(pk, form)``...) shown again."""
    return render(request, "batches/detail.html", detail_context(request, batch, **bound), status=status)


@require_GET
@role_required(*ALL_ROLES)
def batch_detail(request: HttpRequest, din: str) -> HttpResponse:
    """A batch: identity, growth, readiness, flags, findings, deviations, timeline and bench forms."""
    return render_detail(request, batch_or_404(request, din))


@require_GET
@role_required(Role.TECHNICIAN)
def step_fields(request: HttpRequest, din: str) -> HttpResponse:
    """HTMX partial: the step form's value fields for the kind chosen (a plain GET reloads the page)."""
    batch = batch_or_404(request, din)
    form = _step_form(batch, kind_source=request.GET)
    if not request.htmx:  # type: ignore[attr-defined]
        url = reverse("batches:detail", args=[batch.din])
        return redirect(f"{url}?kind={form['kind'].initial}#log-step")
    return render(request, "batches/_step_fields.html", {"step_form": form})


@require_POST
@role_required(Role.TECHNICIAN)
def step_log(request: HttpRequest, din: str) -> HttpResponse:
    """Log a culture step through ``step_record``; a refusal is shown in words and changes nothing."""
    batch = batch_or_404(request, din)
    form = _step_form(batch, data=request.POST)
    if not form.is_valid():
        return render_detail(request, batch, status=422, step_form=form)
    values = form.service_arguments()
    kind, serum_din = values.pop("kind"), values.pop("serum_din", None)
    outcome = call_service(
        form,
        lambda: step_record(batch=batch, kind=kind, actor=request.user, serum_din=serum_din, **values),
    )
    if not outcome.ok:
        return render_detail(request, batch, status=outcome.status, step_form=form)
    enqueue_batch_refresh(batch.pk)
    messages.success(
        request,
        _("%(step)s logged; the batch is %(status)s.")
        % {"step": outcome.value.get_kind_display(), "status": batch.get_status_display().lower()},
    )
    return redirect("batches:detail", din=batch.din)


@require_POST
@role_required(Role.TECHNICIAN)
def custody_log(request: HttpRequest, din: str) -> HttpResponse:
    """Record a custody hand-over through ``custody_transfer``."""
    batch = batch_or_404(request, din)
    form = _custody_form(request.POST)
    if not form.is_valid():
        return render_detail(request, batch, status=422, custody_form=form)
    outcome = call_service(
        form, lambda: custody_transfer(batch=batch, actor=request.user, **form.cleaned_data)
    )
    if not outcome.ok:
        return render_detail(request, batch, status=outcome.status, custody_form=form)
    enqueue_batch_refresh(batch.pk)
    transfer = outcome.value
    messages.success(
        request,
        _("Custody transfer #%(n)s to %(to)s recorded.")
        % {"n": transfer.sequence, "to": transfer.to_location.code},
    )
    return redirect("batches:detail", din=batch.din)
