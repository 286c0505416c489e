"""The compliance API: QC, deviations, checklist, release, readiness, infusions, FHIR.

Thin views: input serializer -> one service or selector call -> output.
Errors are raised, never caught: ``api.errors`` renders them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api import fhir
from api.base import ApiView, batch_by_din, din_or_404, problems
from api.errors import blocker_list
from api.fields import parse_timestamp
from api.gmp import serializers as s
from api.lab.views import DIN_PARAMETER
from api.permissions import ALL_ROLES, ReadAccess, allow, principal_clinic_id, scope_to_principal
from batches import selectors as batch_selectors
from batches.models import Batch, Dose
from compliance import selectors
from compliance.models import Deviation, Infusion
from compliance.readiness import readiness_report
from compliance.readiness import stored as stored_facts
from compliance.services import checklists, deviations, qc, release_review, scheduling
from core import scan
from core.roles import Role
from monitoring.tasks import enqueue_batch_refresh

QcWork = allow(Role.QC, name="QcWork")
QaWork = allow(Role.QA, name="QaWork")
StaffWork = allow(*ALL_ROLES, name="StaffWork")
DeviationWork = allow(Role.TECHNICIAN, Role.QC, Role.QA, name="DeviationWork")
Scheduling = allow(Role.COORDINATOR, Role.QA, clinic=True, name="Scheduling")
Bedside = allow(Role.COORDINATOR, Role.TECHNICIAN, Role.QA, name="Bedside")
INFUSION_CLINIC = "dose__batch__therapy__patient__clinic"


def _valid(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _batch(request: Request, din: str) -> Batch:
    return batch_by_din(scope_to_principal(batch_selectors.batch_list(), request), din)


def _tags(
    tag: str, request: Any = None, response: Any = None, codes: tuple[int, ...] = (), **extra: Any
) -> Any:
    return extend_schema(
        tags=[tag],
        request=request,
        responses={**({} if response is None else response), **problems(*codes)},
        **extra,
    )


# --- QC and deviations -----------------------------------------------------------------


class QcResultCreate(ApiView):
    permission_classes = [QcWork]

    @_tags("qc", s.QcResultIn, {201: s.QcResultOut}, (400, 401, 403, 404, 409), parameters=[DIN_PARAMETER],
           summary="Record a QC result; within_spec is computed, out of specification opens a deviation")  # fmt: skip
    def post(self, request: Request, din: str) -> Response:
        batch = _batch(request, din)
        result = qc.qc_result_record(batch=batch, actor=request.user, **_valid(s.QcResultIn, request))
        enqueue_batch_refresh(batch.pk)  # an out-of-specification result changes the batch's flags
        return Response(s.QcResultOut(result).data, status=status.HTTP_201_CREATED)


class DeviationCreate(ApiView):
    permission_classes = [DeviationWork]

    @_tags("deviations", s.DeviationIn, {201: s.DeviationOut}, (400, 401, 403, 404, 409), parameters=[DIN_PARAMETER],
           summary="Open a deviation (major or critical quarantines the batch)")  # fmt: skip
    def post(self, request: Request, din: str) -> Response:
        deviation = deviations.deviation_open(
            batch=_batch(request, din), actor=request.user, **_valid(s.DeviationIn, request)
        )
        return Response(s.DeviationOut(deviation).data, status=status.HTTP_201_CREATED)


def _deviation(pk: Any) -> Deviation:
    return get_object_or_404(Deviation.objects.select_related("batch"), pk=pk)


class DeviationClose(ApiView):
    permission_classes = [QaWork]

    @_tags("deviations", s.DeviationCloseIn, {200: s.DeviationOut}, (400, 401, 403, 404, 409),
           summary="Close a deviation with QA's signature")  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        closed = deviations.deviation_close(
            deviation=_deviation(pk), actor=request.user, **_valid(s.DeviationCloseIn, request)
        )
        return Response(s.DeviationOut(closed).data)


class DeviationAssess(ApiView):
    permission_classes = [QaWork]

    @_tags("deviations", s.DeviationAssessIn, {200: s.DeviationOut}, (400, 401, 403, 404, 409),
           summary="Sign the impact assessment of a minor deviation")  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        assessed = deviations.deviation_assess(
            deviation=_deviation(pk), actor=request.user, **_valid(s.DeviationAssessIn, request)
        )
        return Response(s.DeviationOut(assessed).data)


class DeviationInvestigate(ApiView):
    permission_classes = [allow(Role.QC, Role.QA, name="Investigation")]

    @_tags("deviations", s.InvestigationIn, {200: s.DeviationOut}, (400, 401, 403, 404, 409),
           summary="Record the investigation (needed before a retest)")  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        done = deviations.deviation_investigate(
            deviation=_deviation(pk), actor=request.user, **_valid(s.InvestigationIn, request)
        )
        return Response(s.DeviationOut(done).data)


# --- Checklist and release ----------------------------------------------------------------


class ChecklistDetail(ApiView):
    permission_classes = [StaffWork]

    @_tags("release", None, {200: s.ChecklistOut}, (401, 403, 404), parameters=[DIN_PARAMETER])
    def get(self, request: Request, din: str) -> Response:
        return Response(s.checklist_data(checklists.checklist_status(_batch(request, din))))


class ChecklistSign(ApiView):
    permission_classes = [allow(Role.TECHNICIAN, Role.QC, Role.QA, name="ChecklistSigners")]

    @_tags("release", s.SignIn, {201: s.SignatureOut}, (400, 401, 403, 404, 409), parameters=[DIN_PARAMETER],
           summary="Sign a checklist item (password re-entered)")  # fmt: skip
    def post(self, request: Request, din: str, item_code: str) -> Response:
        signature = checklists.checklist_item_sign(
            batch=_batch(request, din), item_code=item_code, actor=request.user, **_valid(s.SignIn, request)
        )
        return Response(s.SignatureOut(signature).data, status=status.HTTP_201_CREATED)


class BatchReleaseView(ApiView):
    permission_classes = [QaWork]

    @_tags("release", s.ReleaseIn, {200: s.ReleaseOut}, (400, 401, 403, 404, 409), parameters=[DIN_PARAMETER],
           summary="QA release or rejection, signed with meaning 'approved'",
           description="On a released batch whose release signature no longer holds (the record changed "
                       "after release), this is QA's re-review: 'release' signs the release again over the "
                       "current record, 'reject' rejects the batch; a reason is required. Earlier decisions "
                       "are kept.")  # fmt: skip
    def post(self, request: Request, din: str) -> Response:
        decision = release_review.batch_decide(
            batch=_batch(request, din), actor=request.user, **_valid(s.ReleaseIn, request)
        )
        body = {
            **s.SignatureOut(decision.signature).data,
            "decision": decision.decision,
            "status": decision.batch.status,
        }
        return Response(body)


# --- Readiness, infusions, FHIR ---------------------------------------------------------------


def _at(request: Request) -> dt.datetime:
    raw = request.query_params.get("at")
    if not raw:
        return timezone.now()
    try:  # an unencoded "+" of an offset arrives as a space
        return parse_timestamp(raw.replace(" ", "+"))
    except ValueError as error:
        raise exceptions.ValidationError({"at": [str(error)]}) from error


def readiness_data(batch: Batch, at: dt.datetime) -> dict[str, Any]:
    """The one readiness read path (``readiness_report``) shaped as ``ReadinessOut``."""
    report = readiness_report(batch, at)
    answer = report.answer
    return {
        "din": report.din, "ready": answer.ready, "status": report.status, "at": at, "blockers": answer.blockers,
        "projected_ready_on": report.projected_ready_on,
        "projected_ready_between": report.projected_ready_between,
        "doses": [{"dose_id": d.dose_id, "ready": d.ready, "expires_at": d.expires_at, "infusion": d.infusion,
                   "blockers": d.blockers} for d in answer.doses],
    }  # fmt: skip


# ``ReadinessOut``'s own fields format the values: the JSON is the serializer's, without running it.
_DATETIME, _DATE = serializers.DateTimeField(), serializers.DateField()


def readiness_body(data: dict[str, Any]) -> dict[str, Any]:
    """``ReadinessOut(data).data`` built directly (same keys, order and formats; pinned by a test)."""
    ready_on, between = data["projected_ready_on"], data["projected_ready_between"]
    return {
        "din": data["din"], "ready": data["ready"], "status": data["status"],
        "at": _DATETIME.to_representation(data["at"]), "blockers": blocker_list(data["blockers"]),
        "projected_ready_on": None if ready_on is None else _DATE.to_representation(ready_on),
        "projected_ready_between": None if between is None else [_DATE.to_representation(d) for d in between],
        "doses": [{"dose_id": d["dose_id"], "ready": d["ready"],
                   "expires_at": None if d["expires_at"] is None else _DATETIME.to_representation(d["expires_at"]),
                   "infusion": d["infusion"], "blockers": blocker_list(d["blockers"])} for d in data["doses"]],
    }  # fmt: skip


def readiness_batch(request: Request, identifier: str) -> Batch:
    """The batch the caller may see, with its stored facts loaded; else a 404.

    A bearer request read the batch row with its token (``Readiness.read_with_token``).
    """
    din = din_or_404(identifier)
    clinic_id = principal_clinic_id(request)
    if hasattr(request.auth, "alongside"):
        batch = stored_facts.readiness_batch_of_row(request.auth.alongside, clinic_id=clinic_id)
    else:
        batch = stored_facts.readiness_batch(din, clinic_id=clinic_id)
    if batch is None:
        raise exceptions.NotFound(_("No batch %(din)s.") % {"din": din})
    return batch


class Readiness(ApiView):
    permission_classes = [ReadAccess]

    def read_with_token(self, request: Request) -> tuple[str, list[Any]] | None:
        """The batch row (``stored.READINESS_ROW_SQL``), for the bearer token's statement to read too."""
        try:
            din = din_or_404(self.kwargs["din"])
        except exceptions.NotFound:
            return None  # the view answers the 404
        return stored_facts.READINESS_ROW_SQL, [din]

    @_tags("readiness", None, {200: s.ReadinessOut}, (400, 401, 403, 404), parameters=[
        DIN_PARAMETER, OpenApiParameter("at", str, description="ISO 8601 time; default now.")])  # fmt: skip
    def get(self, request: Request, din: str) -> Response:
        at = _at(request)
        return Response(readiness_body(readiness_data(readiness_batch(request, din), at)))


