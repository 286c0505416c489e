"""Reads of compliance state shared by services, pages and endpoints."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from batches.domain import Blocker
from batches.domain.eligibility import PatientFacts, ProtocolRules, eligibility, in_infusion_window
from batches.models import Batch, BatchFacts, CultureStep, Dose, Therapy
from batches.selectors import batch_growth
from compliance.domain import readiness as rd
from compliance.domain.qc import needs_formulation
from compliance.models import ChecklistTemplate, Deviation, Infusion, QcResult, ReleaseDecision
from compliance.records import release_content
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


def release_signature_valid(batch: Batch) -> bool | None:
    """None if never released; else whether the release signature still matches the record."""
    decision = (
        ReleaseDecision.objects.filter(batch=batch, decision=ReleaseDecision.Decision.RELEASE)
        .select_related("signature")
        .order_by("-decided_at")
        .first()
    )
    if decision is None:
        return None
    return signature_is_valid(decision.signature, release_content(batch, decision.decision))


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
    these change (``batches.facts``).
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
    return ReadinessFacts(
        din=batch.din,
        release_signature_valid=release_signature_valid(batch),
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


# --- Stored facts (reads that decide nothing: API, FHIR, pages) -------------------
#
# ``BatchFacts`` holds each batch's facts as last computed and the ``facts_version``
# they were computed at, shared by every process. A read takes them when that
# version is the batch's current one, else computes them afresh and stores them.

FACTS_FORMAT = 1  # bump when the JSON shape changes: rows of another format are recomputed
logger = logging.getLogger(__name__)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def facts_to_json(facts: ReadinessFacts, *, therapy_id: int) -> dict[str, Any]:
    """The facts as JSON, exactly: ISO dates, datetimes with their offset, the weight as a decimal string."""
    patient, protocol = facts.patient, facts.protocol
    return {
        "format": FACTS_FORMAT,
        "therapy": therapy_id,  # facts are read through the therapy: another therapy, other facts
        "din": facts.din,
        "release_signature_valid": facts.release_signature_valid,
        "qc_pending": list(facts.qc_pending),
        "qc_failed": list(facts.qc_failed),
        "open_deviations": list(facts.open_deviations),
        "doses": [
            [d.dose_id, d.status, _iso(d.expires_at), d.active_infusion_id, d.active_infusion_status]
            for d in facts.doses
        ],
        "patient": {
            "injury_date": patient.injury_date.isoformat(),
            "asia_grade": patient.asia_grade,
            "injury_type": patient.injury_type,
            "malignancy_history": patient.malignancy_history,
            "weight_kg": str(patient.weight_kg),
        },
        "protocol": {
            "code": protocol.code,
            "asia_grades": list(protocol.asia_grades),
            "harvest_window_start_day": protocol.harvest_window_start_day,
            "harvest_window_end_day": protocol.harvest_window_end_day,
            "infusion_window_start_day": protocol.infusion_window_start_day,
            "infusion_window_end_day": protocol.infusion_window_end_day,
        },
        "projected_ready_on": _iso(facts.projected_ready_on),
    }


def facts_from_json(data: Any, *, therapy_id: int) -> ReadinessFacts | None:
    """``facts_to_json`` reversed; None when ``data`` is of another format or another therapy."""
    try:
        if data["format"] != FACTS_FORMAT or data["therapy"] != therapy_id:
            return None
        patient, protocol, ready_on = data["patient"], data["protocol"], data["projected_ready_on"]
        return ReadinessFacts(
            din=data["din"],
            release_signature_valid=data["release_signature_valid"],
            qc_pending=tuple(data["qc_pending"]),
            qc_failed=tuple(data["qc_failed"]),
            open_deviations=tuple(data["open_deviations"]),
            doses=tuple(
                rd.DoseState(
                    dose_id,
                    status,
                    None if expires is None else dt.datetime.fromisoformat(expires),
                    infusion_id,
                    infusion_status,
                )
                for dose_id, status, expires, infusion_id, infusion_status in data["doses"]
            ),
            patient=PatientFacts(
                injury_date=dt.date.fromisoformat(patient["injury_date"]),
                asia_grade=patient["asia_grade"],
                injury_type=patient["injury_type"],
                malignancy_history=patient["malignancy_history"],
                weight_kg=Decimal(patient["weight_kg"]),
            ),
            protocol=ProtocolRules(**{**protocol, "asia_grades": tuple(protocol["asia_grades"])}),
            projected_ready_on=None if ready_on is None else dt.date.fromisoformat(ready_on),
        )
    except (KeyError, TypeError, ValueError):
        return None


# Compare-and-set: never replaces facts of a newer version; at the same version only
# differing facts are written (another format or therapy), so concurrent readers of a
# stale row write it once each at most.
_UPSERT = """
INSERT INTO batches_batchfacts AS stored (batch_id, version, facts, computed_at)
SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::jsonb[], %s::timestamptz[])
ON CONFLICT (batch_id) DO UPDATE
SET version = EXCLUDED.version, facts = EXCLUDED.facts, computed_at = EXCLUDED.computed_at
WHERE stored.version < EXCLUDED.version
   OR (stored.version = EXCLUDED.version AND stored.facts IS DISTINCT FROM EXCLUDED.facts)
