"""The batches API: input serializer -> one service or selector call -> output serializer.

Errors are raised, never caught here: ``api.errors`` turns them into
problem responses (DomainError -> 409, ValidationError -> 400, ...).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView, ApiViewMixin, batch_by_din, problems
from api.filters import BatchFilter
from api.lab import serializers as s
from api.permissions import (
    ClinicWork,
    CollectionWork,
    LabWork,
    ReadAccess,
    StaffRead,
    principal_clinic_id,
    registering_clinic,
    scope_to_principal,
)
from batches import selectors, services
from batches.models import Batch, Location, Patient, ProcessingProtocol
from monitoring.tasks import enqueue_batch_refresh

DIN_PARAMETER = OpenApiParameter(
    "din",
    str,
    OpenApiParameter.PATH,
    description="The batch's DIN (13 characters), or the DIN followed by its right check character.",
)


# --- Reference data -------------------------------------------------------------------


@extend_schema(tags=["reference"], responses={200: s.ProtocolOut(many=True), **problems(401, 403)})
class ProtocolList(ApiViewMixin, generics.ListAPIView):
    """Processing protocols, every version, with their parameters."""

    permission_classes = [ReadAccess]
    serializer_class = s.ProtocolOut
    queryset = ProcessingProtocol.objects.order_by("code", "version")
    pagination_class = None


@extend_schema(tags=["reference"], responses={200: s.LocationOut(many=True), **problems(401, 403)})
class LocationList(ApiViewMixin, generics.ListAPIView):
    """Locations in use: the ``code`` is what custody transfers name."""

    permission_classes = [StaffRead]
    serializer_class = s.LocationOut
    queryset = Location.objects.filter(active=True).select_related("clinic").order_by("code")
    pagination_class = None


# --- Patients and therapies -----------------------------------------------------------


class PatientCreate(ApiView):
    permission_classes = [ClinicWork]

    @extend_schema(
        tags=["patients"],
        request=s.PatientIn,
        responses={201: s.PatientOut, **problems(400, 401, 403)},
        summary="Register a pseudonymous patient",
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.PatientIn, request)
        clinic = registering_clinic(request, data.pop("clinic", None))
        patient = services.patient_create(clinic=clinic, actor=request.user, **data)
        return Response(s.PatientOut(patient).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["patients"], responses={200: s.PatientOut, **problems(401, 403, 404)})
class PatientDetail(ApiViewMixin, generics.RetrieveAPIView):
    permission_classes = [ReadAccess]
    serializer_class = s.PatientOut

    def get_queryset(self) -> Any:
        return scope_to_principal(Patient.objects.select_related("clinic"), self.request)


class TherapyCreate(ApiView):
    permission_classes = [ClinicWork]

    @extend_schema(
        tags=["patients"],
        request=s.TherapyIn,
        responses={201: s.TherapyOut, **problems(400, 401, 403, 409)},
        summary="Open a therapy (refused with blockers when the patient is not eligible)",
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.TherapyIn, request)
        therapy = services.therapy_create(
            patient=data["patient"], protocol=data["protocol"], actor=request.user
        )
        return Response(s.TherapyOut(therapy).data, status=status.HTTP_201_CREATED)


# --- Collections and batches ------------------------------------------------------------


class CollectionCreate(ApiView):
    permission_classes = [CollectionWork]

    @extend_schema(
        tags=["batches"],
        request=s.CollectionIn,
        responses={201: s.CollectionOut, **problems(400, 401, 403, 409)},
        summary="Log a collection; a cell-source collection opens its batch",
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.CollectionIn, request)
        collection = services.collection_create(actor=request.user, **data)
        return Response(s.CollectionOut(collection).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["batches"], responses={200: s.BatchOut(many=True), **problems(400, 401, 403)})
class BatchList(ApiViewMixin, generics.ListAPIView):
    """Batches newest first; a clinic sees its own."""

    permission_classes = [ReadAccess]
    serializer_class = s.BatchOut
    filterset_class = BatchFilter

    def get_queryset(self) -> Any:
        return selectors.batch_detail_list(clinic_id=principal_clinic_id(self.request))

    def paginate_queryset(self, queryset: Any) -> list[Batch] | None:
        page = super().paginate_queryset(queryset)
        return None if page is None else selectors.with_growth(page)


@extend_schema(
    tags=["batches"], parameters=[DIN_PARAMETER], responses={200: s.BatchOut, **problems(401, 403, 404)}
)
class BatchDetail(ApiViewMixin, generics.RetrieveAPIView):
    permission_classes = [ReadAccess]
    serializer_class = s.BatchOut

    def get_object(self) -> Batch:
        queryset = selectors.batch_detail_list(clinic_id=principal_clinic_id(self.request))
        (batch,) = selectors.with_growth([batch_by_din(queryset, self.kwargs["din"])])
        return batch


# --- Lab work -------------------------------------------------------------------------


class CustodyCreate(ApiView):
    permission_classes = [LabWork]

    @extend_schema(
        tags=["lab"],
        parameters=[DIN_PARAMETER],
        request=s.CustodyIn,
        responses={201: s.CustodyOut, **problems(400, 401, 403, 404, 409)},
        summary="Record a custody transfer (a wrong scan is refused and recorded)",
    )
    def post(self, request: Request, din: str) -> Response:
        batch = batch_by_din(selectors.batch_list(), din)
        data = _valid(s.CustodyIn, request)
        transfer = services.custody_transfer(batch=batch, actor=request.user, **data)
        enqueue_batch_refresh(batch.pk)
        return Response(s.CustodyOut(transfer).data, status=status.HTTP_201_CREATED)


class StepCreate(ApiView):
    permission_classes = [LabWork]

    @extend_schema(
        tags=["lab"],
        parameters=[DIN_PARAMETER],
        request=s.StepIn,
        responses={201: s.StepOut, **problems(400, 401, 403, 404, 409)},
        summary="Log a culture step (moves the batch on where the step does)",
    )
    def post(self, request: Request, din: str) -> Response:
        batch = batch_by_din(selectors.batch_list(), din)
        serializer = s.StepIn(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        step = services.step_record(batch=batch, actor=request.user, **serializer.service_arguments())
        enqueue_batch_refresh(batch.pk)  # flags follow the step without waiting for the next sweep
        return Response(s.StepOut(step).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
