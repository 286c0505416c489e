"""Downloads: batch record, certificate of analysis, labels (PDF and ZPL), CSV exports.

Same rights and clinic scoping as the JSON reads (``api.permissions``); the
document rules themselves (staff only, the certificate for the batch's own
clinic once released) are ``documents.services.document_permit``, checked
before anything is rendered. Every download is logged (``download_log``).
Errors stay problem+json: content negotiation always picks the JSON renderer,
and a document is returned as a plain ``HttpResponse``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from api.base import ApiView, batch_by_din, problems
from api.filters import BatchFilter
from api.lab.views import DIN_PARAMETER
from api.permissions import ReadAccess, allow, principal_clinic_id
from batches import selectors
from batches.models import Batch
from documents import exports, render
from documents.labels import SIZES, size_or_default
from documents.services import STAFF, Document, document_permit, download_log

StaffDocuments = allow(*STAFF, name="StaffDocuments")
PDF, ZPL, CSV = "application/pdf", "application/zpl", "text/csv"

SIZE_PARAMETER = OpenApiParameter(
    "size", str, OpenApiParameter.QUERY, enum=list(SIZES), default="4x2",
    description="Label size in inches, width x height (2x1 or 4x2).",
)  # fmt: skip


def _binary(media_type: str, description: str, codes: tuple[int, ...] = (401, 403, 404)) -> dict[Any, Any]:
    kind = OpenApiTypes.BINARY if media_type in (PDF,) else OpenApiTypes.STR
    return {(200, media_type): OpenApiResponse(kind, description=description), **problems(*codes)}


class AlwaysJson(BaseContentNegotiation):
    """Errors of a download are problem+json whatever the client's ``Accept`` asked for."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class DownloadView(ApiView):
    """A GET that answers with a file; ``document`` names it in the download log."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = AlwaysJson
    document: str = ""

    def actor_name(self) -> str:
        user = self.request.user
        return getattr(user, "display_name", "") or user.full_name or user.get_username()

    def batch(self, din: str) -> Batch:
        """The batch the URL names, within the caller's clinic scope, with effective steps and growth."""
        scoped = selectors.with_effective_steps(
            selectors.batch_list(clinic_id=principal_clinic_id(self.request))
        )
        (batch,) = selectors.with_growth([batch_by_din(scoped, din)])
        return batch

    def deliver(self, content: bytes | str, media_type: str, filename: str, **log: Any) -> HttpResponse:
        channel = "api" if self.request.auth is not None else "web"
        download_log(actor=self.request.user, document=self.document, channel=channel, **log)
        response = HttpResponse(
            content, content_type=f"{media_type}; charset=utf-8" if isinstance(content, str) else media_type
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


def _size(request: Request) -> str:
    try:
        return size_or_default(request.query_params.get("size"))
    except ValueError as error:
        raise exceptions.ValidationError({"size": [str(error)]}) from error


class BatchRecordPdf(DownloadView):
    """The batch record: identity, chronology with performers, QC, deviations, signed checklist, growth chart, amendment marks."""

    permission_classes = [StaffDocuments]
    document = Document.BATCH_RECORD

    @extend_schema(operation_id="batch_record_pdf", tags=["documents"], parameters=[DIN_PARAMETER], responses=_binary(PDF, "The batch record (PDF)."),
                   summary="Batch record PDF (lab staff)")  # fmt: skip
    def get(self, request: Request, din: str) -> HttpResponse:
        batch = self.batch(din)
        document_permit(actor=request.user, document=self.document, batch=batch)
        pdf = render.batch_record_pdf(batch, generated_by=self.actor_name())
        return self.deliver(pdf, PDF, f"batch-record-{batch.din}.pdf", batch=batch)


class CertificatePdf(DownloadView):
    """The certificate of analysis: QC results against specifications, the release decision and signature, the doses."""

    permission_classes = [ReadAccess]
    document = Document.CERTIFICATE

    @extend_schema(operation_id="batch_certificate_pdf", tags=["documents"], parameters=[DIN_PARAMETER],
                   responses=_binary(PDF, "The certificate of analysis (PDF)."),
                   summary="Certificate of analysis PDF (lab staff; the batch's own clinic once released)")  # fmt: skip
    def get(self, request: Request, din: str) -> HttpResponse:
        batch = self.batch(din)
        document_permit(actor=request.user, document=self.document, batch=batch)
        pdf = render.certificate_pdf(batch, generated_by=self.actor_name())
        return self.deliver(pdf, PDF, f"certificate-{batch.din}.pdf", batch=batch)


class LabelsPdf(DownloadView):
    """A sheet of ISBT 128 labels at true size; a dose gets its infusion label only once released."""

    permission_classes = [StaffDocuments]
    document = Document.LABELS_PDF

    @extend_schema(operation_id="batch_labels_pdf", tags=["documents"], parameters=[DIN_PARAMETER, SIZE_PARAMETER],
                   responses=_binary(PDF, "The label sheet (PDF).", (400, 401, 403, 404)),
                   summary="Label sheet PDF: collection, batch, QC samples, doses (lab staff)")  # fmt: skip
    def get(self, request: Request, din: str) -> HttpResponse:
        size, batch = _size(request), self.batch(din)
        document_permit(actor=request.user, document=self.document, batch=batch)
        pdf = render.labels_pdf(batch, size=size, generated_by=self.actor_name())
        return self.deliver(
            pdf, PDF, f"labels-{batch.din}-{size}.pdf", batch=batch, parameters={"size": size}
        )


class LabelsZpl(DownloadView):
    """The same labels in ZPL II (``^BC`` Code 128, ``^BX`` DataMatrix), one format per label."""

    permission_classes = [StaffDocuments]
    document = Document.LABELS_ZPL

    @extend_schema(operation_id="batch_labels_zpl", tags=["documents"], parameters=[DIN_PARAMETER, SIZE_PARAMETER],
                   responses=_binary(ZPL, "The labels in ZPL II for Zebra-compatible printers.", (400, 401, 403, 404)),
                   summary="Labels as ZPL (lab staff)")  # fmt: skip
    def get(self, request: Request, din: str) -> HttpResponse:
        size, batch = _size(request), self.batch(din)
        document_permit(actor=request.user, document=self.document, batch=batch)
        zpl = render.labels_zpl(batch, size=size)
        return self.deliver(
            zpl, ZPL, f"labels-{batch.din}-{size}.zpl", batch=batch, parameters={"size": size}
        )


BATCH_FILTERS = [
    OpenApiParameter("status", str, OpenApiParameter.QUERY, enum=[c for c, _ in BatchFilter.base_filters["status"].extra["choices"]]),
    OpenApiParameter("patient", OpenApiTypes.UUID, OpenApiParameter.QUERY, description="Patient id (UUID)."),
    OpenApiParameter("therapy", str, OpenApiParameter.QUERY, description="Therapy COI."),
]  # fmt: skip


class BatchListCsv(DownloadView):
    """The batch list as CSV; cells that a spreadsheet would evaluate are prefixed with an apostrophe."""

    permission_classes = [ReadAccess]
    document = Document.BATCH_LIST_CSV

    @extend_schema(operation_id="batch_list_csv", tags=["documents"], parameters=BATCH_FILTERS,
                   responses=_binary(CSV, "The batch list as CSV, with the list's filters.", (400, 401, 403)),
                   summary="Batch list CSV (same filters and clinic scoping as GET /batches/)")  # fmt: skip
    def get(self, request: Request) -> HttpResponse:
        document_permit(actor=request.user, document=self.document)
        batches = selectors.batch_detail_list(clinic_id=principal_clinic_id(request))
        filtered = BatchFilter(request.query_params, queryset=batches, request=request)
        if not filtered.is_valid():
            raise exceptions.ValidationError(filtered.errors)
        content = exports.batch_list_csv(selectors.with_growth(filtered.qs))
        filters = {k: v for k, v in request.query_params.items() if k in BatchFilter.base_filters}
        return self.deliver(content, CSV, "batches.csv", parameters=filters)


class TimelineCsv(DownloadView):
    """One batch's steps, custody transfers and findings in time order, corrections spelled out."""

    permission_classes = [ReadAccess]
    document = Document.TIMELINE_CSV

    @extend_schema(operation_id="batch_timeline_csv", tags=["documents"], parameters=[DIN_PARAMETER],
                   responses=_binary(CSV, "One batch's timeline as CSV."), summary="Batch timeline CSV")  # fmt: skip
    def get(self, request: Request, din: str) -> HttpResponse:
        batch = self.batch(din)
        document_permit(actor=request.user, document=self.document, batch=batch)
        return self.deliver(exports.timeline_csv(batch), CSV, f"timeline-{batch.din}.csv", batch=batch)


app_name = "documents_api"

urlpatterns = [
    path("batches.csv", BatchListCsv.as_view(), name="batch-list-csv"),
    path("batches/<str:din>/record.pdf", BatchRecordPdf.as_view(), name="batch-record"),
    path("batches/<str:din>/certificate.pdf", CertificatePdf.as_view(), name="batch-certificate"),
    path("batches/<str:din>/labels.pdf", LabelsPdf.as_view(), name="batch-labels-pdf"),
    path("batches/<str:din>/labels.zpl", LabelsZpl.as_view(), name="batch-labels-zpl"),
    path("batches/<str:din>/timeline.csv", TimelineCsv.as_view(), name="batch-timeline-csv"),
]