def _dose(request: Request, dose_id: str | scan.Scan, *related: str) -> Dose:
    """The dose a URL or a field names (``<din>-<n>``, K optional) if the caller may see it; else 404."""
    try:
        read = dose_id if isinstance(dose_id, scan.Scan) else scan.parse_dose(dose_id)
    except scan.ScanError as error:
        raise exceptions.NotFound(
            _("No dose '%(identifier)s': %(problem)s") % {"identifier": dose_id, "problem": error.message}
        ) from error
    doses = scope_to_principal(
        Dose.objects.select_related("batch__therapy__protocol", "batch__collection", *related), request
    )
    dose = doses.filter(batch__din=read.din, number=read.dose_number).first()
    if dose is None:
        raise exceptions.NotFound(_("No dose %(dose)s.") % {"dose": f"{read.din}-{read.dose_number}"})
    return dose


def _infusion(request: Request, pk: Any) -> Infusion:
    infusions = scope_to_principal(
        Infusion.objects.select_related("dose__batch__therapy"), request, INFUSION_CLINIC
    )
    return get_object_or_404(infusions, pk=pk)


class InfusionCreate(ApiView):
    permission_classes = [Scheduling]

    @_tags("infusions", s.InfusionIn, {201: s.InfusionOut}, (400, 401, 403, 404, 409),
           summary="Schedule a released dose (409 with blockers when not ready at that time)")  # fmt: skip
    def post(self, request: Request) -> Response:
        data = _valid(s.InfusionIn, request)
        infusion = scheduling.infusion_schedule(
            dose=_dose(request, data["dose"]),
            scheduled_for=data["scheduled_for"],
            route=data["route"],
            actor=request.user,
        )
        return Response(s.InfusionOut(infusion).data, status=status.HTTP_201_CREATED)


