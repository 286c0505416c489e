"""Readiness facts of many batches at once: the warm-up after a bulk load (``refresh_readiness_facts``).

``batch_facts_many`` gives, for a list of batches, exactly what ``batch_facts`` gives
for each (a test holds them equal), in a fixed number of queries: one per table it
reads, whatever the number of batches, then the same pure rules per batch.
``refresh_stored_facts`` computes and stores them for a chunk of batch ids.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from batches.domain.eligibility import PatientFacts, ProtocolRules
from batches.models import Batch, CultureStep, Dose, ProcessingProtocol, Therapy
from batches.selectors import batch_growth
from compliance.models import Deviation, Infusion, QcResult, ReleaseDecision
from compliance.readiness import rules as rd
from compliance.readiness.facts import ReadinessFacts, dose_storage
from compliance.readiness.stored import store_batch_facts
from compliance.records import changed_sections, record_contents
from compliance.selectors import BLOCKING_SEVERITIES, ReleaseCheck
from compliance.services.signatures import signature_is_valid
from storage.selectors import storage_facts


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


def _release_check(batch: Batch, decision: Any, records: dict[int, dict[str, Any]]) -> ReleaseCheck:
    """``release_signature_check`` from rows already read: the release in force against the record."""
    if decision is None:
        return ReleaseCheck(None)
    current = {"decision": decision.decision, "record": records[batch.pk]}
    if signature_is_valid(decision.signature, current):
        return ReleaseCheck(True)
    return ReleaseCheck(False, changed_sections(decision.signature.content, current))


# The steps ``batch_growth`` looks at (it skips every other kind): about half a culture's
# steps, the feedings being the rest. The equality with ``batch_facts`` is tested.
GROWTH_STEP_KINDS = ("seeding", "cell_count", "passage", "harvest")


def _of_batches(model: Any, ids: list[int], column: str = "batch_id") -> RawSQL:
    """``column = ANY(ids)`` with the ids as ONE array parameter.

    ``batch_id__in=ids`` makes 500 parameters that the ORM prepares and psycopg splices
    one by one, about 5 ms per query for a chunk of 500: a third of the reads' cost.
    """
    sql = f'"{model._meta.db_table}"."{column}" = ANY(%s::bigint[])'  # a model's own table and column names
    return RawSQL(sql, (ids,), output_field=BooleanField())  # noqa: S611 - the values are a bound parameter


class _Reads:
    """Every row ``batch_facts`` reads, for many batches at once: one query per table."""

    def __init__(self, batches: list[Batch]) -> None:
        ids = [b.pk for b in batches]
        self.today = timezone.localdate()
        qc = QcResult.objects.filter(_of_batches(QcResult, ids)).order_by("batch_id", "tested_at", "id")
        self.qc = _by_batch(qc.values_list("batch_id", "test", "within_spec", named=True))
        doses = Dose.objects.filter(_of_batches(Dose, ids)).order_by("batch_id", "number")
        self.doses = _by_batch(
            doses.values_list("batch_id", "id", "number", "status", "expires_at", named=True)
        )
        dose_ids = [dose.id for rows in self.doses.values() for dose in rows]
        infusions = Infusion.objects.filter(
            _of_batches(Infusion, dose_ids, "dose_id"), status__in=Infusion.ACTIVE
        )
        self.infusions = {i.dose_id: i for i in infusions.values_list("dose_id", "id", "status", named=True)}
        open_ = Deviation.objects.filter(_of_batches(Deviation, ids), status=Deviation.Status.OPEN)
        fields = ("batch_id", "severity", "description", "assessment_signature_id")
        self.deviations = _by_batch(open_.order_by("opened_at").values_list(*fields, named=True))
        # The release in force is the latest decision when that is a release (a later rejection leaves none).
        decisions = ReleaseDecision.objects.filter(_of_batches(ReleaseDecision, ids)).select_related(
            "signature"
        )
        latest: dict[int, Any] = {}
        for decision in decisions.order_by("batch_id", "-decided_at"):
            latest.setdefault(decision.batch_id, decision)
        self.releases = {k: d for k, d in latest.items() if d.decision == ReleaseDecision.Decision.RELEASE}
        self.records = record_contents([b for b in batches if b.pk in self.releases])
        steps = CultureStep.objects.filter(
            _of_batches(CultureStep, ids), amended_by__isnull=True, kind__in=GROWTH_STEP_KINDS
        )
        fields = ("batch_id", "kind", "performed_at", "viable_cells", "seeded_cells", "confluence_pct")
        self.steps = _by_batch(
            steps.order_by("batch_id", "performed_at", "id").values_list(*fields, named=True)
        )
        self.storage = storage_facts(ids)


def _facts(batch: Batch, reads: _Reads) -> ReadinessFacts:
    """``batch_facts`` from rows already read (pure): the same facts, field by field."""
    pending, failed = _qc(batch, reads.qc[batch.pk])
    doses = []
    for dose in reads.doses[batch.pk]:
        infusion = reads.infusions.get(dose.id)
        doses.append(rd.DoseState(f"{batch.din}-{dose.number}", dose.status, dose.expires_at,
                                  str(infusion.id) if infusion else None, infusion.status if infusion else None,
                                  *dose_storage(reads.storage, dose.id)))  # fmt: skip
    blocking = [
        d for d in reads.deviations[batch.pk]
        if d.severity in BLOCKING_SEVERITIES or d.assessment_signature_id is None
    ]  # fmt: skip
    release = _release_check(batch, reads.releases.get(batch.pk), reads.records)
    grown = batch_growth(batch, reads.steps[batch.pk], reads.today)
    return ReadinessFacts(
        din=batch.din,
        release_signature_valid=release.valid,
        release_changes=release.changed,
        qc_pending=pending,
        qc_failed=failed,
        open_deviations=tuple((d.severity, d.description) for d in blocking),
        doses=tuple(doses),
        patient=PatientFacts.of(batch.therapy.patient),
        protocol=ProtocolRules.of(batch.therapy.protocol),
        projected_ready_on=grown.projected_ready_on,
        projected_ready_between=grown.projected_ready_between,
    )


def batch_facts_many(batches: list[Batch]) -> list[ReadinessFacts]:
    """``batch_facts`` of many batches (loaded with ``therapy__patient``, ``therapy__protocol``).

    Set-based: fourteen queries whatever the number of batches (one per table read,
    six of them the release records, one the storage facts), then the same pure rules per batch.
    """
    reads = _Reads(batches)
    return [_facts(batch, reads) for batch in batches]


# What the facts read of a batch, its therapy and its patient (``batch_facts_many``, ``store_batch_facts``).
_REFRESH_FIELDS = (
    "id", "din", "therapy_id", "facts_version",
    "therapy__id", "therapy__patient_id", "therapy__protocol_id",
    "therapy__patient__id", "therapy__patient__injury_date", "therapy__patient__asia_grade",
    "therapy__patient__injury_type", "therapy__patient__malignancy_history", "therapy__patient__weight_kg",
    # The stored growth projection (``batch_growth`` reads it instead of refitting).
    "projection__batch_id", "projection__ready_day", "projection__low_day", "projection__high_day",
    "projection__doubling_time_days", "projection__reason", "projection__reached",
    "projection__projected_ready_on", "projection__ready_low_on", "projection__ready_high_on",
)  # fmt: skip


def refresh_stored_facts(batch_ids: list[int]) -> int:
    """Compute and store the facts of these batches (at their current versions); how many were stored.

    The batches are read with the fields the facts need only, and each protocol once
    (a few protocols serve thousands of batches): building a full batch, therapy,
    patient and protocol per batch was a fifth of the refresh.
    """
    batches = list(
        Batch.objects.select_related("therapy__patient", "projection")
        .only(*_REFRESH_FIELDS)
        .filter(_of_batches(Batch, batch_ids, "id"))
    )
    protocol_ids = {batch.therapy.protocol_id for batch in batches}
    protocols = ProcessingProtocol.objects.in_bulk(protocol_ids)
    for batch in batches:
        Therapy.protocol.field.set_cached_value(batch.therapy, protocols[batch.therapy.protocol_id])
    rows = list(zip(batches, batch_facts_many(batches), strict=True))
    return len(rows) if store_batch_facts(rows) else 0


__all__ = ["GROWTH_STEP_KINDS", "batch_facts_many", "refresh_stored_facts"]
