"""Benchmark: the full sweep over 100,000 active batches with histories (target: < 5 s, constant queries).

Runs in its own database ``lims_bench_sweep`` on the development server (the
embedded PostgreSQL, or the server of DATABASE_URL), never the development data:

    .venv/bin/python bench/sweep.py --batches 100000

Seeding writes straight into the real tables with set-based SQL (generate_series).
It runs with ``session_replication_role = replica`` so the per-row audit and
foreign-key triggers are skipped while seeding (this database only); the sweeps
then run with every trigger on, as in production. The full sweep runs three
times: the first opens flags, the second changes nothing, and the third runs
after a day of new history (a feeding logged on every batch in culture), to show
the time follows the flags changed, not the length of the histories.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from _setup import configure  # bench/ is the script's directory

BENCH_DATABASE = "lims_bench_sweep"

# One row per batch: how old its culture is, where it stands, how fast it grows.
_PLAN = """
CREATE TEMP TABLE plan AS
SELECT g AS id,
       CASE WHEN g %% 20 IN (0, 1) THEN 'received' WHEN g %% 20 = 2 THEN 'harvested'
            WHEN g %% 20 = 3 THEN 'pending_release' WHEN g %% 20 = 4 THEN 'released'
            ELSE 'in_culture' END AS status,
       CASE WHEN g %% 20 BETWEEN 2 AND 4 THEN 22 + g %% 8 ELSE (g * 7919 %% 3100) / 100.0 END AS age,
       CASE WHEN g %% 10 = 5 THEN 4.5 ELSE 1.9 END AS doubling,
       g %% 13 = 6 AS skips_feeding
FROM generate_series(1, %(n)s) AS g
"""
_SEED = [
    """INSERT INTO batches_patient (id, clinic_id, code, birth_year, sex, weight_kg, injury_date, injury_level,
        asia_grade, injury_type, malignancy_history, created_at)
       SELECT md5('bench' || id)::uuid, %(clinic)s, 'BENCH-' || id, 1980, 'male', 70,
        (%(now)s - (age + 12) * interval '1 day')::date, 'C5', 'B', 'contusion', false, %(now)s FROM plan""",
    """INSERT INTO batches_therapy (id, coi, patient_id, protocol_id, eligibility, created_at)
       SELECT id, 'CHB' || lpad(id::text, 12, '0'), md5('bench' || id)::uuid, %(protocol)s, '{}', %(now)s
       FROM plan""",
    """INSERT INTO batches_collection (id, din, therapy_id, kind, collected_at, collected_by, volume_ml, registered_at)
       SELECT id, 'B0000' || lpad(id::text, 8, '0'), id, 'bone_marrow',
        %(now)s - age * interval '1 day' - interval '7 hours', '', 30, %(now)s FROM plan""",
    """INSERT INTO batches_batch (id, din, collection_id, therapy_id, status, quarantined_from, status_changed_at,
        created_at)
       SELECT id, 'B0000' || lpad(id::text, 8, '0'), id, id, status, '', %(now)s, %(now)s FROM plan""",
]
_STEP = """INSERT INTO batches_culturestep (batch_id, kind, performed_at, performed_by_id, recorded_at,
    scanned_identifier, equipment, notes, amendment_reason, medium_lot, temperature_c, seal_intact,
    seeded_cells, viable_cells, viability_pct, doses, cells_per_dose, volume_ml_per_dose)
