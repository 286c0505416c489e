"""The storage sweep: temperature excursions, the units they hold, and missing readings. Set-based.

A fixed number of statements whatever the number of tanks, units or readings
(eight), and at steady state each touches only what is new: readings are
judged once, from the id after the last one judged (``SweepState``), and holds
are (re)computed only for excursions that are open or have just ended.

* An *excursion* is a run of consecutive out-of-range readings of a tank or
  freezer (gaps and islands over the new readings); it ends at the first
  in-range reading after the run. One open excursion per storage unit and kind
  (a partial unique index).
* It *holds* exactly the dose units stored in that storage unit at any time
  while it lasted: a placement overlapping [started_at, ended_at).
* A *missing reading*: a storage unit holding units whose latest reading is
  older than the strictest ``storage_reading_max_gap_minutes`` of their
  protocols. It ends at the next reading. It is flagged, not a hold.

Runs under one transaction with the sweep state row locked, so two workers
never sweep at once; safe to run twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from core.audit import audit_context

_CLAIM = """
INSERT INTO storage_sweepstate (id, last_reading_id) VALUES (1, 0)
ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id
RETURNING last_reading_id, (SELECT coalesce(max(id), 0) FROM storage_temperaturereading)
"""

# An open excursion ends at the first in-range reading after it started (among the readings up to hi).
_CLOSE_TEMPERATURE = """
UPDATE storage_excursion e SET ended_at = x.ended_at
  FROM (SELECT e2.id, (SELECT min(r.taken_at) FROM storage_temperaturereading r
                        JOIN storage_container c ON c.id = r.storage_unit_id
                       WHERE r.storage_unit_id = e2.storage_unit_id AND r.taken_at > e2.started_at
                         AND r.id <= %(hi)s AND r.temperature_c BETWEEN c.temp_min_c AND c.temp_max_c) AS ended_at
          FROM storage_excursion e2 WHERE e2.kind = 'temperature' AND e2.ended_at IS NULL) x
 WHERE e.id = x.id AND x.ended_at IS NOT NULL
"""

# Runs of out-of-range readings among the new ones (gaps and islands), unless an excursion covers their start.
_OPEN_TEMPERATURE = """
WITH new AS (
    SELECT r.storage_unit_id AS unit, r.taken_at, r.temperature_c AS t, c.temp_max_c AS high,
           NOT (r.temperature_c BETWEEN c.temp_min_c AND c.temp_max_c) AS out
      FROM storage_temperaturereading r JOIN storage_container c ON c.id = r.storage_unit_id
     WHERE r.id > %(wm)s AND r.id <= %(hi)s
), marked AS (
    SELECT *, row_number() OVER (PARTITION BY unit ORDER BY taken_at)
            - row_number() OVER (PARTITION BY unit, out ORDER BY taken_at) AS island
      FROM new
), islands AS (
    SELECT unit, min(taken_at) AS started_at, max(taken_at) AS last_out,
           CASE WHEN max(t) > max(high) THEN max(t) ELSE min(t) END AS extreme
      FROM marked WHERE out GROUP BY unit, island
)
INSERT INTO storage_excursion (storage_unit_id, kind, started_at, ended_at, extreme_c, detected_at,
                               holds_final, decision, assessment)
SELECT i.unit, 'temperature', i.started_at,
       (SELECT min(r.taken_at) FROM storage_temperaturereading r JOIN storage_container c ON c.id = r.storage_unit_id
         WHERE r.storage_unit_id = i.unit AND r.taken_at > i.last_out AND r.id <= %(hi)s AND r.temperature_c BETWEEN c.temp_min_c AND c.temp_max_c),
       i.extreme, %(now)s, false, '', ''
  FROM islands i
 WHERE NOT EXISTS (SELECT 1 FROM storage_excursion e
                    WHERE e.storage_unit_id = i.unit AND e.kind = 'temperature' AND i.started_at >= e.started_at
                      AND (e.ended_at IS NULL OR i.started_at < e.ended_at))
 ORDER BY i.unit, i.started_at
