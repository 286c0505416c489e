# ruff: noqa: S608 - the SQL is assembled from this module's constants only; values are bound parameters.
"""Background sweeps: find batches that need attention and keep their flags in step.

Every sweep recomputes its condition from the database, so running it twice,
concurrently or after an outage gives the same flags:

* each condition is ONE set-based query yielding ``(batch_id, severity, detail)``;
* ``_reconcile`` turns it into flags in ONE statement: ``INSERT ... ON CONFLICT
  DO NOTHING`` against the partial unique index (one open flag per batch and
  kind) opens new ones, an UPDATE refreshes the open ones that changed
  (severity, detail; ``last_seen_at`` at most hourly) and a compare-and-set UPDATE (``resolved_at IS NULL``) resolves
  the ones whose condition cleared;
* flags that opened or escalated notify the responsible role (one more query).

So a full sweep is a fixed number of queries however many batches exist.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from batches.domain.growth import NO_GROWTH
from batches.models import Flag
from batches.selectors import (
    CULTURE_LIMIT,
    FED,
    FEEDING_INTERVAL,
    RECEIVED,
    SEEDED,
    SEEDING_LIMIT,
    deadline_sql,
    last_step_at_sql,
    last_step_select,
)
from core.audit import audit_context
from core.i18n import N_
from core.roles import Role, require_role
from monitoring.expiry import ExpiryResult, dose_expiry_sweep
from monitoring.notifications import notify_flags

logger = logging.getLogger(__name__)

K = Flag.Kind
# How long before the protocol's maximum culture day a culture counts as due soon (issue #6).
DUE_SOON = dt.timedelta(days=2)
# An unchanged open flag gets its ``last_seen_at`` rewritten at most this often, so a
# sweep rewrites only the flags that changed, not every open one every five minutes.
LAST_SEEN_EVERY = dt.timedelta(hours=1)
# How long before expiry an unscheduled dose is flagged (issue #6).
EXPIRY_WARNING = dt.timedelta(hours=24)
# A reconcile that opens or resolves at least this many flags re-analyzes the flag table
# in its own transaction. The next statements' plans depend on how many open flags of a
# kind there are: with statistics still saying "no flags" after a mass insert PostgreSQL
# picks a nested-loop anti-join that is quadratic in the flags (48 s instead of 1 s at
# 100,000 batches), and autovacuum may not have run by the next sweep, or at all.
ANALYZE_AFTER = 1000


@dataclass
class SweepResult:
    """What one sweep did: flag ids it opened and escalated, how many it kept and resolved."""

    kind: str
    opened: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    kept: int = 0
    resolved: int = 0


# --- SQL building blocks ----------------------------------------------------------

_EFFECTIVE = "NOT EXISTS (SELECT 1 FROM batches_culturestep a WHERE a.amends_id = s.id)"
_BASE = """
FROM batches_batch b
JOIN batches_therapy t ON t.id = b.therapy_id
JOIN batches_processingprotocol p ON p.id = t.protocol_id
"""
_ONLY_BATCH = "(%(batch)s::bigint IS NULL OR b.id = %(batch)s::bigint)"


def _last_step(alias: str, kinds: tuple[str, ...]) -> str:
    """A lateral join giving ``alias.at``: the latest effective step of ``kinds`` of batch ``b``."""
    # An aggregate, not a scalar subquery: the planner would inline that at every use of ``alias.at``.
    return f"CROSS JOIN LATERAL ({last_step_select(kinds, 'b.id')}) {alias}"


def _due(days_column: str) -> str:
    """When the clock ``x.at`` runs out: the worklists' definition (``selectors.deadline_sql``)."""
    return deadline_sql("x.at", "p", days_column)


def _local(expr: str) -> str:
    return f"to_char(({expr}) AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI')"


_DAYS = "* interval '1 day'"
_OVERDUE, _FEEDING_DUE, _SEEDING_DUE = _due(CULTURE_LIMIT), _due(FEEDING_INTERVAL), _due(SEEDING_LIMIT)

