"""The facts readiness depends on, read afresh from the database.

``batch_facts`` reads what does not depend on the time asked about (QC,
deviations, the release signature, doses and infusions, patient and protocol,
the projected ready day); ``batch_state_at`` applies a time to them, and the
pure ``rules.readiness`` answers. ``batch_readiness`` is the fresh answer that
scheduling and administration decide on inside their transaction; every other
read goes through the stored facts (``compliance.readiness.readiness_report``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from batches.domain.eligibility import PatientFacts, ProtocolRules, eligibility, in_infusion_window
from batches.models import Batch, CultureStep, Dose
from batches.selectors import batch_growth
from compliance.models import Infusion
from compliance.readiness import rules as rd
from compliance.selectors import blocking_deviations, qc_status, release_signature_check
from core.errors import Blocker
from storage.selectors import storage_facts


def _patient_blockers(patient: PatientFacts, protocol: ProtocolRules, at: dt.datetime) -> list[Blocker]:
    on = timezone.localdate(at)
    exclusions = [
        b
        for b in eligibility(patient, protocol, on).blockers
        if b.code not in ("outside_window", "invalid_date")
    ]
    window = in_infusion_window(patient, protocol, on)
    return [
        *(Blocker("patient_ineligible", b.detail, b.params) for b in exclusions),
        *([window] if window else []),
    ]


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
    open_deviations: tuple[tuple[str, str], ...]  # (severity code, description): words chosen by the reader
    doses: tuple[rd.DoseState, ...]
    patient: PatientFacts
    protocol: ProtocolRules
    projected_ready_on: dt.date | None
    release_changes: tuple[str, ...] = ()  # record sections changed since the release signature
    # The 80% interval of the projected ready date, (low, high); None without one.
    projected_ready_between: tuple[dt.date, dt.date] | None = None


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
    storage = storage_facts([batch.pk])
    doses = tuple(
        rd.DoseState(f"{batch.din}-{dose.number}", dose.status, dose.expires_at,
                     str(active[dose.pk].pk) if dose.pk in active else None,
                     active[dose.pk].status if dose.pk in active else None,
                     *dose_storage(storage, dose.pk))
        for dose in Dose.objects.filter(batch=batch).order_by("number")
    )  # fmt: skip
    steps = CultureStep.objects.filter(batch=batch, amended_by__isnull=True).order_by("performed_at", "id")
    grown = batch_growth(batch, steps) if growth else None
    release = release_signature_check(batch)
    return ReadinessFacts(
        din=batch.din,
        release_signature_valid=release.valid,
        release_changes=release.changed,
        qc_pending=qc.pending,
        qc_failed=qc.failed,
        open_deviations=tuple((d.severity, d.description) for d in blocking_deviations(batch)),
        doses=doses,
        patient=PatientFacts.of(batch.therapy.patient),
        protocol=ProtocolRules.of(batch.therapy.protocol),
        projected_ready_on=grown.projected_ready_on if grown else None,
        projected_ready_between=grown.projected_ready_between if grown else None,
    )


def dose_storage(
    storage: dict[int, Any], dose_pk: int
) -> tuple[dt.datetime | None, tuple[rd.StorageIssue, ...]]:
    """The thaw deadline and storage holds of one dose, from ``storage.selectors.storage_facts``."""
    facts = storage.get(dose_pk)
    if facts is None:
        return None, ()
    return facts.thaw_deadline, tuple(rd.StorageIssue(i.code, i.unit, i.since, i.where) for i in facts.issues)


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