ON CONFLICT DO NOTHING
"""

# Every unit whose placement overlaps an excursion that is open or has just ended.
_HOLD = """
INSERT INTO storage_excursionhold (excursion_id, unit_id, created_at)
SELECT e.id, p.unit_id, %(now)s
  FROM storage_excursion e
  JOIN storage_placement p ON p.storage_unit_id = e.storage_unit_id
 WHERE e.kind = 'temperature' AND NOT e.holds_final
   AND (e.ended_at IS NULL OR p.stored_at < e.ended_at)
   AND (p.removed_at IS NULL OR p.removed_at > e.started_at)
 ORDER BY e.id, p.unit_id
ON CONFLICT (excursion_id, unit_id) DO NOTHING
"""

_FINAL = """
UPDATE storage_excursion SET holds_final = true
 WHERE kind = 'temperature' AND NOT holds_final AND ended_at IS NOT NULL
"""

_CLOSE_MISSING = """
UPDATE storage_excursion e SET ended_at = x.ended_at
  FROM (SELECT e2.id, (SELECT min(r.taken_at) FROM storage_temperaturereading r
                        WHERE r.storage_unit_id = e2.storage_unit_id AND r.taken_at >= e2.started_at) AS ended_at
          FROM storage_excursion e2 WHERE e2.kind = 'missing_reading' AND e2.ended_at IS NULL) x
 WHERE e.id = x.id AND x.ended_at IS NOT NULL
"""

# The strictest interval of the protocols of the units each storage unit holds now.
_OPEN_MISSING = """
WITH gap AS (
    SELECT p.storage_unit_id AS unit, min(pr.storage_reading_max_gap_minutes) AS minutes
      FROM storage_placement p
      JOIN storage_doseunit u ON u.id = p.unit_id
      JOIN batches_batch b ON b.id = u.batch_id
      JOIN batches_therapy t ON t.id = b.therapy_id
      JOIN batches_processingprotocol pr ON pr.id = t.protocol_id
     WHERE p.removed_at IS NULL
     GROUP BY p.storage_unit_id
), latest AS (
    SELECT g.unit, g.minutes * interval '1 minute' AS gap,
           (SELECT max(r.taken_at) FROM storage_temperaturereading r WHERE r.storage_unit_id = g.unit) AS last_at
      FROM gap g
)
INSERT INTO storage_excursion (storage_unit_id, kind, started_at, detected_at, holds_final, decision, assessment)
SELECT l.unit, 'missing_reading', coalesce(l.last_at + l.gap, %(now)s), %(now)s, true, '', ''
  FROM latest l
 WHERE coalesce(l.last_at, '-infinity') < %(now)s::timestamptz - l.gap
   AND NOT EXISTS (SELECT 1 FROM storage_excursion e
                    WHERE e.storage_unit_id = l.unit AND e.kind = 'missing_reading' AND e.ended_at IS NULL)
 ORDER BY l.unit
ON CONFLICT DO NOTHING
"""

_DONE = "UPDATE storage_sweepstate SET last_reading_id = %(hi)s, swept_at = %(now)s WHERE id = 1"


@dataclass(frozen=True)
class StorageSweep:
    readings_judged: int
    excursions_opened: int
    excursions_closed: int
    units_held: int
    missing_opened: int
    missing_closed: int


def sweep_storage(*, now: dt.datetime | None = None) -> StorageSweep:
    """Judge the readings recorded since the last sweep, hold the units, flag silent tanks. Eight statements."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(reason="sweep: storage"), connection.cursor() as cursor:
        cursor.execute(_CLAIM)
        wm, hi = cursor.fetchone()
        params = {"wm": wm, "hi": hi, "now": now}
        counts = []
        for sql in (_CLOSE_TEMPERATURE, _OPEN_TEMPERATURE, _HOLD, _FINAL, _CLOSE_MISSING, _OPEN_MISSING):
            cursor.execute(sql, params)
            counts.append(cursor.rowcount)
        cursor.execute(_DONE, params)
    closed, opened, held, _, missing_closed, missing_opened = counts
    return StorageSweep(hi - wm, opened, closed, held, missing_opened, missing_closed)