CONDITIONS: dict[str, str] = {
    K.CULTURE_OVERDUE: f"""
SELECT b.id, 'critical', 'Seeded ' || {_local("x.at")} || '; the maximum of ' || p.max_culture_days
    || ' culture days passed on ' || {_local(_OVERDUE)} || ' without harvest.'
{_BASE} {_last_step("x", SEEDED)}
WHERE b.status = 'in_culture' AND {_ONLY_BATCH} AND {_OVERDUE} < %(now)s""",
    K.CULTURE_DUE_SOON: f"""
SELECT b.id, 'warning', 'Seeded ' || {_local("x.at")} || '; the maximum of ' || p.max_culture_days
    || ' culture days is reached on ' || {_local(_OVERDUE)} || '.'
{_BASE} {_last_step("x", SEEDED)}
WHERE b.status = 'in_culture' AND {_ONLY_BATCH}
  AND {_OVERDUE} - %(due_soon)s <= %(now)s
  AND {_OVERDUE} >= %(now)s""",
    K.FEEDING_OVERDUE: f"""
SELECT b.id, 'warning', 'Last fed ' || {_local("x.at")} || '; feeding is due every '
    || p.feeding_interval_days || ' days (since ' || {_local(_FEEDING_DUE)} || ').'
{_BASE} {_last_step("x", FED)}
WHERE b.status = 'in_culture' AND {_ONLY_BATCH} AND {_FEEDING_DUE} < %(now)s""",
    K.SEEDING_OVERDUE: f"""
SELECT b.id, 'warning', 'Received ' || {_local("x.at")} || '; seeding was due within '
    || p.max_days_receipt_to_seeding || ' days (by ' || {_local(_SEEDING_DUE)} || ').'
{_BASE} {_last_step("x", RECEIVED)}
WHERE b.status = 'received' AND {_ONLY_BATCH} AND {_SEEDING_DUE} < %(now)s""",
    # The QC clock starts at harvest: samples are taken from the harvested cells.
    K.QC_LATE: f"""
SELECT b.id, 'warning', 'No result past turnaround since harvest on ' || {_local("min(x.at)")} || ': '
    || string_agg((spec ->> 'test') || ' (' || (spec ->> 'turnaround_days') || ' d)', ', ' ORDER BY spec ->> 'test')
{_BASE} {_last_step("x", ("harvest",))}
CROSS JOIN LATERAL jsonb_array_elements(p.qc_specifications) spec
WHERE b.status IN ('harvested', 'pending_release') AND {_ONLY_BATCH}
  AND x.at + (spec ->> 'turnaround_days')::int {_DAYS} < %(now)s
  AND NOT EXISTS (SELECT 1 FROM compliance_qcresult q WHERE q.batch_id = b.id AND q.test = spec ->> 'test')
GROUP BY b.id""",
    K.DOSE_EXPIRING: f"""
SELECT b.id, 'warning', 'Dose ' || string_agg(b.din || '-' || d.number || ' expires ' || {_local("d.expires_at")},
    ', ' ORDER BY d.number) || ' and no infusion is scheduled.'
FROM batches_batch b JOIN batches_dose d ON d.batch_id = b.id
WHERE d.status = 'available' AND {_ONLY_BATCH}
  AND d.expires_at > %(now)s AND d.expires_at <= %(now)s + %(expiry_warning)s
  AND NOT EXISTS (SELECT 1 FROM compliance_infusion i WHERE i.dose_id = d.id AND i.status = 'scheduled')
GROUP BY b.id""",
}

_SEVERITY_RANK = "array_position(ARRAY['info', 'warning', 'critical']::text[], {})"

# One statement per kind: open, keep, resolve. Data-modifying CTEs share one
# snapshot, so a flag opened here is neither kept nor resolved by the same run.
_RECONCILE = f"""
WITH hits(batch_id, severity, detail) AS ({{hits}}),
opened AS (
    INSERT INTO batches_flag (batch_id, kind, severity, detail, first_seen_at, last_seen_at, acknowledgement_note)
    SELECT batch_id, %(kind)s, severity, detail, %(now)s, %(now)s, '' FROM hits
    ON CONFLICT (batch_id, kind) WHERE resolved_at IS NULL DO NOTHING
    RETURNING id
),
kept AS (
    UPDATE batches_flag f
    SET last_seen_at = %(now)s, severity = h.severity, detail = h.detail,
        escalated_at = CASE WHEN {_SEVERITY_RANK.format("h.severity")} > {_SEVERITY_RANK.format("old.severity")}
                            THEN %(now)s ELSE f.escalated_at END
    FROM hits h, batches_flag old
    WHERE old.id = f.id AND f.batch_id = h.batch_id AND f.kind = %(kind)s AND f.resolved_at IS NULL
      AND (f.severity <> h.severity OR f.detail <> h.detail OR f.last_seen_at <= %(now)s - %(last_seen_every)s)
    RETURNING f.id, {_SEVERITY_RANK.format("h.severity")} > {_SEVERITY_RANK.format("old.severity")} AS escalated
),
resolved AS (
    UPDATE batches_flag f SET resolved_at = %(now)s
    WHERE f.kind = %(kind)s AND f.resolved_at IS NULL
      AND (%(batch)s::bigint IS NULL OR f.batch_id = %(batch)s::bigint)
      AND NOT EXISTS (SELECT 1 FROM hits h WHERE h.batch_id = f.batch_id)
    RETURNING f.id
)
SELECT ARRAY(SELECT id FROM opened ORDER BY id),
       ARRAY(SELECT id FROM kept WHERE escalated ORDER BY id),
       (SELECT count(*) FROM hits) - (SELECT count(*) FROM opened),
       (SELECT count(*) FROM resolved)
"""


