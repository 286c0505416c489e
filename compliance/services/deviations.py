"""Deviations and findings: opened, investigated, assessed and closed by QA with a signature."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from batches.domain import BatchStatus, quarantine_exit
from batches.domain.lifecycle import TRANSITIONS
from batches.models import Batch, Finding
from batches.services import batch_transition
from compliance import webhook_events
from compliance.models import Deviation, QcResult, User
from compliance.selectors import blocking_deviations
from compliance.services.signatures import signature_create, signer_authenticate
from core.audit import audit_context
from core.errors import Blocker, DomainError
from core.i18n import N_
from core.roles import Role, require_role
from webhooks.models import EventType


def deviation_open(
    *, batch: Batch, severity: str, description: str, actor: User, qc_result: QcResult | None = None
) -> Deviation:
    """Open a deviation. A major or critical one quarantines the batch until it is closed.

    The batch is locked first, so a release or a closure deciding on the
    batch's deviations either sees this one or is decided before it opens.
    Lab staff only: technicians, QC and QA (NotPermitted otherwise).
    """
    require_role(actor, Role.TECHNICIAN, Role.QC, Role.QA, action=N_("open deviations"))
    if severity not in Deviation.Severity.values:
        raise DomainError(
            [
                Blocker(
                    "invalid_severity",
                    N_("Severity must be one of: %(severities)s."),
                    {"severities": ", ".join(Deviation.Severity.values)},
                )
            ]
        )
    if not description.strip():
        raise DomainError([Blocker("description_required", N_("Describe the deviation."))])
    with transaction.atomic(), audit_context(actor=actor, reason=f"{severity} deviation opened"):
        _lock_batch(batch.pk)
        deviation = Deviation.objects.create(
            batch=batch, severity=severity, description=description, qc_result=qc_result,
            opened_at=timezone.now(), opened_by=actor,
        )  # fmt: skip
        if severity != Deviation.Severity.MINOR:
            _quarantine(batch, actor, f"{severity} deviation: {description}")
    return deviation


def _lock_batch(batch_id: int) -> Batch:
    # Batch before deviation, both before the first audited write: the order in core.audit.
    return Batch.objects.select_for_update(no_key=True).get(pk=batch_id)


def _quarantine(batch: Batch, actor: User, reason: str) -> None:
    status = BatchStatus(Batch.objects.get(pk=batch.pk).status)
    if BatchStatus.QUARANTINED in TRANSITIONS[status]:
        batch_transition(batch=batch, to=BatchStatus.QUARANTINED, actor=actor, reason=reason)
        webhook_events.batch_event(batch=batch, type=EventType.BATCH_QUARANTINED)


def deviation_investigate(
    *, deviation: Deviation, actor: User, investigation: str, root_cause: str = ""
) -> Deviation:
    """Record the investigation and the root cause it found (a retest of an OOS result needs one).

    Recorded again, it replaces the text; the audit trail keeps every earlier version.
    """
    require_role(actor, Role.QA, Role.QC, action=N_("record a deviation investigation"))
    if not investigation.strip():
        raise DomainError([Blocker("investigation_required", N_("Describe the investigation."))])
    with transaction.atomic(), audit_context(actor=actor, reason="deviation investigated"):
        _lock_batch(deviation.batch_id)
        locked = Deviation.objects.select_for_update(no_key=True).get(pk=deviation.pk)
        _refuse_if_closed(locked)
        locked.investigation, locked.root_cause = investigation, root_cause
        locked.investigated_at = timezone.now()
        locked.investigated_by = actor
        locked.save(update_fields=["investigation", "root_cause", "investigated_at", "investigated_by"])
    return locked


def deviation_assess(
    *, deviation: Deviation, actor: User, password: str, impact_assessment: str
) -> Deviation:
    """QA's signed impact assessment: a minor deviation then no longer blocks release."""
    require_role(actor, Role.QA, action=N_("assess a deviation"))
    if not impact_assessment.strip():
        raise DomainError([Blocker("assessment_required", N_("Write the impact assessment."))])
    signer_authenticate(user=actor, password=password)
    with transaction.atomic(), audit_context(actor=actor, reason="deviation impact assessed"):
        _lock_batch(deviation.batch_id)
        locked = Deviation.objects.select_for_update(no_key=True).get(pk=deviation.pk)
        _refuse_if_closed(locked)
        locked.impact_assessment = impact_assessment
        locked.assessment_signature = signature_create(
            signer=actor, meaning="reviewed", record_type="deviation_assessment", record_id=str(locked.pk),
            content={"deviation": str(locked.pk), "description": locked.description, "impact_assessment": impact_assessment},
        )  # fmt: skip
        locked.save(update_fields=["impact_assessment", "assessment_signature"])
    return locked