"""


def store_batch_facts(rows: list[tuple[Batch, ReadinessFacts]]) -> bool:
    """Store facts computed for each batch at ``batch.facts_version`` (the version read with the batch).

    One statement, never raising: storing is an optimisation, and a read must not fail
    for it (False then). Inside a transaction it runs in a savepoint and is undone with
    the transaction; the table is not a facts source, so it never bumps a version.
    """
    if not rows:
        return True
    now = timezone.now()
    params = [
        [batch.pk for batch, _ in rows],
        [batch.facts_version for batch, _ in rows],
        [json.dumps(facts_to_json(facts, therapy_id=batch.therapy_id)) for batch, facts in rows],
        [now] * len(rows),
    ]
    try:
        if connection.in_atomic_block:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_UPSERT, params)
        else:
            with connection.cursor() as cursor:
                cursor.execute(_UPSERT, params)
    except DatabaseError:
        logger.warning("Could not store readiness facts of batches %s", params[0], exc_info=True)
        return False
    return True


def _stored(batch: Batch) -> tuple[int, Any] | None:
    """(version, facts JSON) stored for the batch: from the row read with it if joined, else one query."""
    if Batch.stored_facts.is_cached(batch):
        try:
            stored = batch.stored_facts
        except BatchFacts.DoesNotExist:
            return None
        return stored.version, stored.facts
    return BatchFacts.objects.filter(batch_id=batch.pk).values_list("version", "facts").first()


def cached_batch_facts(batch: Batch) -> ReadinessFacts:
    """The batch's stored facts if current, else read afresh (and stored).

    ``batch`` carries the ``facts_version`` and ``therapy_id`` read with it, best with
    its ``stored_facts`` joined (``select_related``): then a current answer costs no
    query. Facts read after that version are at least as new as it, and a version is
    never reused (a sequence), so a row never holds older facts than its version names.
    """
    stored = _stored(batch)
    if stored is not None and stored[0] == batch.facts_version:
        facts = facts_from_json(stored[1], therapy_id=batch.therapy_id)
        if facts is not None:
            return facts
    full = batch
    loaded = Batch.therapy.is_cached(batch)
    if not (
        loaded and Therapy.patient.is_cached(batch.therapy) and Therapy.protocol.is_cached(batch.therapy)
    ):
        full = Batch.objects.select_related("therapy__patient", "therapy__protocol").get(pk=batch.pk)
    facts = batch_facts(full)
    store_batch_facts([(batch, facts)])
    return facts


def cached_batch_readiness(batch: Batch, at: dt.datetime | None = None) -> rd.Readiness:
    """``batch_readiness`` from stored facts: the same answer, for reads that decide nothing."""
    at = at or timezone.now()
    return rd.readiness(batch_state_at(batch.status, cached_batch_facts(batch), at), at)


def refresh_stored_facts(batch_ids: list[int]) -> int:
    """Compute and store the facts of these batches (at their current versions); how many were stored."""
    batches = list(
        Batch.objects.select_related("therapy__patient", "therapy__protocol").filter(pk__in=batch_ids)
    )
    rows = [(batch, batch_facts(batch)) for batch in batches]
    return len(rows) if store_batch_facts(rows) else 0


__all__ = [
    "QcStatus",
    "ReadinessFacts",
    "batch_facts",
    "batch_readiness",
    "batch_state",
    "batch_state_at",
    "blocking_deviations",
    "cached_batch_facts",
    "cached_batch_readiness",
    "checklist_template",
    "facts_from_json",
    "facts_to_json",
    "needs_formulation",
    "patient_blockers",
    "qc_status",
    "refresh_stored_facts",
    "release_signature_valid",
    "store_batch_facts",
]


# --- Web UI ---------------------------------------------------------------------


def deviation_list(batch: Batch) -> list[Deviation]:
    """The batch's deviations, open first then newest, with the people and signatures shown (one query)."""
    return list(
        Deviation.objects.filter(batch=batch)
        .select_related("opened_by", "investigated_by", "assessment_signature", "closure_signature")
        .order_by("-status", "-opened_at")
    )


def release_decision_latest(batch: Batch) -> ReleaseDecision | None:
    """The batch's most recent release or rejection, with its signature and signer (one query)."""
    return (
        ReleaseDecision.objects.filter(batch=batch)
        .select_related("signature__signer")
        .order_by("-decided_at")
        .first()
    )


__all__ += ["deviation_list", "release_decision_latest"]
