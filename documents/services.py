"""Who may take which document, and the record that they did (the one write of this app).

Documents are reads, but handing one out is a GMP event: every download is a
``DocumentDownload`` row, which the audit trail triggers chain and never let
anyone delete. Views call ``document_permit`` before rendering (no work for a
refused caller) and ``download_log`` once the document exists.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone, translation

from batches.models import Batch
from compliance.models import ReleaseDecision
from compliance.selectors import release_decision_latest
from core.audit import audit_context
from core.errors import NotPermitted
from core.i18n import N_
from core.roles import Role, is_clinic_system, require_own_clinic, require_role
from documents.models import DocumentDownload

Document = DocumentDownload.Document
# Lab staff: everyone who works in the facility, not the clinic's side.
STAFF = (Role.TECHNICIAN, Role.QC, Role.QA, Role.ADMIN)
STAFF_ONLY = (Document.BATCH_RECORD, Document.LABELS_PDF, Document.LABELS_ZPL)
EVERY_ROLE = (*STAFF, Role.COORDINATOR)


# What a refused download names (require_role), one phrase per document for the catalogue.
DOWNLOAD_ACTIONS = {
    "batch_record": N_("download the batch record (pdf)"),
    "certificate": N_("download the certificate of analysis (pdf)"),
    "labels_pdf": N_("download the label sheet (pdf)"),
    "labels_zpl": N_("download the labels (zpl)"),
    "batch_list_csv": N_("download the batch list (csv)"),
    "timeline_csv": N_("download the batch timeline (csv)"),
}


def _clinic_side(actor: Any) -> bool:
    return is_clinic_system(actor) or getattr(actor, "clinic_id", None) is not None


def document_permit(*, actor: Any, document: str, batch: Batch | None = None) -> None:
    """Refuse (NotPermitted) a document the actor may not take.

    Batch records and labels are lab staff's. The certificate of analysis is
    lab staff's, and the batch's own clinic's once the batch is released (a
    release in force). Exports follow the JSON reads: every role and clinic
    systems, scoped to their own clinic by the caller's query.
    """
    action = DOWNLOAD_ACTIONS.get(document, N_("download documents"))
    if document in STAFF_ONLY:
        require_role(actor, *STAFF, action=action)
        return
    require_role(actor, *EVERY_ROLE, action=action, clinic_system=True)
    if batch is None:
        return
    require_own_clinic(actor, batch.therapy.patient.clinic_id, action=action)
    if document == Document.CERTIFICATE and _clinic_side(actor) and not released(batch):
        raise NotPermitted(
            N_("The certificate of analysis is available to the clinic once the batch is released."),
            code="not_released",
        )


def released(batch: Batch) -> bool:
    """True while a QA release is in force: the latest decision is a release (its validity is printed)."""
    latest = release_decision_latest(batch)
    return latest is not None and latest.decision == ReleaseDecision.Decision.RELEASE


def download_log(
    *,
    actor: Any,
    document: str,
    batch: Batch | None = None,
    channel: str = "api",
    parameters: dict[str, Any] | None = None,
) -> DocumentDownload:
    """Record that ``actor`` took ``document`` (of ``batch``) now; checks the right again first."""
    document_permit(actor=actor, document=document, batch=batch)
    clinic_system = is_clinic_system(actor)
    name = actor.display_name if clinic_system else (actor.full_name or actor.get_username())
    context = (
        audit_context(actor_name=name, clinic=actor.clinic.code)
        if clinic_system
        else audit_context(actor=actor)
    )
    with context:
        return DocumentDownload.objects.create(
            document=document,
            batch=batch,
            user=None if clinic_system else actor,
            clinic=actor.clinic if clinic_system else None,
            actor_name=name,
            channel=channel,
            language=translation.get_language() or "en",
            parameters=parameters or {},
            downloaded_at=timezone.now(),
        )
