"""The web UI of QA work: checklist signing, release, finding assessment, deviation closure."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from batches.models import Batch, Finding
from compliance.models import Deviation
from compliance.selectors import (
    checklist_status,
    decision_signature_valid,
    release_blockers,
    release_decision_history,
    release_signature_check,
)
from compliance.services.checklists import checklist_item_sign
from compliance.services.deviations import deviation_close as deviation_close_service
from compliance.services.deviations import finding_assess as finding_assess_service
from compliance.services.release_review import batch_decide, review_blockers
from core.roles import Role, has_role
from web.forms.qa import DeviationCloseForm, FindingAssessForm, ReleaseForm, SignForm
from web.views import render_detail
from web.views.common import batch_or_404, call_service, role_required

CHECKLIST_ROLES = (Role.QA, Role.QC, Role.TECHNICIAN)


def _meanings(item: Any) -> tuple[str, ...]:
    return ("reviewed", "verified") if item.requires_second_person else ("reviewed",)


def _checklist_context(request: HttpRequest, batch: Batch, bound: dict[str, Any]) -> dict[str, Any]:
    """Items with evidence, signatures and a sign form each; blockers; the release decision."""
    status = checklist_status(batch)
    sign_code, sign_form = bound.get("sign", (None, None))
    rows = [
        (
            entry,
            sign_form
            if entry.item.code == sign_code
            else SignForm(meanings=_meanings(entry.item), auto_id=f"sign_{entry.item.code}_%s"),
        )
        for entry in status.items
    ]
    history = release_decision_history(batch)
    decision = history[0] if history else None
    is_qa = has_role(request.user, Role.QA)
    # A released batch whose signature no longer holds is re-reviewed: QA decides again, never a dead end.
    review = batch.status == "released" and release_signature_check(batch).valid is False
    return {
        "batch": batch,
        "checklist": status,
        "rows": rows,
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
    deviation = get_object_or_404(Deviation, pk=pk, batch=batch)
    form = DeviationCloseForm(request.POST, auto_id=f"deviation{deviation.pk}_%s")
    status = 422
    if form.is_valid():
        outcome = call_service(
            form,
            lambda: deviation_close_service(deviation=deviation, actor=request.user, **form.cleaned_data),
        )
        if outcome.ok:
            messages.success(request, _("Deviation closed."))
            return redirect("batches:detail", din=batch.din)
        status = outcome.status
    return render_detail(request, batch, status=status, deviation=(deviation.pk, form))
