# ruff: noqa: S608 - the SQL is assembled from this module's constants and a sweep's own condition SQL.
"""The flag reconciler: turn a condition's hits into open, kept and resolved flags in ONE statement.

A condition is any SQL yielding ``(batch_id, kind, severity, detail)``: the batches
where a flag of ``kind`` should be open now. For the kinds asked, one statement

* opens a flag for every hit with none open (``INSERT ... ON CONFLICT DO NOTHING``
  against the partial unique index: one open flag per batch and kind, so two
  sweeps at once still open one);
* rewrites an open flag only when its severity or detail changed, or at most
  hourly for ``last_seen_at``, so a sweep that changes nothing writes nothing;
* resolves the open flags with no hit (compare-and-set on ``resolved_at IS NULL``);

then one more query notifies the responsible roles of every flag that opened or
escalated. Data-modifying CTEs share one snapshot, so a flag opened by the
statement is neither kept nor resolved by it.

Plans that do not wait for autovacuum. Right after a sweep opened 59,000 flags the
statistics still say "no open flags" until autovacuum analyzes the table, if it
does before the next sweep. The anti-join this statement once used ("open flags with
no hit") then ran as a nested loop over the hits, quadratic in the flags: 48 s
instead of 1 s at 100,000 batches. So:

* open flags and hits are matched by a FULL JOIN, which PostgreSQL can only hash or
  merge, never run as a nested loop, whatever the statistics say;
* a reconcile that opened or resolved at least ``ANALYZE_AFTER`` flags analyzes
  the flag table in its transaction, so every other plan on it (the updates by
  primary key here, the worklists) sees the flags too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from core.audit import audit_context
from monitoring.notifications import notify_flags

# An unchanged open flag gets its ``last_seen_at`` rewritten at most this often, so a
# sweep rewrites only the flags that changed, not every open one every five minutes.
LAST_SEEN_EVERY = dt.timedelta(hours=1)
# A reconcile that opens or resolves at least this many flags analyzes the flag table (see above).
ANALYZE_AFTER = 1000


@dataclass
class SweepResult:
    """What one sweep did to one kind: flag ids it opened and escalated, how many it kept and resolved."""

    kind: str
    opened: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    kept: int = 0
    resolved: int = 0


def _rank(severity: str) -> str:
    return f"array_position(ARRAY['info', 'warning', 'critical']::text[], {severity})"


_RECONCILE = f"""
WITH hits AS (
    SELECT h.batch_id, h.kind::text AS kind, h.severity::text AS severity, h.detail::text AS detail
    FROM ({{hits}}) AS h(batch_id, kind, severity, detail)
    WHERE h.kind = ANY(%(kinds)s::text[])
),
open_flags AS (
    SELECT f.id, f.batch_id, f.kind, f.severity FROM batches_flag f
    WHERE f.resolved_at IS NULL AND f.kind = ANY(%(kinds)s::text[])
      AND (%(batch)s::bigint IS NULL OR f.batch_id = %(batch)s::bigint)
),
matched AS (
    SELECT coalesce(h.batch_id, f.batch_id) AS batch_id, coalesce(h.kind, f.kind) AS kind,
           f.id AS flag_id, f.severity AS old_severity, h.severity, h.detail, h.batch_id IS NOT NULL AS hit
    FROM open_flags f FULL JOIN hits h ON h.batch_id = f.batch_id AND h.kind = f.kind
),
opened AS (
    INSERT INTO batches_flag (batch_id, kind, severity, detail, first_seen_at, last_seen_at, acknowledgement_note)
    SELECT batch_id, kind, severity, detail, %(now)s, %(now)s, '' FROM matched WHERE flag_id IS NULL
    ON CONFLICT (batch_id, kind) WHERE resolved_at IS NULL DO NOTHING
    RETURNING id, kind
),
kept AS (
    UPDATE batches_flag f
    SET last_seen_at = %(now)s, severity = m.severity, detail = m.detail,
        escalated_at = CASE WHEN {_rank("m.severity")} > {_rank("f.severity")} THEN %(now)s ELSE f.escalated_at END
    FROM matched m
    WHERE f.id = m.flag_id AND m.hit AND f.resolved_at IS NULL
      AND (f.severity <> m.severity OR f.detail <> m.detail OR f.last_seen_at <= %(now)s - %(last_seen_every)s)
    RETURNING f.id, f.kind, {_rank("m.severity")} > {_rank("m.old_severity")} AS escalated
),
resolved AS (
    UPDATE batches_flag f SET resolved_at = %(now)s
    FROM matched m
    WHERE f.id = m.flag_id AND NOT m.hit AND f.resolved_at IS NULL
    RETURNING f.id, f.kind
)
SELECT k.kind,
       ARRAY(SELECT o.id FROM opened o WHERE o.kind = k.kind ORDER BY o.id),
       ARRAY(SELECT c.id FROM kept c WHERE c.kind = k.kind AND c.escalated ORDER BY c.id),
       (SELECT count(*) FROM hits h WHERE h.kind = k.kind) - (SELECT count(*) FROM opened o WHERE o.kind = k.kind),
       (SELECT count(*) FROM resolved r WHERE r.kind = k.kind)
FROM unnest(%(kinds)s::text[]) WITH ORDINALITY AS k(kind, position)
ORDER BY k.position
"""


def reconcile(kinds: Sequence[str], hits_sql: str, params: dict[str, Any]) -> list[SweepResult]:
    """Bring the flags of ``kinds`` in line with the hits of ``hits_sql`` (one statement, one per kind result).

    ``params`` are ``hits_sql``'s own and must hold ``now`` and ``batch`` (None for
    every batch, else the only batch whose flags may be resolved). Hits of other
    kinds than ``kinds`` are ignored, so one condition can serve a sweep of one kind.
    """
    kinds = list(kinds)
    with transaction.atomic(), audit_context(reason=f"sweep: {', '.join(kinds)}"):
        with connection.cursor() as cursor:
            # A reconcile scans every active batch, so its estimated cost is far above jit_above_cost
            # and PostgreSQL 15 JIT-compiled it first: 0.4 to 0.6 s, often more than running it.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(
                _RECONCILE.format(hits=hits_sql),
                {**params, "kinds": kinds, "last_seen_every": LAST_SEEN_EVERY},
            )
            results = [SweepResult(*row) for row in cursor.fetchall()]
        opened = _ids(r.opened for r in results)
        notify_flags(opened=opened, escalated=_ids(r.escalated for r in results), now=params["now"])
        if len(opened) + sum(r.resolved for r in results) >= ANALYZE_AFTER:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE batches_flag")  # in the transaction: the statistics see its flags
    return results


def _ids(lists: Iterable[list[int]]) -> list[int]:
    return [flag_id for ids in lists for flag_id in ids]


__all__ = [
    "ANALYZE_AFTER",
    "LAST_SEEN_EVERY",
    "SweepResult",
    "reconcile",
]
