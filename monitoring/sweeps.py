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

from django.db import transaction
from django.utils import timezone

from batches.domain.growth import NO_GROWTH
from batches.models import Flag
from batches.selectors import SEEDED, last_step_at_sql
from core.audit import audit_context
from core.i18n import N_
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
