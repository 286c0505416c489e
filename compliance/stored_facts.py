"""Readiness facts stored per batch: shared by every process, kept current by ``facts_version``.

``BatchFacts`` holds each batch's facts as last computed and the ``facts_version``
they were computed at. A read (API, FHIR: reads that decide nothing) takes them
when that version is the batch's current one, else computes them afresh with
``compliance.selectors.batch_facts`` and stores them. Scheduling never reads
them: it computes fresh facts inside its own transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from batches.domain.eligibility import PatientFacts, ProtocolRules
from batches.models import Batch, BatchFacts, CultureStep, Dose, Therapy
from batches.selectors import batch_growth
from compliance.domain import readiness as rd
from compliance.models import Deviation, Infusion, QcResult, ReleaseDecision
from compliance.records import record_contents
from compliance.selectors import BLOCKING_SEVERITIES, ReadinessFacts, batch_facts, batch_state_at
from compliance.services.signatures import signature_is_valid

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


def _by_batch(rows: Any) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.batch_id].append(row)
    return grouped


def _qc(batch: Batch, results: list[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``qc_status``'s pending and failed tests from the batch's results in (tested_at, id) order."""
    latest = {r.test: r.within_spec for r in results}
    required = [spec["test"] for spec in batch.therapy.protocol.qc_specifications]
    return tuple(t for t in required if t not in latest), tuple(
        t for t in required if t in latest and not latest[t]
    )


def _release_valid(batch: Batch, decision: Any, records: dict[int, dict[str, Any]]) -> bool | None:
    if decision is None:
        return None
    return signature_is_valid(
        decision.signature, {"decision": decision.decision, "record": records[batch.pk]}
    )


class _Reads:
    """Every row ``batch_facts`` reads, for many batches at once: one query per table."""

    def __init__(self, batches: list[Batch]) -> None:
        ids = [b.pk for b in batches]
        qc = QcResult.objects.filter(batch_id__in=ids).order_by("batch_id", "tested_at", "id")
        self.qc = _by_batch(qc.values_list("batch_id", "test", "within_spec", named=True))
        doses = Dose.objects.filter(batch_id__in=ids).order_by("batch_id", "number")
        self.doses = _by_batch(
            doses.values_list("batch_id", "id", "number", "status", "expires_at", named=True)
        )
        infusions = Infusion.objects.filter(dose__batch_id__in=ids, status__in=Infusion.ACTIVE)
        self.infusions = {i.dose_id: i for i in infusions.values_list("dose_id", "id", "status", named=True)}
        open_ = Deviation.objects.filter(batch_id__in=ids, status=Deviation.Status.OPEN).order_by("opened_at")
        fields = ("batch_id", "severity", "description", "assessment_signature_id")
        self.deviations = _by_batch(open_.values_list(*fields, named=True))
        released = ReleaseDecision.objects.filter(batch_id__in=ids, decision=ReleaseDecision.Decision.RELEASE)
        self.releases: dict[int, Any] = {}
        for decision in released.select_related("signature").order_by("batch_id", "-decided_at"):
            self.releases.setdefault(decision.batch_id, decision)
        self.records = record_contents([b for b in batches if b.pk in self.releases])
        steps = CultureStep.objects.filter(batch_id__in=ids, amended_by__isnull=True)
        fields = ("batch_id", "kind", "performed_at", "viable_cells", "seeded_cells")
        self.steps = _by_batch(
            steps.order_by("batch_id", "performed_at", "id").values_list(*fields, named=True)
        )


_SEVERITY = dict(Deviation.Severity.choices)


def _facts(batch: Batch, reads: _Reads) -> ReadinessFacts:
    """``batch_facts`` from rows already read (pure): the same facts, field by field."""
    pending, failed = _qc(batch, reads.qc[batch.pk])
    doses = []
    for dose in reads.doses[batch.pk]:
        infusion = reads.infusions.get(dose.id)
        doses.append(rd.DoseState(f"{batch.din}-{dose.number}", dose.status, dose.expires_at,
                                  str(infusion.id) if infusion else None, infusion.status if infusion else None))  # fmt: skip
    blocking = [
        d for d in reads.deviations[batch.pk]
        if d.severity in BLOCKING_SEVERITIES or d.assessment_signature_id is None
    ]  # fmt: skip
    return ReadinessFacts(
        din=batch.din,
        release_signature_valid=_release_valid(batch, reads.releases.get(batch.pk), reads.records),
        qc_pending=pending,
        qc_failed=failed,
        open_deviations=tuple(
            f"{_SEVERITY.get(d.severity, d.severity)} deviation open: {d.description}" for d in blocking
        ),
        doses=tuple(doses),
        patient=PatientFacts.of(batch.therapy.patient),
        protocol=ProtocolRules.of(batch.therapy.protocol),
        projected_ready_on=batch_growth(batch, reads.steps[batch.pk]).projected_ready_on,
    )


def batch_facts_many(batches: list[Batch]) -> list[ReadinessFacts]:
    """``batch_facts`` of many batches (loaded with ``therapy__patient``, ``therapy__protocol``).

    Set-based: thirteen queries whatever the number of batches (one per table read,
    six of them the release records), then the same pure rules per batch.
    """
    reads = _Reads(batches)
    return [_facts(batch, reads) for batch in batches]


def refresh_stored_facts(batch_ids: list[int]) -> int:
    """Compute and store the facts of these batches (at their current versions); how many were stored."""
    batches = list(
        Batch.objects.select_related("therapy__patient", "therapy__protocol").filter(pk__in=batch_ids)
    )
    rows = list(zip(batches, batch_facts_many(batches), strict=True))
    return len(rows) if store_batch_facts(rows) else 0


__all__ = [
    "FACTS_FORMAT",
    "batch_facts_many",
    "cached_batch_facts",
    "cached_batch_readiness",
    "facts_from_json",
    "facts_to_json",
    "refresh_stored_facts",
    "store_batch_facts",
]
