"""``Batch.facts_version``: a number the database changes whenever a fact readiness depends on changes.

Readiness facts (QC, deviations, release record, doses and infusions, patient
and protocol) are stored per batch with the ``facts_version`` they were read at
(``BatchFacts``; ``compliance.readiness.stored.cached_batch_facts``) and used while that
is still the batch's version. ``batches_batchfacts`` is derived data: not audited,
and not a source below, so storing facts never bumps a version. Statement-level triggers on
every table those facts are read from bump the version of each batch a
statement touched, once per statement, whoever writes (services, admin, raw
SQL). A new version comes from a sequence, never from ``+ 1``: sequences are
not transactional, so a number handed out in a transaction that rolls back is
never handed out again, and facts read from uncommitted rows under it can
never be served for other rows.

Not covered: writes with triggers disabled (``session_replication_role =
replica``) and ``TRUNCATE``; the bench seeds that way before any server runs.
The bump is an UPDATE of ``batches_batch``; its audit trigger skips
``facts_version`` (``@audited(skip=...)``), so a pure bump writes no audit entry.

Installed (idempotently) after every ``migrate``, after the audit triggers.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

SEQUENCE = "batches_batch_facts_version_seq"  # named literally in FUNCTION

# table -> the ids of the batches a set of its rows (``{rows}``) belongs to.
_BY_BATCH_ID = "SELECT batch_id FROM {rows}"
SOURCES: dict[str, str] = {
    "batches_culturestep": _BY_BATCH_ID,
    "batches_custodytransfer": _BY_BATCH_ID,
    "batches_finding": _BY_BATCH_ID,
    "batches_dose": _BY_BATCH_ID,
    "compliance_qcresult": _BY_BATCH_ID,
    "compliance_deviation": _BY_BATCH_ID,
    "compliance_releasedecision": _BY_BATCH_ID,
    "compliance_infusion": "SELECT d.batch_id FROM batches_dose d WHERE d.id IN (SELECT dose_id FROM {rows})",
    # The release signature's content and hash (signatures are never edited; this is belt and braces).
    "compliance_signature": (
        "SELECT r.batch_id FROM compliance_releasedecision r WHERE r.signature_id IN (SELECT id FROM {rows})"
    ),
    "batches_therapy": "SELECT b.id FROM batches_batch b WHERE b.therapy_id IN (SELECT id FROM {rows})",
    "batches_patient": (
        "SELECT b.id FROM batches_batch b JOIN batches_therapy t ON t.id = b.therapy_id "
        "WHERE t.patient_id IN (SELECT id FROM {rows})"
    ),
    # Storage: thaws (the post-thaw window), excursion holds and their QA assessment, shipment arrivals.
    "storage_thaw": "SELECT u.batch_id FROM storage_doseunit u WHERE u.id IN (SELECT unit_id FROM {rows})",
    "storage_excursionhold": "SELECT u.batch_id FROM storage_doseunit u WHERE u.id IN (SELECT unit_id FROM {rows})",
    "storage_excursion": (
        "SELECT u.batch_id FROM storage_excursionhold h JOIN storage_doseunit u ON u.id = h.unit_id "
        "WHERE h.excursion_id IN (SELECT id FROM {rows})"
    ),
    "storage_shipment": (
        "SELECT u.batch_id FROM storage_shipmentitem i JOIN storage_doseunit u ON u.id = i.unit_id "
        "WHERE i.shipment_id IN (SELECT id FROM {rows})"
    ),
    "batches_processingprotocol": (  # rare: a protocol row is a version, edited before use if at all
        "SELECT b.id FROM batches_batch b JOIN batches_therapy t ON t.id = b.therapy_id "
        "WHERE t.protocol_id IN (SELECT id FROM {rows})"
    ),
}

FUNCTION = r"""
CREATE SEQUENCE IF NOT EXISTS batches_batch_facts_version_seq;
CREATE OR REPLACE FUNCTION lims_facts_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- TG_ARGV[0]: a query over this event's transition tables naming the batches touched.
    EXECUTE 'UPDATE batches_batch SET facts_version = nextval(''batches_batch_facts_version_seq'') WHERE id IN ('
        || TG_ARGV[0] || ')';
    RETURN NULL;
END
$$;
-- A full save of a stale Batch object (the admin) never moves the version back.
CREATE OR REPLACE FUNCTION lims_facts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.facts_version := greatest(NEW.facts_version, OLD.facts_version);
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER lims_facts_keep BEFORE UPDATE OF facts_version ON batches_batch
    FOR EACH ROW EXECUTE FUNCTION lims_facts_keep();
"""


def _rows(event: str) -> str:
    return {
        "INSERT": "lims_facts_new",
        "UPDATE": "(SELECT * FROM lims_facts_new UNION ALL SELECT * FROM lims_facts_old) AS c",
        "DELETE": "lims_facts_old",
    }[event]


def _table_triggers(table: str, source: str) -> str:
    referencing = {
        "INSERT": "NEW TABLE AS lims_facts_new",
        "UPDATE": "OLD TABLE AS lims_facts_old NEW TABLE AS lims_facts_new",
        "DELETE": "OLD TABLE AS lims_facts_old",
    }
    sql = ""
    for event, transition in referencing.items():  # transition tables: one trigger per event
        query = source.format(rows=_rows(event)).replace("'", "''")
        sql += (
            f'CREATE OR REPLACE TRIGGER lims_facts_{event.lower()} AFTER {event} ON "{table}"\n'
            f"    REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION lims_facts_bump('{query}');\n"
        )
    return sql


def install_facts_triggers(using: str = "default") -> None:
    """Create or replace the bump function and the triggers of every table in ``SOURCES``."""
    sql = FUNCTION + "".join(_table_triggers(table, source) for table, source in SOURCES.items())
    with connections[using].cursor() as cursor:
        cursor.execute(sql)


def install_facts_triggers_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    install_facts_triggers(using)