class InfusionCancel(ApiView):
    permission_classes = [Scheduling]

    @_tags("infusions", s.CancelIn, {200: s.InfusionOut}, (400, 401, 403, 404, 409))
    def post(self, request: Request, pk: Any) -> Response:
        cancelled = scheduling.infusion_cancel(
            infusion=_infusion(request, pk), actor=request.user, **_valid(s.CancelIn, request)
        )
        return Response(s.InfusionOut(cancelled).data)


class InfusionReschedule(ApiView):
    permission_classes = [Scheduling]

    @_tags("infusions", s.RescheduleIn, {201: s.InfusionOut}, (400, 401, 403, 404, 409),
           summary="Cancel and schedule anew, with a reason (both or neither)")  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        infusion = _infusion(request, pk)
        data = _valid(s.RescheduleIn, request)
        new = scheduling.infusion_reschedule(infusion=infusion, actor=request.user, **data)
        return Response(s.InfusionOut(new).data, status=status.HTTP_201_CREATED)


class ObservationCreate(ApiView):
    permission_classes = [Bedside]

    @_tags("infusions", s.ObservationIn, {201: s.ObservationOut}, (400, 401, 403, 404, 409),
           summary="Record an adverse event or follow-up after an infusion")  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        infusion = _infusion(request, pk)
        observation = scheduling.observation_record(
            infusion=infusion, actor=request.user, **_valid(s.ObservationIn, request)
        )
        return Response(s.ObservationOut(observation).data, status=status.HTTP_201_CREATED)


