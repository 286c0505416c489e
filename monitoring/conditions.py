# ruff: noqa: S608 - the SQL is assembled from this module's constants only; values are bound parameters.
"""What needs attention: the sweeps' conditions, each ONE set-based query over every active batch.

A condition yields ``(batch_id, kind, severity, detail)``, a row per batch where a
flag of ``kind`` should be open now; ``monitoring.reconcile`` turns that into flags.
The culture clocks (overdue, due soon, feeding, seeding) are one condition: they
share their reads (each batch's latest seeding, feeding, passage, receipt), so one
pass over the batches gives all four. The clocks and deadlines are the worklists'
(``batches.selectors``): one definition for what a person sees and what is flagged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from batches.models import Flag
from batches.selectors import (
    CULTURE_LIMIT,
    FED,
    FEEDING_INTERVAL,
    RECEIVED,
    SEEDED,
    SEEDING_LIMIT,
    deadline_sql,
    last_step_select,
)

K = Flag.Kind
# How long before the protocol's maximum culture day a culture counts as due soon (issue #6).
DUE_SOON = dt.timedelta(days=2)
# How long before expiry an unscheduled dose is flagged (issue #6).
EXPIRY_WARNING = dt.timedelta(hours=24)


# --- SQL building blocks ----------------------------------------------------------

EFFECTIVE = "NOT EXISTS (SELECT 1 FROM batches_culturestep a WHERE a.amends_id = s.id)"
BASE = """
FROM batches_batch b
JOIN batches_therapy t ON t.id = b.therapy_id
JOIN batches_processingprotocol p ON p.id = t.protocol_id
"""
ONLY_BATCH = "(%(batch)s::bigint IS NULL OR b.id = %(batch)s::bigint)"


def _last_step(alias: str, kinds: tuple[str, ...]) -> str:
    """A lateral join giving ``alias.at``: the latest effective step of ``kinds`` of batch ``b``."""
    # An aggregate, not a scalar subquery: the planner would inline that at every use of ``alias.at``.
    return f"CROSS JOIN LATERAL ({last_step_select(kinds, 'b.id')}) {alias}"


def _latest(kind: str, status: str) -> str:
    """A lateral join giving ``last_<kind>.at``: the latest effective step of ``kind``, for batches in ``status``.

    The same value as ``selectors.last_step_select((kind,), ...)`` (the worklists' clock),
    read as one backward scan of ``step_batch_kind_idx`` that stops at the first step
    not amended, instead of reading and probing every step of the kind. Batches in
    another status skip the scan (a one-time filter).
    """
    return f"""LEFT JOIN LATERAL (
    SELECT s.performed_at AS at FROM batches_culturestep s
    WHERE b.status = '{status}' AND s.batch_id = b.id AND s.kind = '{kind}' AND {EFFECTIVE}
    ORDER BY s.performed_at DESC LIMIT 1
) last_{kind} ON true"""


def _clock(kinds: tuple[str, ...]) -> str:
    """When the latest effective step of any of ``kinds`` was performed (NULL if none)."""
    return f"greatest({', '.join(f'last_{kind}.at' for kind in kinds)})"


def local(expr: str) -> str:
    return f"to_char(({expr}) AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI')"


_DAYS = "* interval '1 day'"

# The culture clocks, in one pass over the batches in culture or received: the latest
# seeding, feeding, passage and receipt of each, then each clock kind's hit (if any).
_SEEDED_AT, _FED_AT, _RECEIVED_AT = _clock(SEEDED), _clock(FED), _clock(RECEIVED)
_OVERDUE = deadline_sql(_SEEDED_AT, "p", CULTURE_LIMIT)
_FEEDING_DUE = deadline_sql(_FED_AT, "p", FEEDING_INTERVAL)
_SEEDING_DUE = deadline_sql(_RECEIVED_AT, "p", SEEDING_LIMIT)
_IN_CULTURE = "b.status = 'in_culture'"
_CULTURE_STEP_KINDS = tuple(dict.fromkeys(SEEDED + FED))  # each read once
_CULTURE_CLOCKS = f"""
SELECT b.id, k.kind, k.severity, k.detail
{BASE}
{chr(10).join(_latest(kind, "in_culture") for kind in _CULTURE_STEP_KINDS)}
{chr(10).join(_latest(kind, "received") for kind in RECEIVED)}
CROSS JOIN LATERAL (VALUES
    ('{K.CULTURE_OVERDUE}', 'critical', CASE WHEN {_IN_CULTURE} AND {_OVERDUE} < %(now)s THEN
        'Seeded ' || {local(_SEEDED_AT)} || '; the maximum of ' || p.max_culture_days
        || ' culture days passed on ' || {local(_OVERDUE)} || ' without harvest.' END),
    ('{K.CULTURE_DUE_SOON}', 'warning', CASE WHEN {_IN_CULTURE} AND {_OVERDUE} - %(due_soon)s <= %(now)s
                                              AND {_OVERDUE} >= %(now)s THEN
        'Seeded ' || {local(_SEEDED_AT)} || '; the maximum of ' || p.max_culture_days
        || ' culture days is reached on ' || {local(_OVERDUE)} || '.' END),
    ('{K.FEEDING_OVERDUE}', 'warning', CASE WHEN {_IN_CULTURE} AND {_FEEDING_DUE} < %(now)s THEN
        'Last fed ' || {local(_FED_AT)} || '; feeding is due every ' || p.feeding_interval_days
        || ' days (since ' || {local(_FEEDING_DUE)} || ').' END),
    ('{K.SEEDING_OVERDUE}', 'warning', CASE WHEN b.status = 'received' AND {_SEEDING_DUE} < %(now)s THEN
        'Received ' || {local(_RECEIVED_AT)} || '; seeding was due within ' || p.max_days_receipt_to_seeding
        || ' days (by ' || {local(_SEEDING_DUE)} || ').' END)
) AS k(kind, severity, detail)
WHERE b.status IN ('in_culture', 'received') AND {ONLY_BATCH} AND k.detail IS NOT NULL"""

# The QC clock starts at harvest: samples are taken from the harvested cells.
_QC_LATE = f"""
SELECT b.id, '{K.QC_LATE}', 'warning', 'No result past turnaround since harvest on ' || {local("min(x.at)")} || ': '
    || string_agg((spec ->> 'test') || ' (' || (spec ->> 'turnaround_days') || ' d)', ', ' ORDER BY spec ->> 'test')
{BASE} {_last_step("x", ("harvest",))}
CROSS JOIN LATERAL jsonb_array_elements(p.qc_specifications) spec
WHERE b.status IN ('harvested', 'pending_release') AND {ONLY_BATCH}
  AND x.at + (spec ->> 'turnaround_days')::int {_DAYS} < %(now)s
  AND NOT EXISTS (SELECT 1 FROM compliance_qcresult q WHERE q.batch_id = b.id AND q.test = spec ->> 'test')
GROUP BY b.id"""

_DOSE_EXPIRING = f"""
SELECT b.id, '{K.DOSE_EXPIRING}', 'warning', 'Dose ' || string_agg(b.din || '-' || d.number || ' expires '
    || {local("d.expires_at")}, ', ' ORDER BY d.number) || ' and no infusion is scheduled.'
FROM batches_batch b JOIN batches_dose d ON d.batch_id = b.id
WHERE d.status = 'available' AND {ONLY_BATCH}
  AND d.expires_at > %(now)s AND d.expires_at <= %(now)s + %(expiry_warning)s
  AND NOT EXISTS (SELECT 1 FROM compliance_infusion i WHERE i.dose_id = d.id AND i.status = 'scheduled')
GROUP BY b.id"""

CULTURE_KINDS = (K.CULTURE_OVERDUE, K.CULTURE_DUE_SOON, K.FEEDING_OVERDUE, K.SEEDING_OVERDUE)
# Each SQL-computed condition and the flag kinds it yields.
CONDITIONS: dict[tuple[str, ...], str] = {
    CULTURE_KINDS: _CULTURE_CLOCKS,
    (K.QC_LATE,): _QC_LATE,
    (K.DOSE_EXPIRING,): _DOSE_EXPIRING,
}


def params(now: dt.datetime, batch_id: int | None) -> dict[str, Any]:
    return {
        "now": now,
        "batch": batch_id,
        "tz": settings.TIME_ZONE,
        "due_soon": DUE_SOON,
        "expiry_warning": EXPIRY_WARNING,
    }


__all__ = [
    "BASE",
    "CONDITIONS",
    "CULTURE_KINDS",
    "DUE_SOON",
    "EFFECTIVE",
    "EXPIRY_WARNING",
    "ONLY_BATCH",
    "params",
]
