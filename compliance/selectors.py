"""Reads of compliance state shared by services, pages and endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from batches.models import Batch
from compliance.models import (
    AdministrationAttempt,
    ChecklistTemplate,
    Deviation,
    QcResult,
    ReleaseDecision,
)
from compliance.records import changed_sections, release_content
from compliance.services.signatures import signature_is_valid

BLOCKING_SEVERITIES = (Deviation.Severity.MAJOR, Deviation.Severity.CRITICAL)


@dataclass(frozen=True)
class QcStatus:
    latest: dict[str, QcResult]  # test -> its latest result (a retest replaces the result it retests)
    pending: tuple[str, ...]
    failed: tuple[str, ...]

    @property
    def complete_and_within_spec(self) -> bool:
        return not self.pending and not self.failed


def qc_status(batch: Batch) -> QcStatus:
    """Required tests without a result, and latest results out of specification (one query)."""
    required = [spec["test"] for spec in batch.therapy.protocol.qc_specifications]
    latest: dict[str, QcResult] = {}
    for result in QcResult.objects.filter(batch=batch).order_by("tested_at", "id"):
        latest[result.test] = result
    pending = tuple(test for test in required if test not in latest)
    failed = tuple(test for test in required if test in latest and not latest[test].within_spec)
    return QcStatus(latest, pending, failed)


def blocking_deviations(batch: Batch) -> list[Deviation]:
    """Open major or critical deviations, and open minor ones without a signed impact assessment."""
    open_ = Deviation.objects.filter(batch=batch, status=Deviation.Status.OPEN)
    return [d for d in open_ if d.severity in BLOCKING_SEVERITIES or d.assessment_signature_id is None]


def checklist_template(batch: Batch) -> ChecklistTemplate:
    """The checklist version in force when the batch was created (a batch keeps it for good)."""
    return (
        ChecklistTemplate.objects.filter(effective_from__lte=batch.created_at)
        .order_by("-effective_from", "-version")
        .prefetch_related("items")
        .first()
    ) or ChecklistTemplate.objects.order_by("effective_from").prefetch_related("items").first()  # type: ignore[return-value]


@dataclass(frozen=True)
class ReleaseCheck:
    """Whether the release in force still holds, and if not, which record sections changed since."""

    valid: bool | None  # None: never released
    changed: tuple[str, ...] = ()


def release_signature_check(batch: Batch) -> ReleaseCheck:
    """The release in force against the record as it stands now (one query, then the record).

    The release in force is the latest decision when that is a release; a later
    rejection (first decision or re-review) leaves none, so nothing is left to re-sign.
    """
    decision = (
        ReleaseDecision.objects.filter(batch=batch)
        .select_related("signature")
        .order_by("-decided_at")
        .first()
    )
    if decision is None or decision.decision != ReleaseDecision.Decision.RELEASE:
        return ReleaseCheck(None)
    current = release_content(batch, decision.decision)
    if signature_is_valid(decision.signature, current):
        return ReleaseCheck(True)
    return ReleaseCheck(False, changed_sections(decision.signature.content, current))


def release_signature_valid(batch: Batch) -> bool | None:
    """None if never released; else whether the release signature still matches the record."""
    return release_signature_check(batch).valid


# --- Web UI ---------------------------------------------------------------------


def deviation_list(batch: Batch) -> list[Deviation]:
    """The batch's deviations, open first then newest, with the people and signatures shown (one query)."""
    return list(
        Deviation.objects.filter(batch=batch)
        .select_related("opened_by", "investigated_by", "assessment_signature", "closure_signature")
        .order_by("-status", "-opened_at")
    )


def administration_attempt_list(batch: Batch) -> list[AdministrationAttempt]:
    """Refused bedside scans of the batch's infusions, newest first, with who scanned and the dose (one query)."""
    return list(
        AdministrationAttempt.objects.filter(infusion__dose__batch=batch)
        .select_related("attempted_by", "infusion__dose__batch")
        .order_by("-attempted_at", "-id")
    )


def release_decision_latest(batch: Batch) -> ReleaseDecision | None:
    """The batch's most recent release or rejection, with its signature and signer (one query)."""
    return (
        ReleaseDecision.objects.filter(batch=batch)
        .select_related("signature__signer")
        .order_by("-decided_at")
        .first()
    )


def release_decision_history(batch: Batch) -> list[ReleaseDecision]:
    """Every release or rejection of the batch, newest first, with signature and signer (one query)."""
    return list(
        ReleaseDecision.objects.filter(batch=batch)
        .select_related("signature__signer")
        .order_by("-decided_at", "-id")
    )


def decision_signature_valid(batch: Batch, decision: ReleaseDecision) -> bool:
    """Whether this decision's signature still matches the record as it stands now."""
    return signature_is_valid(decision.signature, release_content(batch, decision.decision))


__all__ = [
    "QcStatus",
    "ReleaseCheck",
    "administration_attempt_list",
    "blocking_deviations",
    "checklist_template",
    "decision_signature_valid",
    "deviation_list",
    "qc_status",
    "release_decision_history",
    "release_decision_latest",
    "release_signature_check",
    "release_signature_valid",
]
