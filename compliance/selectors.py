"""Reads of compliance state shared by services, pages and endpoints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from batches.domain.eligibility import PatientFacts, ProtocolRules, eligibility, in_infusion_window
from batches.models import Batch, CultureStep, Dose
from batches.selectors import batch_growth
from compliance.models import (
    AdministrationAttempt,
    ChecklistTemplate,
    Deviation,
    Infusion,
    QcResult,
    ReleaseDecision,
)
from compliance.readiness import rules as rd
from compliance.records import changed_sections, release_content
from compliance.services.signatures import signature_is_valid
from core.errors import Blocker

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


def _patient_blockers(patient: PatientFacts, protocol: ProtocolRules, at: dt.datetime) -> list[Blocker]:
    on = timezone.localdate(at)
    exclusions = [
        b
        for b in eligibility(patient, protocol, on).blockers
        if b.code not in ("outside_window", "invalid_date")
    ]
    window = in_infusion_window(patient, protocol, on)
    return [*(Blocker("patient_ineligible", b.detail) for b in exclusions), *([window] if window else [])]


def patient_blockers(batch: Batch, at: dt.datetime) -> list[Blocker]:
    """Exclusions and the infusion window for this batch's patient at ``at``."""
    return _patient_blockers(
        PatientFacts.of(batch.therapy.patient), ProtocolRules.of(batch.therapy.protocol), at
    )


@dataclass(frozen=True)
class ReadinessFacts:
    """What readiness depends on that does not depend on the time asked about, nor on the batch status.

    Stored per batch (``BatchFacts``) with the ``facts_version`` they were read at
    (``cached_batch_facts``); the database bumps ``facts_version`` whenever any of
    these change (``compliance.readiness.versions``).
    The status is read from the batch row on every request; the time ``at`` is applied
    by ``batch_state_at`` (patient window) and the pure ``readiness`` (expiry).
    """

    din: str
    release_signature_valid: bool | None
    qc_pending: tuple[str, ...]
    qc_failed: tuple[str, ...]
    open_deviations: tuple[str, ...]
    doses: tuple[rd.DoseState, ...]
    patient: PatientFacts
    protocol: ProtocolRules
    projected_ready_on: dt.date | None
    release_changes: tuple[str, ...] = ()  # record sections changed since the release signature


def batch_facts(
    batch: Batch, *, ignore_infusion: Infusion | None = None, growth: bool = True
) -> ReadinessFacts:
    """Read the facts afresh, in a fixed number of queries whatever the history length.

    ``batch`` comes with ``therapy__patient`` and ``therapy__protocol`` loaded (else
    they are fetched). Six more queries for a released batch: its record is hashed.
    Without ``growth`` the effective steps are not read and ``projected_ready_on`` is None.
    """
    qc = qc_status(batch)
    active = {
        i.dose_id: i
        for i in Infusion.objects.filter(dose__batch=batch, status__in=Infusion.ACTIVE)
        if ignore_infusion is None or i.pk != ignore_infusion.pk
    }
    doses = tuple(
        rd.DoseState(f"{batch.din}-{dose.number}", dose.status, dose.expires_at,
                     str(active[dose.pk].pk) if dose.pk in active else None,
                     active[dose.pk].status if dose.pk in active else None)
        for dose in Dose.objects.filter(batch=batch).order_by("number")
    )  # fmt: skip
    steps = CultureStep.objects.filter(batch=batch, amended_by__isnull=True).order_by("performed_at", "id")
    release = release_signature_check(batch)
    return ReadinessFacts(
        din=batch.din,
        release_signature_valid=release.valid,
        release_changes=release.changed,
        qc_pending=qc.pending,
        qc_failed=qc.failed,
        open_deviations=tuple(
            f"{d.get_severity_display()} deviation open: {d.description}" for d in blocking_deviations(batch)
        ),
        doses=doses,
        patient=PatientFacts.of(batch.therapy.patient),
        protocol=ProtocolRules.of(batch.therapy.protocol),
        projected_ready_on=batch_growth(batch, steps).projected_ready_on if growth else None,
    )


def batch_state_at(status: str, facts: ReadinessFacts, at: dt.datetime) -> rd.BatchState:
    """The readiness input at ``at`` from a batch status and its facts (pure, no query)."""
    return rd.BatchState(
        din=facts.din,
        status=status,
        release_signature_valid=facts.release_signature_valid,
        release_changes=facts.release_changes,
        qc_pending=facts.qc_pending,
        qc_failed=facts.qc_failed,
        open_deviations=facts.open_deviations,
        patient_blockers=tuple(_patient_blockers(facts.patient, facts.protocol, at)),
        doses=facts.doses,
    )


def batch_state(batch: Batch, at: dt.datetime, *, ignore_infusion: Infusion | None = None) -> rd.BatchState:
    """Gather what readiness needs afresh (no cache), in a fixed number of queries."""
    facts = batch_facts(batch, ignore_infusion=ignore_infusion, growth=False)
    return batch_state_at(batch.status, facts, at)


def batch_readiness(batch: Batch, at: dt.datetime | None = None) -> rd.Readiness:
    """The one readiness answer for ``batch`` at ``at`` (default now), from fresh facts.

    What scheduling and administration decide on, inside their transaction.
    """
    at = at or timezone.now()
    return rd.readiness(batch_state(batch, at), at)


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
    "ReadinessFacts",
    "ReleaseCheck",
    "administration_attempt_list",
    "batch_facts",
    "batch_readiness",
    "batch_state",
    "batch_state_at",
    "blocking_deviations",
    "checklist_template",
    "decision_signature_valid",
    "deviation_list",
    "patient_blockers",
    "qc_status",
    "release_decision_history",
    "release_decision_latest",
    "release_signature_check",
    "release_signature_valid",
]
