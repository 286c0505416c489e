"""The technician's entry points besides the batch page: the scan box and step corrections."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from batches import selectors
from batches.models import CultureStep
from batches.services import step_amend
from core import scan
from core.errors import Blocker
from core.i18n import N_
from core.roles import Role
from monitoring.tasks import enqueue_batch_refresh
from web.forms.lab import StepCorrectionForm
from web.views.common import ALL_ROLES, batch_or_404, call_service, role_required, visible_clinic_id


def parse_label(raw: str) -> scan.Scan:
    """What a label names, through the one parser: a Chain of Identity, a dose label or a DIN.

    A person naming a physical item gives its check character (or the ISBT 128
    barcode data, whose flags carry it), so a mistyped DIN opens nothing.
    """
    text = raw.strip().upper()
    if text.startswith("CH"):
        return scan.parse_coi(raw)
    if "-" in text:
        return scan.parse_dose(raw, require_check=True)
    return scan.parse_din(raw, require_check=True)


def scan_refusal(error: scan.ScanError) -> Blocker:
    """A refused scan as a Blocker, so it is shown in the user's language like every refusal."""
    as_blocker = getattr(error, "blocker", None)  # a ScanError that carries its template and parameters
    if callable(as_blocker):
        return as_blocker()
    return Blocker(error.code, error.message)


@require_GET
@role_required(*ALL_ROLES)
def scan_open(request: HttpRequest) -> HttpResponse:
    """Open the page of what a scanned label names; a refusal is shown next to the scan field.

    The scanner types the label and presses Enter, which submits the scan box of
    every page here. A refused scan renders the scan page with the error at the
    top beside the (empty, focused) field, ready for the next scan.
    """
    raw = request.GET.get("q", "")
    try:
        found = parse_label(raw)
    except scan.ScanError as error:
        return _refused(request, scan_refusal(error), raw, status=422)
    target = selectors.scan_target(
        kind=found.kind.value, din=found.din, dose_number=found.dose_number, coi=found.coi,
        clinic_id=visible_clinic_id(request.user),
    )  # fmt: skip
    if target is None:
        blocker = Blocker(
            "not_found", N_("Nothing here has the label %(label)s: no batch, dose or collection."),
            {"label": found.text},
        )  # fmt: skip
        return _refused(request, blocker, raw, status=404)
    url = reverse("batches:detail", args=[target.batch.din])
    if target.dose is not None:
        messages.info(request, _("Dose %(dose)s of this batch.") % {"dose": target.dose.dose_id})
        url += f"#dose-{target.dose.number}"
    elif target.collection is not None:
        messages.info(
            request,
            _("Collection %(din)s (%(kind)s) belongs to this batch's therapy.")
            % {"din": target.collection.din, "kind": target.collection.get_kind_display()},
        )
    return redirect(url)


def _refused(request: HttpRequest, blocker: Blocker, raw: str, *, status: int) -> HttpResponse:
    """The scan page: the refusal beside the scan box (base layout), the field empty and focused."""
    context = {"scan_refusal": blocker, "scan_raw": raw[:80]}
    return render(request, "batches/scan.html", context, status=status)


@require_http_methods(["GET", "POST"])
@role_required(Role.TECHNICIAN, Role.QA)
def step_correct(request: HttpRequest, din: str, pk: int) -> HttpResponse:
    """Correct a logged step with a reason: a new step amends it; the original stays visible."""
    batch = batch_or_404(request, din)
    step = get_object_or_404(CultureStep.objects.select_related("performed_by"), pk=pk, batch=batch)
    form = StepCorrectionForm(request.POST or None, step=step, auto_id="correct_%s")
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            values = form.service_arguments()
            outcome = call_service(
                form, lambda: step_amend(step=step, actor=request.user, reason=reason, **values)
            )
            if outcome.ok:
                enqueue_batch_refresh(batch.pk)
                messages.success(request, _("%(step)s corrected.") % {"step": step.get_kind_display()})
                return redirect("batches:detail", din=batch.din)
            status = outcome.status
    context = {"batch": batch, "step": step, "form": form}
    return render(request, "batches/step_correct.html", context, status=status)