def _params(now: dt.datetime, batch_id: int | None) -> dict[str, Any]:
    return {
        "now": now,
        "batch": batch_id,
        "tz": settings.TIME_ZONE,
        "due_soon": DUE_SOON,
        "expiry_warning": EXPIRY_WARNING,
        "last_seen_every": LAST_SEEN_EVERY,
    }


def _reconcile(kind: str, hits_sql: str, params: dict[str, Any]) -> SweepResult:
    """Open, keep and resolve the flags of ``kind`` from the hits of its condition (one statement)."""
    with transaction.atomic(), audit_context(reason=f"sweep: {kind}"):
        with connection.cursor() as cursor:
            cursor.execute(_RECONCILE.format(hits=hits_sql), {**params, "kind": kind})
            opened, escalated, kept, resolved = cursor.fetchone()
        result = SweepResult(kind, opened, escalated, kept, resolved)
        if opened or escalated:
            notify_flags(kind=kind, opened=opened, escalated=escalated, now=params["now"])
        if len(opened) + resolved >= ANALYZE_AFTER:
            _analyze_flags()
    return result


def _analyze_flags() -> None:
    """Refresh the flag table's statistics (inside the sweep's transaction, so they see its flags)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE batches_flag")


def sweep_condition(*, kind: str, now: dt.datetime | None = None, batch_id: int | None = None) -> SweepResult:
    """Bring the flags of one SQL-computed ``kind`` up to date (all batches, or one)."""
    return _reconcile(kind, CONDITIONS[kind], _params(now or timezone.now(), batch_id))


# --- Growth projection: at risk, indication window --------------------------------

# The projection is computed once, where the counts are written, and stored per batch
# (``batches.services.growth``: ``selectors.batch_growth`` is the one computation). These
# conditions read the stored row: one set-based query per kind, like the others. Without a
# stored row (never refreshed) the window check falls back to the protocol's expected days.
_PROJECTED = f"""
{_BASE}
JOIN batches_patient pt ON pt.id = t.patient_id
LEFT JOIN batches_growthprojection g ON g.batch_id = b.id
WHERE b.status = 'in_culture' AND {_ONLY_BATCH}"""
# The window is missed when even the late end of the 80% interval is after it closes.
# The seeding clock is a scalar subquery inside coalesce(): PostgreSQL evaluates it only for
# the batches without a stored projection, not for every culture.
_READY_LATE = (
    "coalesce(g.ready_high_on, g.projected_ready_on,"
    f" (({last_step_at_sql(SEEDED, 'b.id')} AT TIME ZONE %(tz)s)::date + p.expected_culture_days))"
)
_CLOSES = "(pt.injury_date + p.infusion_window_end_day)"

GROWTH_CONDITIONS: dict[str, str] = {
    K.CULTURE_AT_RISK: f"""
SELECT b.id,
       CASE WHEN g.reason = '{NO_GROWTH}' THEN 'critical' ELSE 'warning' END,
       CASE WHEN g.reason = '{NO_GROWTH}' THEN 'The cells are not growing: the target dose cannot be reached.'
            ELSE 'Projected to reach the target on culture day ' || to_char(g.ready_day, 'FM9999990.0')
                 || ' (80%% between ' || to_char(g.low_day, 'FM9999990.0') || ' and '
                 || to_char(g.high_day, 'FM9999990.0') || '), after the maximum of ' || p.max_culture_days
                 || ' days.' END
{_PROJECTED}
  AND (g.reason = '{NO_GROWTH}' OR (NOT g.reached AND g.ready_day > p.max_culture_days))""",
    K.INDICATION_WINDOW: f"""