class InfusionAdminister(ApiView):
    permission_classes = [Bedside]

    @_tags("infusions", s.AdministerIn, {200: s.InfusionOut}, (400, 401, 403, 404, 409),
           summary="Record administration after the bedside scan of the dose label")  # fmt: skip
    def post(self, request: Request, pk: Any) -> Response:
        given = scheduling.infusion_administer(
            infusion=_infusion(request, pk), actor=request.user, **_valid(s.AdministerIn, request)
        )
        return Response(s.InfusionOut(given).data)


class AdministrationAttemptList(ApiView):
    permission_classes = [StaffWork]

    @_tags("infusions", None, {200: s.AdministrationAttemptOut(many=True)}, (401, 403, 404),
           parameters=[DIN_PARAMETER], summary="Refused bedside scans of the batch's infusions, newest first")  # fmt: skip
    def get(self, request: Request, din: str) -> Response:
        attempts = selectors.administration_attempt_list(_batch(request, din))
        return Response(s.AdministrationAttemptOut(attempts, many=True).data)


class FhirProduct(ApiView):
    permission_classes = [ReadAccess]

    @extend_schema(
        tags=["fhir"],
        responses={
            (200, "application/fhir+json"): OpenApiResponse(description="An R5 BiologicallyDerivedProduct."),
            **problems(401, 403, 404),
        },
    )
    def get(self, request: Request, dose_id: str) -> Response:
        dose = _dose(request, dose_id, "batch__stored_facts")
        report = readiness_report(dose.batch)
        answer = report.answer.for_dose(dose.dose_id)
        resource = fhir.biologically_derived_product(
            dose, ready=bool(answer and answer.ready), readiness=report
        )
        return Response(resource, content_type="application/fhir+json")
