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
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from batches.domain.eligibility import PatientFacts, ProtocolRules
from batches.models import Batch, BatchFacts, Therapy
from compliance.readiness import rules as rd
from compliance.readiness.facts import ReadinessFacts, batch_facts

FACTS_FORMAT = 4  # bump when the JSON shape changes: rows of another format are recomputed
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
        "open_deviations": [list(d) for d in facts.open_deviations],
        "doses": [
            [
                d.dose_id,
                d.status,
                _iso(d.expires_at),
                d.active_infusion_id,
                d.active_infusion_status,
                _iso(d.thaw_deadline),
                [[i.code, i.unit, _iso(i.since), i.where] for i in d.storage_issues],
            ]
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
        "projected_ready_between": None
        if facts.projected_ready_between is None
        else [d.isoformat() for d in facts.projected_ready_between],
    }


def _between(dates: list[str] | None) -> tuple[dt.date, dt.date] | None:
    if dates is None:
        return None
    low, high = (dt.date.fromisoformat(d) for d in dates)
    return low, high


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
            open_deviations=tuple((severity, text) for severity, text in data["open_deviations"]),
            doses=tuple(
                rd.DoseState(
                    dose_id,
                    status,
                    None if expires is None else dt.datetime.fromisoformat(expires),
                    infusion_id,
                    infusion_status,
                    None if thaw is None else dt.datetime.fromisoformat(thaw),
                    tuple(rd.StorageIssue(c, u, dt.datetime.fromisoformat(t), w) for c, u, t, w in issues),
                )
                for dose_id, status, expires, infusion_id, infusion_status, thaw, issues in data["doses"]
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
            projected_ready_between=_between(data["projected_ready_between"]),
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


# One query per request: the batch row (status, facts_version) with its stored facts (a LEFT JOIN)
# and the clinic it belongs to, whose scope the caller applies (``readiness_batch``). Written
# once rather than compiled by the ORM on every request; the same row as ``readiness_batches()``.
# The API reads it with the bearer token's own statement (``token_authenticate(alongside=)``).
READINESS_BATCH_FIELDS = ("id", "din", "therapy_id", "status", "facts_version")
READINESS_ROW_SQL = (
    'SELECT "batches_batch"."id", "batches_batch"."din", "batches_batch"."therapy_id", "batches_batch"."status", '
    '"batches_batch"."facts_version", "batches_batchfacts"."version", "batches_batchfacts"."facts", '
    '"batches_patient"."clinic_id" '
    'FROM "batches_batch" '
    'INNER JOIN "batches_therapy" ON "batches_therapy"."id" = "batches_batch"."therapy_id" '
    'INNER JOIN "batches_patient" ON "batches_patient"."id" = "batches_therapy"."patient_id" '
    'LEFT OUTER JOIN "batches_batchfacts" ON "batches_batchfacts"."batch_id" = "batches_batch"."id" '
    'WHERE "batches_batch"."din" = %s LIMIT 1'
)


def readiness_batches() -> Any:
    """The ORM form of ``readiness_batch``'s query (pages and tests)."""
    return Batch.objects.select_related("stored_facts").only(
        *READINESS_BATCH_FIELDS, "stored_facts__version", "stored_facts__facts"
    )


def readiness_batch_of_row(row: tuple[Any, ...] | None, *, clinic_id: int | None) -> Batch | None:
    """The batch of a ``READINESS_ROW_SQL`` row with ``stored_facts`` loaded; None if none or of another clinic."""
    if row is None or (clinic_id is not None and row[7] != clinic_id):
        return None
    batch = Batch.from_db(connection.alias, READINESS_BATCH_FIELDS, row[:5])
    version, facts = row[5], row[6]
    stored = None
    if version is not None:
        facts = json.loads(facts) if isinstance(facts, str) else facts  # jsonb may arrive as text
        stored = BatchFacts(batch_id=batch.pk, version=version, facts=facts)
    Batch.stored_facts.related.set_cached_value(batch, stored)
    return batch


def readiness_batch(din: str, *, clinic_id: int | None) -> Batch | None:
    """The batch ``din`` (of clinic ``clinic_id`` when given) with ``stored_facts`` loaded, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(READINESS_ROW_SQL, [din])
        row = cursor.fetchone()
    return readiness_batch_of_row(row, clinic_id=clinic_id)


__all__ = [
    "FACTS_FORMAT",
    "READINESS_ROW_SQL",
    "cached_batch_facts",
    "facts_from_json",
    "facts_to_json",
    "readiness_batch",
    "readiness_batch_of_row",
    "readiness_batches",
    "store_batch_facts",
]
