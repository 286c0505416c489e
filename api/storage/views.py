"""The storage API: storage units and their positions, readings, store and thaw of a dose's units.

Thin views: input serializer -> one service or selector call -> output.
Errors are raised, never caught: ``api.errors`` renders them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiRequest, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView, problems
from api.parsers import BoundedJSONParser
from api.permissions import allow, scope_to_principal
from api.storage import serializers as s
from batches.models import Dose
from core import scan
from core.roles import Role
from storage import selectors
from storage.domain import thaw_deadline
from storage.models import Container
from storage.services import reading_record, readings_import, unit_store, unit_thaw
from storage.services.identity import unit_from_scan

StorageRead = allow(Role.TECHNICIAN, Role.QC, Role.QA, name="StorageRead")
Readings = allow(Role.TECHNICIAN, Role.QA, name="Readings")
Storing = allow(Role.TECHNICIAN, name="Storing")
Thawing = allow(Role.COORDINATOR, Role.TECHNICIAN, Role.QA, name="Thawing")
CODE = OpenApiParameter(
    "code", str, OpenApiParameter.PATH, description="The tank or freezer code, e.g. LN2-01."
)
DOSE = OpenApiParameter("dose_id", str, OpenApiParameter.PATH, description="The dose identifier, DIN-n.")


class CsvParser(BaseParser):
    """``text/csv``: the reading file exactly as the monitoring system exports it (format: storage.domain)."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> str:
        # Bounded like every body (DATA_UPLOAD_MAX_MEMORY_SIZE: about 50,000 readings): larger is a 413.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestDataTooBig("The CSV file is larger than the upload limit: split it.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise exceptions.ParseError("The CSV file is not UTF-8 text.") from error


def _storage_unit(code: str) -> Container:
    if not (code.isascii() and code.isprintable()):
        raise exceptions.NotFound("No such tank or freezer.")
    unit = Container.objects.filter(code=code.upper(), kind__in=Container.STORAGE_UNITS).first()
    if unit is None:
        raise exceptions.NotFound(f"No tank or freezer {code[:40]}.")
    return unit


def _dose(request: Request, dose_id: str) -> Dose:
    try:
        read = scan.parse_dose(dose_id)
    except scan.ScanError as error:
        raise exceptions.NotFound(f"No dose '{dose_id[:40]}': {error.message}") from error
    dose = (
        scope_to_principal(Dose.objects.select_related("batch__therapy__protocol"), request)
        .filter(batch__din=read.din, number=read.dose_number)
        .first()
    )
    if dose is None:
        raise exceptions.NotFound(f"No dose {read.din}-{read.dose_number}.")
    return dose


class StorageUnitList(ApiView):
    permission_classes = [StorageRead]

    @extend_schema(tags=["storage"], responses={200: s.StorageUnitOut(many=True), **problems(401, 403)},
                   summary="Tanks and freezers: occupancy, free positions, last reading, open excursions")  # fmt: skip
    def get(self, request: Request) -> Response:
        return Response(s.StorageUnitOut(selectors.storage_units(), many=True).data)


class StorageUnitPositions(ApiView):
    permission_classes = [StorageRead]

    @extend_schema(tags=["storage"], parameters=[CODE], responses={200: s.PositionOut(many=True), **problems(401, 403, 404)},
                   summary="Every position of a tank or freezer, occupied (with its unit) or free")  # fmt: skip
    def get(self, request: Request, code: str) -> Response:
        positions = selectors.storage_unit_positions(_storage_unit(code))
        return Response(s.PositionOut(positions, many=True).data)


class StorageUnitReadings(ApiView):
    permission_classes = [Readings]
    parser_classes = [BoundedJSONParser, CsvParser]

    @extend_schema(
        tags=["storage"],
        parameters=[CODE],
        request={"application/json": s.ReadingIn, "text/csv": OpenApiRequest(OpenApiTypes.STR)},
        responses={
            201: PolymorphicProxySerializer(
                component_name="ReadingOrImport",
                serializers=[s.ReadingOut, s.ReadingImportOut],
                resource_type_field_name=None,
            ),
            **problems(400, 401, 403, 404, 409, 413),
        },
        summary="Record a reading (JSON), or import the monitoring system's CSV file (text/csv; all rows or none)",
        description="CSV: header `storage_unit,taken_at,temperature_c`; ISO 8601 times with their offset; "
        "a malformed file is refused (409) with every error and its line number, and nothing is imported. "
        "The CSV answer is the import record (id, filename, rows, sha256).",
    )
    def post(self, request: Request, code: str) -> Response:
        unit = _storage_unit(code)
        if isinstance(request.data, str):
            record = readings_import(text=request.data, filename=f"{unit.code}.csv", actor=request.user)
            return Response(s.ReadingImportOut(record).data, status=status.HTTP_201_CREATED)
        data = s.ReadingIn(data=request.data)
        data.is_valid(raise_exception=True)
        reading = reading_record(storage_unit=unit, actor=request.user, **data.validated_data)
        return Response(s.ReadingOut(reading).data, status=status.HTTP_201_CREATED)


class DoseStore(ApiView):
    permission_classes = [Storing]

    @extend_schema(tags=["storage"], parameters=[DOSE], request=s.StoreIn,
                   responses={201: s.PlacementOut, **problems(400, 401, 403, 404, 409)},
                   summary="Store a unit of the dose: scan the unit and the position (409 when taken)")  # fmt: skip
    def post(self, request: Request, dose_id: str) -> Response:
        dose = _dose(request, dose_id)
        data = s.StoreIn(data=request.data)
        data.is_valid(raise_exception=True)
        scanned = data.validated_data["scanned_identifier"]
        unit, _ = unit_from_scan(scanned=scanned, action="store", actor=request.user, dose_id=dose.dose_id)
        placement = unit_store(unit=unit, scanned_unit=scanned, scanned_position=data.validated_data["position"],
                               actor=request.user)  # fmt: skip
        return Response(s.PlacementOut(placement).data, status=status.HTTP_201_CREATED)


class DoseThaw(ApiView):
    permission_classes = [Thawing]

    @extend_schema(tags=["storage"], parameters=[DOSE], request=s.ThawIn,
                   responses={201: s.ThawOut, **problems(400, 401, 403, 404, 409)},
                   summary="Record the thaw of a unit of the dose (the post-thaw window starts)")  # fmt: skip
    def post(self, request: Request, dose_id: str) -> Response:
        dose = _dose(request, dose_id)
        data = s.ThawIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if v is not None}
        thaw = unit_thaw(dose_id=dose.dose_id, actor=request.user, **values)
        window = dose.batch.therapy.protocol.post_thaw_window_hours
        thaw.infuse_before = thaw_deadline(thaw.thawed_at, window)  # type: ignore[attr-defined]
        return Response(s.ThawOut(thaw).data, status=status.HTTP_201_CREATED)


__all__ = ["DoseStore", "DoseThaw", "StorageUnitList", "StorageUnitPositions", "StorageUnitReadings"]
