# ruff: noqa: S608 - the SQL is assembled from this module's constants only; values are bound parameters.
"""Background sweeps: find batches that need attention and keep their flags in step.

Every sweep recomputes its condition from the database, so running it twice,
concurrently or after an outage gives the same flags:

* a condition (``monitoring.conditions``) is ONE set-based query yielding
  ``(batch_id, kind, severity, detail)``; the growth projection's hits come from
  the domain's ``project_ready_day`` over one read of every culture's counts;
* ``monitoring.reconcile`` turns hits into opened, kept and resolved flags in ONE
  statement, and notifies the responsible roles in one more.

So a full sweep is a fixed number of queries however many batches exist.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from batches.domain.growth import (
    FIT_POINTS,
    NO_GROWTH,
    CountPoint,
    GrowthInputError,
    project_ready_day,
    projected_ready_date,
)
from batches.models import Flag
from core.audit import audit_context
from core.roles import Role, require_role
from monitoring import conditions
from monitoring.conditions import CONDITIONS, CULTURE_KINDS
from monitoring.expiry import ExpiryResult, dose_expiry_sweep
from monitoring.reconcile import LAST_SEEN_EVERY, SweepResult, reconcile

logger = logging.getLogger(__name__)

K = Flag.Kind
# The growth read's building blocks: the conditions' (one batch or all, effective steps).
_BASE, _ONLY_BATCH, _EFFECTIVE = conditions.BASE, conditions.ONLY_BATCH, conditions.EFFECTIVE
_params = conditions.params
_ARRAY_HITS = "SELECT * FROM unnest(%(ids)s::bigint[], %(severities)s::text[], %(details)s::text[])"


# --- SQL conditions ------------------------------------------------------------------


def _reconcile(kind: str, hits_sql: str, params: dict[str, Any]) -> SweepResult:
    """Reconcile one kind from hits ``(batch_id, severity, detail)`` (the growth sweep's form)."""
    with_kind = f"SELECT a.batch_id, '{kind}', a.severity, a.detail FROM ({hits_sql}) AS a(batch_id, severity, detail)"
    (result,) = reconcile([kind], with_kind, params)
    return result


def sweep_conditions(
    kinds: Iterable[str], *, now: dt.datetime | None = None, batch_id: int | None = None
) -> list[SweepResult]:
    """Bring the flags of SQL-computed ``kinds`` up to date (all batches, or one): one statement per condition."""
    wanted = set(kinds)
    params = _params(now or timezone.now(), batch_id)
    results = []
    for condition_kinds, sql in CONDITIONS.items():
        asked = [kind for kind in condition_kinds if kind in wanted]
        if asked:
            results += reconcile(asked, sql, params)
    return results


def sweep_condition(*, kind: str, now: dt.datetime | None = None, batch_id: int | None = None) -> SweepResult:
    """Bring the flags of one SQL-computed ``kind`` up to date (all batches, or one)."""
    (result,) = sweep_conditions([kind], now=now, batch_id=batch_id)
    return result


# --- Growth projection: at risk, indication window --------------------------------

# Per batch in culture: the protocol numbers, the seeding time, the product of the
# passage split ratios, and its latest FIT_POINTS counts scaled by the split
# ratios before each count: the same series ``selectors.batch_growth`` builds. The first count
# comes too: ``project_ready_day`` tells "only one count" from "no growth" by all the days.
# One scan of the cultures' steps with one window ordering, grouped to a row per batch.
_GROWTH_SQL = f"""
WITH cultures AS (
    SELECT b.id, p.max_culture_days, p.expected_culture_days,
           p.target_cells_per_dose * p.doses_per_batch AS target, pt.injury_date, p.infusion_window_end_day
    {_BASE}
    JOIN batches_patient pt ON pt.id = t.patient_id
    WHERE b.status = 'in_culture' AND {_ONLY_BATCH}
),
steps AS (
    SELECT s.batch_id, s.id, s.kind, s.performed_at, s.viable_cells,
           CASE WHEN s.kind = 'passage' THEN ln(s.viable_cells::float8 / s.seeded_cells) END AS split
    FROM batches_culturestep s JOIN cultures c ON c.id = s.batch_id
    WHERE s.kind IN ('seeding', 'cell_count', 'passage', 'harvest') AND {_EFFECTIVE}
),
seeded AS (SELECT batch_id, min(performed_at) AS at FROM steps WHERE kind = 'seeding' GROUP BY batch_id),
scaled AS (
    SELECT batch_id, id, performed_at,
           viable_cells * exp(coalesce(sum(split) OVER before, 0)) AS cells,
           exp(coalesce(sum(split) OVER (PARTITION BY batch_id), 0)) AS factor,
           count(*) OVER (PARTITION BY batch_id) - row_number() OVER before AS newer,
           row_number() OVER before = 1 AS first
    FROM steps WHERE kind <> 'seeding' AND viable_cells IS NOT NULL
    WINDOW before AS (PARTITION BY batch_id ORDER BY performed_at, id
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT c.id, c.max_culture_days, c.expected_culture_days, c.target, c.injury_date, c.infusion_window_end_day,
       sd.at, coalesce(max(sc.factor), 1),
       array_agg(extract(epoch FROM sc.performed_at - sd.at)::float8 / 86400 ORDER BY sc.performed_at, sc.id)
           FILTER (WHERE sc.newer < {FIT_POINTS} OR sc.first),
       array_agg(sc.cells ORDER BY sc.performed_at, sc.id) FILTER (WHERE sc.newer < {FIT_POINTS} OR sc.first)
FROM cultures c
JOIN seeded sd ON sd.batch_id = c.id
LEFT JOIN scaled sc ON sc.batch_id = c.id
GROUP BY c.id, c.max_culture_days, c.expected_culture_days, c.target, c.injury_date,
         c.infusion_window_end_day, sd.at
"""


@dataclass
class _Culture:
    row: tuple[Any, ...]
    points: list[CountPoint]


# The growth read sorts and hashes every culture's steps (about 400,000 rows at 100,000
# batches); with the default 4 MB they spill to disk in several batches. Local to the read.
GROWTH_WORK_MEM = "64MB"


def _growth_rows(params: dict[str, Any]) -> Iterable[_Culture]:
    """Every culture's protocol numbers and latest counts (``_GROWTH_SQL``), as count points."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [GROWTH_WORK_MEM])
        cursor.execute(_GROWTH_SQL, params)
        rows = cursor.fetchall()
    return [
        _Culture(row, [CountPoint(day, cells) for day, cells in zip(row[8] or (), row[9] or (), strict=True)])
        for row in rows
    ]


def _judge(culture: _Culture, hits: dict[str, list[tuple[int, str, str]]]) -> None:
    """Append the at-risk and indication-window hits of one culture."""
    batch_id, max_days, expected_days, target, injury_date, window_end, seeded_at, factor = culture.row[:8]
    try:
        projection = project_ready_day(culture.points, target * factor)
    except GrowthInputError:
        return
    if projection.reason == NO_GROWTH:
        detail = "The cells are not growing: the target dose cannot be reached."
        hits[K.CULTURE_AT_RISK].append((batch_id, "critical", detail))
    elif projection.ready_day is not None and not projection.reached and projection.ready_day > max_days:
        detail = (
            f"Projected to reach the target on culture day {projection.ready_day:.1f}, "
            f"after the maximum of {max_days} days."
        )
        hits[K.CULTURE_AT_RISK].append((batch_id, "warning", detail))
    if window_end is None:
        return
    seeded_on = timezone.localdate(seeded_at)
    ready_on = projected_ready_date(seeded_on, projection) or seeded_on + dt.timedelta(days=expected_days)
    closes_on = injury_date + dt.timedelta(days=window_end)
    if ready_on > closes_on:
        detail = (
            f"Projected ready on {ready_on:%Y-%m-%d}; the infusion window closes on {closes_on:%Y-%m-%d}."
        )
        hits[K.INDICATION_WINDOW].append((batch_id, "critical", detail))


def sweep_growth(*, now: dt.datetime | None = None, batch_id: int | None = None) -> list[SweepResult]:
    """At-risk cultures and closing indication windows, from the growth projection.

    One query reads every culture's latest counts; the projection is the
    domain's ``project_ready_day``; then one reconcile statement per kind.
    """
    params = _params(now or timezone.now(), batch_id)
    hits: dict[str, list[tuple[int, str, str]]] = {K.CULTURE_AT_RISK: [], K.INDICATION_WINDOW: []}
    for culture in _growth_rows(params):
        _judge(culture, hits)
    results = []
    for kind, rows in hits.items():
        ids, severities, details = (
            (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [])
        )
        arrays = {"ids": ids, "severities": severities, "details": details}
        results.append(_reconcile(kind, _ARRAY_HITS, {**params, **arrays}))
    return results


# --- Everything -----------------------------------------------------------------------


def sweep_culture(*, now: dt.datetime | None = None, batch_id: int | None = None) -> list[SweepResult]:
    """The lab's sweeps: culture length, feeding, seeding, growth projection."""
    now = now or timezone.now()
    results = sweep_conditions(CULTURE_KINDS, now=now, batch_id=batch_id)
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
    results = sweep_conditions([*CULTURE_KINDS, K.QC_LATE, K.DOSE_EXPIRING], now=now, batch_id=batch_id)
    return results + sweep_growth(now=now, batch_id=batch_id)


def flag_acknowledge(*, flag: Flag, actor: Any, note: str = "", now: dt.datetime | None = None) -> bool:
    """Record that ``actor`` has seen an open flag. False when it was already acknowledged or resolved.

    Technicians and QA only (NotPermitted otherwise), as the worklists.
    """
    require_role(actor, Role.TECHNICIAN, Role.QA, action="acknowledge flags")
    with transaction.atomic(), audit_context(actor=actor, reason="flag acknowledged"):
        updated = Flag.objects.filter(
            pk=flag.pk, resolved_at__isnull=True, acknowledged_at__isnull=True
        ).update(acknowledged_by=actor, acknowledged_at=now or timezone.now(), acknowledgement_note=note)
    flag.refresh_from_db()
    return bool(updated)


__all__ = [
    "CONDITIONS",
    "CULTURE_KINDS",
    "LAST_SEEN_EVERY",
    "ExpiryResult",
    "FullSweep",
    "SweepResult",
    "batch_flags_refresh",
    "dose_expiry_sweep",
    "flag_acknowledge",
    "sweep_all",
    "sweep_condition",
    "sweep_conditions",
    "sweep_culture",
    "sweep_expiry",
    "sweep_growth",
    "sweep_qc_late",
]
