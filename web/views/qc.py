"""The web UI of QC: the results of a batch against its specification, and a form per result."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from batches.models import Batch
from compliance.domain.qc import find_spec
from compliance.services.qc import qc_result_record
from compliance.worklists import qc_results_table
from core.roles import Role, has_role
from monitoring.tasks import enqueue_batch_refresh
from web.forms.qc import QcResultForm
from web.views.common import batch_or_404, call_service, role_required

QC_VIEW_ROLES = (Role.QC, Role.QA)


def _spec_or_404(batch: Batch, test: str) -> dict[str, Any]:
    spec = find_spec(batch.therapy.protocol.qc_specifications, test)
    if spec is None:
        raise Http404(f"The protocol specifies no test '{test}'.")
    return spec


@require_GET
@role_required(*QC_VIEW_ROLES)
def qc_results(request: HttpRequest, din: str) -> HttpResponse:
    """Every specified test of the batch with its results; out-of-specification rows name their deviation."""
    batch = batch_or_404(request, din)
    rows = qc_results_table(batch)
    context = {
        "batch": batch,
        "rows": rows,
        "can_record": has_role(request.user, Role.QC),
        "oos_count": sum(1 for _spec, results in rows if results and not results[-1].within_spec),
    }
    return render(request, "qc/results.html", context)


@require_http_methods(["GET", "POST"])
@role_required(Role.QC)
def qc_result_new(request: HttpRequest, din: str, test: str) -> HttpResponse:
    """Record one test's result through ``qc_result_record``; a refusal says why and records nothing."""
    batch = batch_or_404(request, din)
    spec = _spec_or_404(batch, test)
    form = QcResultForm(request.POST or None, spec=spec, auto_id="qc_%s")
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            values = form.service_arguments()
            outcome = call_service(
                form, lambda: qc_result_record(batch=batch, test=test, actor=request.user, **values)
            )
            if outcome.ok:
                enqueue_batch_refresh(batch.pk)
                _report(request, outcome.value)
                return redirect("qc:results", din=batch.din)
            status = outcome.status
    previous = next(results for s, results in qc_results_table(batch) if s["test"] == test)
    context = {"batch": batch, "spec": spec, "form": form, "previous": previous}
    return render(request, "qc/result_form.html", context, status=status)


def _report(request: HttpRequest, result: Any) -> None:
    if result.within_spec:
        messages.success(request, _("%(test)s recorded: within specification.") % {"test": result.test})
    else:
        messages.warning(
            request,
            _("%(test)s recorded: OUT OF SPECIFICATION. A deviation was opened and QA notified.")
            % {"test": result.test},
        )
