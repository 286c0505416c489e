"""Readiness facts stored per batch: shared by every process, kept current by ``facts_version``.

``BatchFacts`` holds each batch's facts as last computed and the ``facts_version``
they were computed at. A read (API, FHIR: reads that decide nothing) takes them
when that version is the batch's current one, else computes them afresh with
``compliance.readiness.facts.batch_facts`` and stores them. Scheduling never reads
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
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from batches.domain.eligibility import PatientFacts, ProtocolRules
from batches.models import Batch, BatchFacts, CultureStep, Dose, ProcessingProtocol, Therapy
from batches.selectors import batch_growth
from compliance.models import Deviation, Infusion, QcResult, ReleaseDecision
from compliance.readiness import rules as rd
from compliance.readiness.facts import ReadinessFacts, batch_facts
from compliance.records import changed_sections, record_contents
from compliance.selectors import BLOCKING_SEVERITIES, ReleaseCheck
from compliance.services.signatures import signature_is_valid

FACTS_FORMAT = 2  # bump when the JSON shape changes: rows of another format are recomputed
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
        "release_changes": list(facts.release_changes),
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
            release_changes=tuple(data["release_changes"]),
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
# stale row write it once each at most. The rows travel as ONE JSON document
# ``[[batch_id, version, facts], ...]``: psycopg quotes a text array element by element
# in Python (about 100 ms for 500 facts), a single string in one go.
_UPSERT = """
INSERT INTO batches_batchfacts AS stored (batch_id, version, facts, computed_at)
SELECT (item ->> 0)::bigint, (item ->> 1)::bigint, item -> 2, %s FROM jsonb_array_elements(%s::jsonb) AS item
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
    payload = json.dumps(
        [
            [batch.pk, batch.facts_version, facts_to_json(facts, therapy_id=batch.therapy_id)]
            for batch, facts in rows
        ]
    )
    params = [timezone.now(), payload]
    try:
        if connection.in_atomic_block:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_UPSERT, params)
        else:
            with connection.cursor() as cursor:
                cursor.execute(_UPSERT, params)
    except DatabaseError:
        logger.warning(
            "Could not store readiness facts of batches %s", [b.pk for b, _ in rows], exc_info=True
        )
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
    release = _release_check(batch, reads.releases.get(batch.pk), reads.records)
    return ReadinessFacts(
        din=batch.din,
        release_signature_valid=release.valid,
        release_changes=release.changed,
        qc_pending=pending,
        qc_failed=failed,
        open_deviations=tuple(
            f"{_SEVERITY.get(d.severity, d.severity)} deviation open: {d.description}" for d in blocking
        ),
        doses=tuple(doses),
        patient=PatientFacts.of(batch.therapy.patient),
        protocol=ProtocolRules.of(batch.therapy.protocol),
        projected_ready_on=batch_growth(batch, reads.steps[batch.pk], reads.today).projected_ready_on,
    )


def batch_facts_many(batches: list[Batch]) -> list[ReadinessFacts]:
    """``batch_facts`` of many batches (loaded with ``therapy__patient``, ``therapy__protocol``).

    Set-based: thirteen queries whatever the number of batches (one per table read,
    six of them the release records), then the same pure rules per batch.
    """
    reads = _Reads(batches)
    return [_facts(batch, reads) for batch in batches]


# What the facts read of a batch, its therapy and its patient (``batch_facts_many``, ``store_batch_facts``).
_REFRESH_FIELDS = (
    "id", "din", "therapy_id", "facts_version",
    "therapy__id", "therapy__patient_id", "therapy__protocol_id",
    "therapy__patient__id", "therapy__patient__injury_date", "therapy__patient__asia_grade",
    "therapy__patient__injury_type", "therapy__patient__malignancy_history", "therapy__patient__weight_kg",
)  # fmt: skip


def refresh_stored_facts(batch_ids: list[int]) -> int:
    """Compute and store the facts of these batches (at their current versions); how many were stored.

    The batches are read with the fields the facts need only, and each protocol once
    (a few protocols serve thousands of batches): building a full batch, therapy,
    patient and protocol per batch was a fifth of the refresh.
    """
    batches = list(
        Batch.objects.select_related("therapy__patient")
        .only(*_REFRESH_FIELDS)
        .filter(_of_batches(Batch, batch_ids, "id"))
    )
    protocol_ids = {batch.therapy.protocol_id for batch in batches}
    protocols = ProcessingProtocol.objects.in_bulk(protocol_ids)
    for batch in batches:
        Therapy.protocol.field.set_cached_value(batch.therapy, protocols[batch.therapy.protocol_id])
    rows = list(zip(batches, batch_facts_many(batches), strict=True))
    return len(rows) if store_batch_facts(rows) else 0


# One query per request: the batch row (status, facts_version) with its stored facts (a LEFT JOIN),
# scoped as the API scopes batches (``therapy__patient__clinic``). Written once rather
# than compiled by the ORM on every request; the same query as ``readiness_batches()``.
READINESS_BATCH_FIELDS = ("id", "din", "therapy_id", "status", "facts_version")
_READINESS_SQL = (
    'SELECT "batches_batch"."id", "batches_batch"."din", "batches_batch"."therapy_id", "batches_batch"."status", '
    '"batches_batch"."facts_version", "batches_batchfacts"."version", "batches_batchfacts"."facts" '
    'FROM "batches_batch" '
    'LEFT OUTER JOIN "batches_batchfacts" ON "batches_batchfacts"."batch_id" = "batches_batch"."id" {join}'
    'WHERE "batches_batch"."din" = %s {scope}LIMIT 1'
)
_READINESS_ANY = _READINESS_SQL.format(join="", scope="")
_READINESS_OF_CLINIC = _READINESS_SQL.format(
    join='INNER JOIN "batches_therapy" ON "batches_therapy"."id" = "batches_batch"."therapy_id" '
    'INNER JOIN "batches_patient" ON "batches_patient"."id" = "batches_therapy"."patient_id" ',
    scope='AND "batches_patient"."clinic_id" = %s ',
)


def readiness_batches() -> Any:
    """The ORM form of ``readiness_batch``'s query (pages and tests)."""
    return Batch.objects.select_related("stored_facts").only(
        *READINESS_BATCH_FIELDS, "stored_facts__version", "stored_facts__facts"
    )


def readiness_batch(din: str, *, clinic_id: int | None) -> Batch | None:
    """The batch ``din`` (of clinic ``clinic_id`` when given) with ``stored_facts`` loaded, in one query."""
    with connection.cursor() as cursor:
        if clinic_id is None:
            cursor.execute(_READINESS_ANY, [din])
        else:
            cursor.execute(_READINESS_OF_CLINIC, [din, clinic_id])
        row = cursor.fetchone()
    if row is None:
        return None
    batch = Batch.from_db(connection.alias, READINESS_BATCH_FIELDS, row[:5])
    version, facts = row[5], row[6]
    stored = None
    if version is not None:
        facts = json.loads(facts) if isinstance(facts, str) else facts  # jsonb may arrive as text
        stored = BatchFacts(batch_id=batch.pk, version=version, facts=facts)
    Batch.stored_facts.related.set_cached_value(batch, stored)
    return batch


__all__ = [
    "FACTS_FORMAT",
    "batch_facts_many",
    "cached_batch_facts",
    "facts_from_json",
    "facts_to_json",
    "readiness_batch",
    "readiness_batches",
    "refresh_stored_facts",
    "store_batch_facts",
]