"""
_STEPS = [
    _STEP
    + """SELECT id, 'receipt', %(now)s - age * interval '1 day' - interval '4 hours', %(tech)s, %(now)s,
        '', '', '', '', '', 8.5, true, NULL, NULL, NULL, NULL, NULL, NULL FROM plan""",
    _STEP
    + """SELECT id, 'seeding', %(now)s - age * interval '1 day', %(tech)s, %(now)s, '', '', '', '',
        'aMEM', NULL, NULL, 25000000, NULL, NULL, NULL, NULL, NULL FROM plan WHERE status <> 'received'""",
    _STEP
    + """SELECT id, 'feeding', %(now)s - (age - d) * interval '1 day', %(tech)s, %(now)s, '', '', '', '',
        'aMEM', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
       FROM plan, generate_series(3, 21, 3) AS d
       WHERE status <> 'received' AND d < age AND (status <> 'in_culture' OR d <= 21)
         AND NOT (skips_feeding AND d > 6)""",
    _STEP
    + """SELECT id, CASE WHEN d = 10 THEN 'passage' ELSE 'cell_count' END,
        %(now)s - (age - d) * interval '1 day' + interval '2 hours', %(tech)s, %(now)s, '', '', '', '', '',
        NULL, NULL, CASE WHEN d = 10 THEN (1500000 * 2 ^ ((d - 5) / doubling))::bigint END,
        (1500000 * 2 ^ ((d - 5) / doubling))::bigint, 92, NULL, NULL, NULL
       FROM plan, unnest(ARRAY[5, 8, 10, 13, 16, 18, 20]) AS d
       WHERE status <> 'received' AND d + 0.2 < age""",
    _STEP
    + """SELECT id, 'harvest', %(now)s - (age - 21) * interval '1 day', %(tech)s, %(now)s, '', '', '', '', '',
        NULL, NULL, NULL, 150000000, 93, NULL, NULL, NULL FROM plan WHERE status IN ('harvested', 'pending_release', 'released')""",
    _STEP
    + """SELECT id, 'formulation', %(now)s - (age - 21.1) * interval '1 day', %(tech)s, %(now)s, '', '', '', '',
        '', NULL, NULL, NULL, NULL, NULL, 1, 100000000, 50 FROM plan WHERE status IN ('pending_release', 'released')""",
    # Stored growth projections (batches.services.growth writes them with each step; here the
    # shape only: about day 20.5 for the 1.9-day doublers, day 38 for the slow ones, at risk).
    """INSERT INTO batches_growthprojection (batch_id, ready_day, low_day, high_day, doubling_time_days, reason,
        reached, projected_ready_on, ready_low_on, ready_high_on, computed_at)
       SELECT id, r, r - 2.5, r + 3.5, doubling, '', false, seeded + ceil(r)::int, seeded + ceil(r - 2.5)::int,
        seeded + ceil(r + 3.5)::int, %(now)s
       FROM (SELECT id, doubling, CASE WHEN doubling > 4 THEN 38.0 ELSE 20.5 END AS r,
                    (%(now)s - age * interval '1 day')::date AS seeded FROM plan WHERE status <> 'received') x""",
    # Released doses: most expire in weeks; some within a day, a few already (made unavailable by the sweep).
    """INSERT INTO batches_dose (batch_id, number, cells, volume_ml, status, expires_at)
       SELECT id, 1, 100000000, 50, CASE WHEN status = 'released' THEN 'available' ELSE 'pending_release' END,
        CASE WHEN status <> 'released' THEN NULL WHEN id %% 100 = 4 THEN %(now)s - interval '1 hour'
             WHEN id %% 100 = 24 THEN %(now)s + interval '12 hours' ELSE %(now)s + interval '20 days' END
       FROM plan WHERE status IN ('pending_release', 'released')""",
]
_NEW_DAY = (
    _STEP
    + """SELECT b.id, 'feeding', %(now)s, %(tech)s, %(now)s, '', '', '', '', 'aMEM', NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL FROM batches_batch b WHERE b.status = 'in_culture' AND b.id %% 13 = 6 AND b.id %% 2 = 0"""
)


def _seed(n: int, now: Any) -> float:
    from django.db import connection, transaction

    from batches.models import Clinic, ProcessingProtocol
    from compliance.models import User

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the tables refuse TRUNCATE
        cursor.execute(
            "TRUNCATE batches_patient, batches_flag, batches_notification, compliance_auditentry, "
            "compliance_auditchainhead RESTART IDENTITY CASCADE"
        )
    clinic, _ = Clinic.objects.get_or_create(code="BENCH", defaults={"name": "Bench clinic"})
    tech, _ = User.objects.get_or_create(username="bench-tech", defaults={"full_name": "Bench Technician"})
    protocol = ProcessingProtocol.objects.get(code="SCI-SUBACUTE-IV", version=1)
    params = {"n": n, "now": now, "clinic": clinic.pk, "tech": tech.pk, "protocol": protocol.pk}
    print("seeding with session_replication_role = replica (audit and FK triggers off, this database only)")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(_PLAN, params)
        for sql in _SEED + _STEPS:
            cursor.execute(sql, params)
        for table in ("batches_therapy", "batches_collection", "batches_batch"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cursor.execute("DROP TABLE plan")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.monotonic() - started


BACKFILL_SAMPLE = 1000


def _timed_backfill(n: int) -> None:
    """The real projection (``growth_projection_backfill``) over ``n`` batches in culture, for its rate."""
    from batches.models import Batch
    from batches.services import growth_projection_backfill

    ids = list(Batch.objects.filter(status="in_culture").order_by("pk").values_list("pk", flat=True)[:n])
    started = time.monotonic()
    written = growth_projection_backfill(batch_ids=ids)
    elapsed = time.monotonic() - started
    print(
        f"projection backfill {written:,} batches in {elapsed:.1f} s ({1000 * elapsed / max(written, 1):.1f} ms each)"
    )


class _GrowthTimer:
    """Wraps ``sweeps.sweep_growth`` to time the growth part of a sweep (reported with and without it)."""

    def __init__(self) -> None:
        from monitoring import sweeps

        self.seconds = 0.0
        self._growth = sweeps.sweep_growth
        sweeps.sweep_growth = self

    def __call__(self, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return self._growth(**kwargs)
        finally:
            self.seconds += time.monotonic() - started


def _timed_sweep(label: str, now: Any, growth: _GrowthTimer) -> tuple[float, int, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from monitoring.sweeps import sweep_all

    growth.seconds = 0.0
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        full = sweep_all(now=now)
        elapsed = time.monotonic() - started
    opened = sum(len(r.opened) for r in full.flags)
    resolved = sum(r.resolved for r in full.flags)
    kept = sum(r.kept for r in full.flags)
    print(
        f"{label:<30} {elapsed:6.2f} s (growth {growth.seconds:5.2f} s, without it {elapsed - growth.seconds:5.2f} s)"
        f"  {len(queries.captured_queries):>3} queries  opened {opened:>6,}  kept {kept:>6,}  resolved {resolved:>6,}"
        f"  doses expired {full.expiry.doses_expired:,}"
    )
    return elapsed, len(queries.captured_queries), growth.seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=100_000, help="active batches to seed (default 1e5)")
    parser.add_argument("--reuse", action="store_true", help="sweep the data already in the bench database")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help=f"bench database on the server (default {BENCH_DATABASE})"
    )
    args = parser.parse_args()

    database = configure(args.database)
    import datetime as dt

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from batches.models import Batch, CultureStep, Flag
    from monitoring.reconcile import ANALYZE_AFTER

    print(f"database {database['NAME']} on {database['HOST'] or 'localhost'}")
    call_command("migrate", verbosity=0)
    now = timezone.now()
    if not args.reuse:
        print(f"seed time        {_seed(args.batches, now):.1f} s")
    print(
        f"active batches   {Batch.objects.exclude(status__in=['infused', 'expired', 'discarded']).count():,}"
    )
    print(f"culture steps    {CultureStep.objects.count():,}")
    _timed_backfill(BACKFILL_SAMPLE)

    # Plans must not wait for autovacuum: keep it away from the flags (this database only),
    # so the 2nd sweep runs on the statistics the 1st one left (analyzed by the sweep, or stale).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE batches_flag SET (autovacuum_enabled = false)")
        cursor.execute("SELECT version()")
        print(f"server           {cursor.fetchone()[0].split(' on ')[0]}; autovacuum off on batches_flag")
    growth = _GrowthTimer()
    first = _timed_sweep("1st sweep (opens flags)", now, growth)
    second = _timed_sweep("2nd sweep (nothing changed)", now, growth)
    from compliance.models import User

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _NEW_DAY,
            {"now": now + dt.timedelta(minutes=5), "tech": User.objects.get(username="bench-tech").pk},
        )
        added = cursor.rowcount
    third = _timed_sweep(f"3rd sweep (+{added:,} feedings)", now + dt.timedelta(minutes=5), growth)

    open_flags = Counter(Flag.objects.filter(resolved_at__isnull=True).values_list("kind", flat=True))
    print("open flags       " + ", ".join(f"{kind} {n:,}" for kind, n in sorted(open_flags.items())))
    steady = max(second[0], third[0])
    without_growth = max(second[0] - second[2], third[0] - third[2])
    print(
        f"queries          {first[1]} / {second[1]} / {third[1]} (the notification query runs only for a reconcile"
        f" that opened or escalated flags, ANALYZE only for one that opened or resolved {ANALYZE_AFTER:,} or more)"
    )
    print(
        f"steady-state sweep {steady:.2f} s ({without_growth:.2f} s without the growth part);"
        f" first sweep {first[0]:.2f} s (its extra time is the audited insert of every opened flag)"
    )
    ok = steady < 5
    print(f"target (steady-state sweep < 5 s): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
