"""The web UI of QA work: checklist signing, release, finding assessment, deviation closure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from batches.models import Batch, Finding
from compliance.models import Deviation, Signature
from compliance.selectors import (
    checklist_status,
    decision_signature_valid,
    release_blockers,
    release_decision_history,
    release_signature_check,
)
from compliance.services.checklists import checklist_item_sign, checklist_items_sign, signing_refusal
from compliance.services.deviations import deviation_assess as deviation_assess_service
from compliance.services.deviations import deviation_close as deviation_close_service
from compliance.services.deviations import deviation_investigate as deviation_investigate_service
from compliance.services.deviations import deviation_open as deviation_open_service
from compliance.services.deviations import finding_assess as finding_assess_service
from compliance.services.release_review import batch_decide, review_blockers
from core.roles import Role, has_role
from monitoring.tasks import enqueue_batch_refresh
from web.forms.qa import (
    ChecklistSignManyForm,
    DeviationAssessForm,
    DeviationCloseForm,
    DeviationInvestigateForm,
    DeviationOpenForm,
    FindingAssessForm,
    ReleaseForm,
    SignForm,
)
from web.views import render_detail
from web.views.common import batch_or_404, call_service, role_required

CHECKLIST_ROLES = (Role.QA, Role.QC, Role.TECHNICIAN)


def _meanings(item: Any) -> tuple[str, ...]:
    return ("reviewed", "verified") if item.requires_second_person else ("reviewed",)


@dataclass
class SignRow:
    """One checklist item as this user sees it: what they may sign it as, or why they may not."""

    entry: Any
    options: list[tuple[str, str]]  # (value "code:meaning", meaning label) the user may tick
    refusals: list[str]  # why a meaning the item takes is refused to this user
    refused_form: Any = None  # a single-item form just refused, shown with its words


def _sign_rows(request: HttpRequest, batch: Batch, status: Any, bound: dict[str, Any]) -> list[SignRow]:
    """The items with the meanings this user may sign each as now (the services' own rules)."""
    labels = dict(Signature.Meaning.choices)
    sign_code, sign_form = bound.get("sign", (None, None))
    rows = []
    for entry in status.items:
        options, refusals = [], []
        if not entry.complete:
            for meaning in _meanings(entry.item):
                refusal = signing_refusal(batch, entry, request.user, meaning)
                if refusal is None:
                    options.append((f"{entry.item.code}:{meaning}", labels[meaning]))
                else:
                    refusals.append(
                        _("%(meaning)s: %(reason)s") % {"meaning": labels[meaning], "reason": refusal.message}
                    )
        rows.append(SignRow(entry, options, refusals, sign_form if entry.item.code == sign_code else None))
    return rows


def _checklist_context(request: HttpRequest, batch: Batch, bound: dict[str, Any]) -> dict[str, Any]:
    """Items with evidence, signatures and what this user may sign; blockers; the release decision."""
    status = checklist_status(batch)
    rows = _sign_rows(request, batch, status, bound)
    options = [option for row in rows for option in row.options]
    sign_many_form = bound.get("sign_many_form") or (
        ChecklistSignManyForm(options=options, auto_id="signmany_%s") if options else None
    )
    history = release_decision_history(batch)
    decision = history[0] if history else None
    is_qa = has_role(request.user, Role.QA)
    # A released batch whose signature no longer holds is re-reviewed: QA decides again, never a dead end.
    review = batch.status == "released" and release_signature_check(batch).valid is False
    return {
        "batch": batch,
        "checklist": status,
        "rows": rows,
        "sign_many_form": sign_many_form,
        "blockers": review_blockers(batch, "release") if review else release_blockers(batch),
        "decision": decision,
        "decision_valid": decision_signature_valid(batch, decision) if decision else None,
        "earlier_decisions": history[1:],
        "review": review,
        # A refused form is shown again with its words even if a decision exists by now.
        "release_form": bound.get("release_form")
        or (ReleaseForm() if is_qa and (decision is None or review) else None),
    }


def _render_checklist(request: HttpRequest, batch: Batch, *, status: int = 200, **bound: Any) -> HttpResponse:
    context = _checklist_context(request, batch, bound)
    return render(request, "compliance/checklist.html", context, status=status)


@require_GET
@role_required(*CHECKLIST_ROLES)
def checklist(request: HttpRequest, din: str) -> HttpResponse:
    """The release checklist of a batch, its release blockers and (after release) the signature."""
    return _render_checklist(request, batch_or_404(request, din))


@require_POST
@role_required(*CHECKLIST_ROLES)
def checklist_sign(request: HttpRequest, din: str, code: str) -> HttpResponse:
    """Sign one checklist item with the password re-entered; the service decides who may sign what."""
    batch = batch_or_404(request, din)
    entry = next((e for e in checklist_status(batch).items if e.item.code == code), None)
    if entry is None:
        raise Http404(f"No checklist item '{code}'.")
    form = SignForm(request.POST, meanings=_meanings(entry.item), auto_id=f"sign_{code}_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form,
            lambda: checklist_item_sign(batch=batch, item_code=code, actor=request.user, **form.cleaned_data),
        )
        if outcome.ok:
            messages.success(
                request, _("Item %(code)s signed as %(meaning)s.") % {"code": code, **form.cleaned_data}
            )
            return redirect("compliance:checklist", din=batch.din)
        status = outcome.status
    return _render_checklist(request, batch, status=status, sign=(code, form))


@require_POST
@role_required(Role.QA)
def release_decide(request: HttpRequest, din: str) -> HttpResponse:
    """QA releases or rejects the batch with an 'approved' signature (or re-reviews an invalidated release)."""
    batch = batch_or_404(request, din)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        return _render_checklist(request, batch, status=422, release_form=form)
    outcome = call_service(form, lambda: batch_decide(batch=batch, actor=request.user, **form.cleaned_data))
    if not outcome.ok:
        return _render_checklist(request, batch, status=outcome.status, release_form=form)
    messages.success(
        request, _("Batch %(din)s: %(decision)s signed.") % {"din": batch.din, **form.cleaned_data}
    )
    return redirect("compliance:checklist", din=batch.din)


@require_POST
@role_required(Role.QA)
def finding_assess(request: HttpRequest, din: str, pk: int) -> HttpResponse:
    """QA assesses an open finding of the batch, signing with the password."""
    batch = batch_or_404(request, din)
    finding = get_object_or_404(Finding, pk=pk, batch=batch)
    form = FindingAssessForm(request.POST, auto_id=f"finding{pk}_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form, lambda: finding_assess_service(finding=finding, actor=request.user, **form.cleaned_data)
        )
        if outcome.ok:
            messages.success(request, _("Finding assessed: %(kind)s.") % {"kind": finding.get_kind_display()})
            return redirect("batches:detail", din=batch.din)
        status = outcome.status
    return render_detail(request, batch, status=status, finding=(finding.pk, form))


@require_POST
@role_required(Role.QA)
def deviation_close(request: HttpRequest, din: str, pk: str) -> HttpResponse:
    """QA closes a deviation of the batch with impact assessment, CAPA and a signature."""
    batch = batch_or_404(request, din)
    deviation = _deviation_or_404(batch, pk)
    form = DeviationCloseForm(request.POST, auto_id="close_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form,
            lambda: deviation_close_service(deviation=deviation, actor=request.user, **form.cleaned_data),
        )
        if outcome.ok:
            enqueue_batch_refresh(batch.pk)
            messages.success(request, _("Deviation closed."))
            return redirect("compliance:deviation", din=batch.din, pk=deviation.pk)
        status = outcome.status
    return _render_deviation(request, batch, deviation, status=status, close_form=form)


@require_POST
@role_required(*CHECKLIST_ROLES)
def checklist_sign_many(request: HttpRequest, din: str) -> HttpResponse:
    """Sign the ticked checklist items in one act: the password once, one signature per item.

    ``checklist_items_sign`` decides (all or nothing); a wrong password or any
    refused item signs nothing and the page says why.
    """
    batch = batch_or_404(request, din)
    options = [o for row in _sign_rows(request, batch, checklist_status(batch), {}) for o in row.options]
    # Offer back what was ticked even if it is no longer signable: the service then says why.
    ticked = request.POST.getlist("sign")
    known = {value for value, _label in options}
    options += [(value, value) for value in ticked if value not in known and ":" in value]
    form = ChecklistSignManyForm(request.POST, options=options, auto_id="signmany_%s")
    status = 422
    if form.is_valid():
        selections = form.selections()
        outcome = call_service(
            form,
            lambda: checklist_items_sign(
                batch=batch, selections=selections, actor=request.user, password=form.cleaned_data["password"]
            ),
        )
        if outcome.ok:
            enqueue_batch_refresh(batch.pk)
            messages.success(
                request,
                _("%(n)s checklist items signed: %(items)s.")
                % {"n": len(outcome.value), "items": ", ".join(code for code, _m in selections)},
            )
            return redirect("compliance:checklist", din=batch.din)
        status = outcome.status
    return _render_checklist(request, batch, status=status, sign_many_form=form)


# --- Deviations: open, investigate, assess, close ----------------------------------------------

DEVIATION_OPEN_ROLES = (Role.TECHNICIAN, Role.QC, Role.QA)


def _deviation_or_404(batch: Batch, pk: str) -> Deviation:
    return get_object_or_404(
        Deviation.objects.select_related(
            "opened_by", "investigated_by", "assessment_signature", "closure_signature", "qc_result"
        ),
        pk=pk,
        batch=batch,
    )


def _render_deviation(
    request: HttpRequest, batch: Batch, deviation: Deviation, *, status: int = 200, **bound: Any
) -> HttpResponse:
    """The deviation page: its record and, for QA while it is open, each step's form."""
    is_open = deviation.status == Deviation.Status.OPEN
    can_investigate = is_open and has_role(request.user, Role.QA, Role.QC)
    is_qa = is_open and has_role(request.user, Role.QA)
    minor_unassessed = deviation.severity == "minor" and deviation.assessment_signature_id is None
    # Closing an out-of-specification deviation needs its investigation first: no close form until then.
    needs_investigation = bool(is_open and deviation.qc_result_id and not deviation.investigation)
    context = {
        "batch": batch,
        "deviation": deviation,
        "investigate_form": bound.get("investigate_form")
        or (
            DeviationInvestigateForm(
                initial={"investigation": deviation.investigation, "root_cause": deviation.root_cause},
                auto_id="investigate_%s",
            )
            if can_investigate
            else None
        ),
        "assess_form": bound.get("assess_form")
        or (DeviationAssessForm(auto_id="assess_%s") if is_qa and minor_unassessed else None),
        "close_form": bound.get("close_form")
        or (
            DeviationCloseForm(initial={"impact_assessment": deviation.impact_assessment}, auto_id="close_%s")
            if is_qa and not needs_investigation
            else None
        ),
        "needs_investigation": needs_investigation,
    }
    return render(request, "compliance/deviation.html", context, status=status)


@require_POST
@role_required(*DEVIATION_OPEN_ROLES)
def deviation_open(request: HttpRequest, din: str) -> HttpResponse:
    """Open a deviation on the batch (a major or critical one quarantines it)."""
    batch = batch_or_404(request, din)
    form = DeviationOpenForm(request.POST, auto_id="devopen_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form, lambda: deviation_open_service(batch=batch, actor=request.user, **form.cleaned_data)
        )
        if outcome.ok:
            enqueue_batch_refresh(batch.pk)
            messages.success(request, _("Deviation opened."))
            return redirect("compliance:deviation", din=batch.din, pk=outcome.value.pk)
        status = outcome.status
    return render_detail(request, batch, status=status, deviation_open_form=form)


@require_GET
@role_required(Role.TECHNICIAN, Role.QC, Role.QA)
def deviation_detail(request: HttpRequest, din: str, pk: str) -> HttpResponse:
    """A deviation: what happened, the investigation and root cause, assessment, CAPA, closure."""
    batch = batch_or_404(request, din)
    return _render_deviation(request, batch, _deviation_or_404(batch, pk))


@require_POST
@role_required(Role.QA, Role.QC)
def deviation_investigate(request: HttpRequest, din: str, pk: str) -> HttpResponse:
    """Record the investigation and its root cause (again to revise it; the audit trail keeps each)."""
    batch = batch_or_404(request, din)
    deviation = _deviation_or_404(batch, pk)
    form = DeviationInvestigateForm(request.POST, auto_id="investigate_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form,
            lambda: deviation_investigate_service(
                deviation=deviation, actor=request.user, **form.cleaned_data
            ),
        )
        if outcome.ok:
            messages.success(request, _("Investigation recorded."))
            return redirect("compliance:deviation", din=batch.din, pk=deviation.pk)
        status = outcome.status
    return _render_deviation(request, batch, deviation, status=status, investigate_form=form)


@require_POST
@role_required(Role.QA)
def deviation_assess(request: HttpRequest, din: str, pk: str) -> HttpResponse:
    """QA's signed impact assessment of a minor deviation."""
    batch = batch_or_404(request, din)
    deviation = _deviation_or_404(batch, pk)
    form = DeviationAssessForm(request.POST, auto_id="assess_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form,
            lambda: deviation_assess_service(deviation=deviation, actor=request.user, **form.cleaned_data),
        )
        if outcome.ok:
            enqueue_batch_refresh(batch.pk)
            messages.success(request, _("Impact assessment signed."))
            return redirect("compliance:deviation", din=batch.din, pk=deviation.pk)
        status = outcome.status
    return _render_deviation(request, batch, deviation, status=status, assess_form=form)