def deviation_close(
    *, deviation: Deviation, actor: User, password: str, impact_assessment: str, capa: str
) -> Deviation:
    """QA closes a deviation with a signature; the batch leaves quarantine when nothing else holds it.

    The batch is locked before the deviation, so concurrent closures of two
    deviations of one batch run one after the other and the last one sees
    that nothing holds the batch any more.
    """
    require_role(actor, Role.QA, action=N_("close a deviation"))
    blockers = []
    if not impact_assessment.strip():
        blockers.append(Blocker("assessment_required", N_("Write the impact assessment.")))
    if not capa.strip():
        blockers.append(Blocker("capa_required", N_("Record the corrective and preventive action (CAPA).")))
    if blockers:
        raise DomainError(blockers)
    signer_authenticate(user=actor, password=password)
    with transaction.atomic(), audit_context(actor=actor, reason="deviation closed"):
        _lock_batch(deviation.batch_id)
        locked = Deviation.objects.select_for_update(no_key=True).get(pk=deviation.pk)
        _refuse_if_closed(locked)
        if locked.qc_result_id and not locked.investigation:
            raise DomainError(
                [
                    Blocker(
                        "investigation_required",
                        N_("An out-of-specification deviation needs its investigation recorded first."),
                    )
                ]
            )
        locked.impact_assessment, locked.capa = impact_assessment, capa
        locked.status, locked.closed_at = Deviation.Status.CLOSED, timezone.now()
        locked.closure_signature = signature_create(
            signer=actor, meaning="approved", record_type="deviation_closure", record_id=str(locked.pk),
            content={"deviation": str(locked.pk), "severity": locked.severity, "description": locked.description,
                     "investigation": locked.investigation, "root_cause": locked.root_cause, "impact_assessment": impact_assessment, "capa": capa},
        )  # fmt: skip
        locked.save(update_fields=["impact_assessment", "capa", "status", "closed_at", "closure_signature"])
        _lift_quarantine_if_clear(locked.batch, actor)
    return locked


def _refuse_if_closed(deviation: Deviation) -> None:
    if deviation.status == Deviation.Status.CLOSED:
        raise DomainError([Blocker("deviation_closed", N_("The deviation is already closed."))])


def _lift_quarantine_if_clear(batch: Batch, actor: User) -> None:
    batch.refresh_from_db()
    if batch.status != BatchStatus.QUARANTINED or not batch.quarantined_from:
        return
    if any(d.severity != Deviation.Severity.MINOR for d in blocking_deviations(batch)):
        return
    target = quarantine_exit(BatchStatus(batch.quarantined_from))
    batch_transition(batch=batch, to=target, actor=actor, reason="quarantine lifted: deviations closed")


def finding_assess(
    *, finding: Finding, actor: User, password: str, assessment: str, now: dt.datetime | None = None
) -> Finding:
    """QA assesses a custody, temperature or identity finding, with a signature."""
    require_role(actor, Role.QA, action=N_("assess a finding"))
    if not assessment.strip():
        raise DomainError([Blocker("assessment_required", N_("Write the assessment."))])
    signer_authenticate(user=actor, password=password)
    with transaction.atomic(), audit_context(actor=actor, reason="finding assessed"):
        _lock_batch(finding.batch_id)
        locked = Finding.objects.select_for_update(no_key=True).get(pk=finding.pk)
        if locked.assessed_at is not None:
            raise DomainError([Blocker("already_assessed", N_("The finding has been assessed already."))])
        signature_create(
            signer=actor, meaning="reviewed", record_type="finding_assessment", record_id=str(locked.pk),
            content={"finding": locked.pk, "kind": locked.kind, "detail": locked.detail, "assessment": assessment},
        )  # fmt: skip
        locked.assessment, locked.assessed_at, locked.assessed_by = assessment, now or timezone.now(), actor
        locked.save(update_fields=["assessment", "assessed_at", "assessed_by"])
    return locked