SELECT b.id, 'critical',
       'Projected ready on ' || coalesce(to_char(g.projected_ready_on, 'YYYY-MM-DD'), 'an unknown date')
       || coalesce(' (80%% by ' || to_char(g.ready_high_on, 'YYYY-MM-DD') || ')', '')
       || '; the infusion window closes on ' || to_char({_CLOSES}, 'YYYY-MM-DD') || '.'
{_BASE}
JOIN batches_patient pt ON pt.id = t.patient_id
LEFT JOIN batches_growthprojection g ON g.batch_id = b.id
WHERE b.status = 'in_culture' AND {_ONLY_BATCH}
  AND p.infusion_window_end_day IS NOT NULL AND {_READY_LATE} > {_CLOSES}""",
}


def sweep_growth(*, now: dt.datetime | None = None, batch_id: int | None = None) -> list[SweepResult]:
    """At-risk cultures and closing indication windows, from the stored growth projection.

    At risk: not growing (critical), or projected past the protocol's maximum
    culture days (warning). Indication window: the late end of the ready
    date's 80% interval falls after the window closes (critical). One
    reconcile statement per kind, whatever the number of cultures.
    """
    params = _params(now or timezone.now(), batch_id)
    return [_reconcile(kind, sql, params) for kind, sql in GROWTH_CONDITIONS.items()]


# --- Everything -----------------------------------------------------------------------

CULTURE_KINDS = (K.CULTURE_OVERDUE, K.CULTURE_DUE_SOON, K.FEEDING_OVERDUE, K.SEEDING_OVERDUE)


def sweep_culture(*, now: dt.datetime | None = None, batch_id: int | None = None) -> list[SweepResult]:
    """The lab's sweeps: culture length, feeding, seeding, growth projection."""
    now = now or timezone.now()
    results = [sweep_condition(kind=kind, now=now, batch_id=batch_id) for kind in CULTURE_KINDS]
    return results + sweep_growth(now=now, batch_id=batch_id)


def sweep_qc_late(*, now: dt.datetime | None = None, batch_id: int | None = None) -> SweepResult:
    """QC results outstanding past their turnaround."""
    return sweep_condition(kind=K.QC_LATE, now=now, batch_id=batch_id)


def sweep_expiry(*, now: dt.datetime | None = None) -> tuple[ExpiryResult, SweepResult]:
    """Expire what has expired, then flag doses expiring soon with no infusion scheduled."""
    now = now or timezone.now()
    return dose_expiry_sweep(now=now), sweep_condition(kind=K.DOSE_EXPIRING, now=now)


@dataclass
class FullSweep:
    flags: list[SweepResult]
    expiry: ExpiryResult


def sweep_all(*, now: dt.datetime | None = None) -> FullSweep:
    """Every sweep once, at one instant ``now``."""
    now = now or timezone.now()
    expiry, expiring = sweep_expiry(now=now)
    flags = [*sweep_culture(now=now), sweep_qc_late(now=now), expiring]
    return FullSweep(flags=flags, expiry=expiry)


def batch_flags_refresh(*, batch_id: int, now: dt.datetime | None = None) -> list[SweepResult]:
    """Recompute every flag of one batch (after a step is logged, say)."""
    now = now or timezone.now()
    kinds = [*CULTURE_KINDS, K.QC_LATE, K.DOSE_EXPIRING]
    results = [sweep_condition(kind=kind, now=now, batch_id=batch_id) for kind in kinds]
    return results + sweep_growth(now=now, batch_id=batch_id)


def flag_acknowledge(*, flag: Flag, actor: Any, note: str = "", now: dt.datetime | None = None) -> bool:
    """Record that ``actor`` has seen an open flag. False when it was already acknowledged or resolved.

    Technicians and QA only (NotPermitted otherwise), as the worklists.
    """
    require_role(actor, Role.TECHNICIAN, Role.QA, action=N_("acknowledge flags"))
    with transaction.atomic(), audit_context(actor=actor, reason="flag acknowledged"):
        updated = Flag.objects.filter(
            pk=flag.pk, resolved_at__isnull=True, acknowledged_at__isnull=True
        ).update(acknowledged_by=actor, acknowledged_at=now or timezone.now(), acknowledgement_note=note)
    flag.refresh_from_db()
    return bool(updated)


__all__ = [
    "CONDITIONS",
    "CULTURE_KINDS",
    "GROWTH_CONDITIONS",
    "ExpiryResult",
    "FullSweep",
    "SweepResult",
    "batch_flags_refresh",
    "dose_expiry_sweep",
    "flag_acknowledge",
    "sweep_all",
    "sweep_condition",
    "sweep_culture",
    "sweep_expiry",
    "sweep_growth",
    "sweep_qc_late",
]
