"""Benchmark: the storage sweep over 50 tanks, 100,000 stored units and 10 million readings.

Target: < 5 s at steady state, and the same number of queries whatever happens.
Runs in its own database ``lims_bench_storage`` on the development server (the
embedded PostgreSQL, or the server of DATABASE_URL), never the development data:

    .venv/bin/python bench/storage_sweep.py                # 50 tanks, 1e5 units, 1e7 readings
    .venv/bin/python bench/storage_sweep.py --reuse        # sweep the data already seeded

Seeding writes straight into the real tables with set-based SQL (generate_series),
with ``session_replication_role = replica`` (audit and foreign-key triggers off,
this database only). The seeded history counts as judged by earlier sweeps (the
sweep state starts at the last seeded reading), as in a running facility. Then,
with every trigger on: a sweep with nothing new; one after a reading per tank;
one after a reading out of range (an excursion opens and holds every unit of
that tank, audited); one after it ends; and a last quiet one.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _setup import configure  # bench/ is the script's directory

BENCH_DATABASE = "lims_bench_storage"
TANKS, BOXES_PER_TANK, BOX = 50, 20, 100  # 50 tanks x 20 boxes x 100 positions = 100,000 positions

_SEED = [
    "CREATE TEMP TABLE plan AS SELECT g AS id FROM generate_series(1, %(batches)s) AS g",
    """INSERT INTO batches_patient (id, clinic_id, code, birth_year, sex, weight_kg, injury_date, injury_level,
        asia_grade, injury_type, malignancy_history, created_at)
       SELECT md5('bench' || id)::uuid, %(clinic)s, 'BENCH-' || id, 1980, 'male', 70, (%(now)s - interval '60 days')::date,
        'C5', 'B', 'contusion', false, %(now)s FROM plan""",
    """INSERT INTO batches_therapy (id, coi, patient_id, protocol_id, eligibility, created_at)
       SELECT id, 'CHB' || lpad(id::text, 12, '0'), md5('bench' || id)::uuid, %(protocol)s, '{}', %(now)s FROM plan""",
    """INSERT INTO batches_collection (id, din, therapy_id, kind, collected_at, collected_by, volume_ml, registered_at)
       SELECT id, 'B0000' || lpad(id::text, 8, '0'), id, 'bone_marrow', %(now)s - interval '50 days', '', 30, %(now)s
       FROM plan""",
    """INSERT INTO batches_batch (id, din, collection_id, therapy_id, status, quarantined_from, status_changed_at,
        created_at)
       SELECT id, 'B0000' || lpad(id::text, 8, '0'), id, id, 'released', '', %(now)s, %(now)s FROM plan""",
    """INSERT INTO batches_dose (id, batch_id, number, cells, volume_ml, status, expires_at)
       SELECT id, id, 1, 100000000, 50, 'available', %(now)s + interval '300 days' FROM plan""",
    """INSERT INTO storage_cryopreservation (id, batch_id, freeze_started_at, freeze_ended_at, freezer, program,
        cryoprotectant, cryoprotectant_lot, scanned_identifier, performed_by_id, recorded_at)
       SELECT id, id, %(now)s - interval '30 days 2 hours', %(now)s - interval '30 days', 'CRF-01', 'MSC-1',
        'DMSO 10%%', 'LOT-1', '', %(tech)s, %(now)s FROM plan""",
    """INSERT INTO storage_doseunit (id, batch_id, dose_id, cryopreservation_id, suffix, code, kind, fill_volume_ml, status)
       SELECT (id - 1) * 4 + k, id, id, id, chr(64 + k), 'B0000' || lpad(id::text, 8, '0') || '-1-' || chr(64 + k),
        'bag', 12, 'stored' FROM plan, generate_series(1, 4) AS k""",
    """INSERT INTO batches_location (id, code, name, kind, clinic_id, active)
       SELECT t, 'BENCH-TANK-' || t, 'Tank ' || t, 'cold_storage', NULL, true FROM generate_series(1, %(tanks)s) AS t""",
    """INSERT INTO storage_container (id, code, name, kind, parent_id, storage_unit_id, capacity, temp_min_c, temp_max_c,
        location_id, rows, columns, active) VALUES (1, 'BENCH-SITE', 'Bench CPF', 'site', NULL, NULL, 100, NULL, NULL,
        NULL, NULL, NULL, true)""",
    """INSERT INTO storage_container (id, code, name, kind, parent_id, storage_unit_id, capacity, temp_min_c, temp_max_c,
        location_id, rows, columns, active)
       SELECT 1 + t, 'LN2-' || lpad(t::text, 2, '0'), 'Tank ' || t, 'ln2_tank', 1, 1 + t, 1, -196, -150, t, NULL, NULL, true
       FROM generate_series(1, %(tanks)s) AS t""",
    """INSERT INTO storage_container (id, code, name, kind, parent_id, storage_unit_id, capacity, temp_min_c, temp_max_c,
        location_id, rows, columns, active)
       SELECT 1000 + t, 'LN2-' || lpad(t::text, 2, '0') || '-R1', 'Rack 1', 'rack', 1 + t, 1 + t, %(boxes)s, NULL, NULL,
        NULL, NULL, NULL, true FROM generate_series(1, %(tanks)s) AS t""",
    """INSERT INTO storage_container (id, code, name, kind, parent_id, storage_unit_id, capacity, temp_min_c, temp_max_c,
        location_id, rows, columns, active)
       SELECT 10000 + (t - 1) * %(boxes)s + b, 'LN2-' || lpad(t::text, 2, '0') || '-R1-B' || b, 'Box ' || b, 'box',
        1000 + t, 1 + t, 100, NULL, NULL, NULL, 10, 10, true
       FROM generate_series(1, %(tanks)s) AS t, generate_series(1, %(boxes)s) AS b""",
    """INSERT INTO storage_position (id, box_id, storage_unit_id, label, code, row, "column")
       SELECT (c.id - 10000 - 1) * 100 + p, c.id, c.storage_unit_id, chr(65 + (p - 1) / 10) || (1 + (p - 1) %% 10),
        c.code || '-' || chr(65 + (p - 1) / 10) || (1 + (p - 1) %% 10), 1 + (p - 1) / 10, 1 + (p - 1) %% 10
       FROM storage_container c, generate_series(1, 100) AS p WHERE c.kind = 'box'""",
    """INSERT INTO storage_placement (unit_id, position_id, storage_unit_id, stored_at, stored_by_id, scanned_unit,
        scanned_position, removed_at, removed_by_id, removal_purpose, verified_by_id, verification_signature_id)
       SELECT u.id, p.id, p.storage_unit_id, %(now)s - interval '29 days', %(tech)s, u.code, p.code, NULL, NULL, '',
        NULL, NULL
       FROM storage_doseunit u JOIN storage_position p ON p.id = u.id""",
    # 10 million readings: every tank every 5 minutes for 200,000 intervals (about 1.9 years), the last a minute ago.
    """INSERT INTO storage_temperaturereading (storage_unit_id, taken_at, temperature_c, source, imported_id,
        recorded_by_id, recorded_at)
       SELECT 1 + t, %(now)s - interval '1 minute' - (%(per_tank)s - g) * interval '5 minutes',
        -186 + ((g + t) %% 9) / 10.0, 'import', NULL, NULL, %(now)s
       FROM generate_series(1, %(per_tank)s) AS g, generate_series(1, %(tanks)s) AS t""",
    "DROP TABLE plan",
]
_SEQUENCES = (
    "batches_therapy", "batches_collection", "batches_batch", "batches_dose", "batches_location",
    "storage_cryopreservation", "storage_doseunit", "storage_container", "storage_position",
)  # fmt: skip


def _seed(units: int, readings: int, now: Any) -> float:
    from django.db import connection, transaction

    from batches.models import Clinic, ProcessingProtocol
    from compliance.models import User

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the tables refuse TRUNCATE
        cursor.execute(
            "TRUNCATE batches_patient, batches_location, storage_container, storage_sweepstate, batches_flag, "
            "compliance_auditentry, compliance_auditchainhead RESTART IDENTITY CASCADE"
        )
    clinic, _ = Clinic.objects.get_or_create(code="BENCH", defaults={"name": "Bench clinic"})
    tech, _ = User.objects.get_or_create(username="bench-tech", defaults={"full_name": "Bench Technician"})
    protocol = ProcessingProtocol.objects.get(code="SCI-CHRONIC-IT", version=1)
    params = {"batches": units // 4, "now": now, "clinic": clinic.pk, "tech": tech.pk, "protocol": protocol.pk,
              "tanks": TANKS, "boxes": BOXES_PER_TANK, "per_tank": readings // TANKS}  # fmt: skip
    print("seeding with session_replication_role = replica (audit and FK triggers off, this database only)")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql in _SEED:
            step = time.monotonic()
            cursor.execute(sql, params)
            print(
                f"  {cursor.rowcount:>11,} rows  {time.monotonic() - step:6.1f} s  {sql.split('(')[0].strip()[:60]}"
            )
        for table in _SEQUENCES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cursor.execute(
            "INSERT INTO storage_sweepstate (id, last_reading_id, swept_at) "
            "SELECT 1, max(id), %s FROM storage_temperaturereading",
            [now],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def _readings(now: Any, *, out_of_range: str | None = None, value: str = "-186.0") -> int:
    """One reading per tank at ``now``; tank ``out_of_range`` (a code) reads -120 °C."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO storage_temperaturereading (storage_unit_id, taken_at, temperature_c, source, recorded_at) "
            "SELECT id, %s, CASE WHEN code = %s THEN -120 ELSE %s::numeric END, 'import', %s "
            "FROM storage_container WHERE kind = 'ln2_tank'",
            [now, out_of_range or "", value, now],
        )
        return cursor.rowcount


def _timed(label: str, now: Any) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from monitoring.storage_sweeps import sweep_storage

    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        result = sweep_storage(now=now)
        elapsed = time.monotonic() - started
    print(
        f"{label:<40} {elapsed:6.2f} s  {len(queries.captured_queries):>2} queries  judged {result.readings_judged:>3}  "
        f"excursions +{result.excursions_opened}/-{result.excursions_closed}  held {result.units_held:>5,}  "
        f"missing +{result.missing_opened}/-{result.missing_closed}"
    )
    return elapsed, len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=100_000, help="stored units (default 1e5; 4 per dose)")
    parser.add_argument(
        "--readings", type=int, default=10_000_000, help="readings over 50 tanks (default 1e7)"
    )
    parser.add_argument("--reuse", action="store_true", help="sweep the data already in lims_bench_storage")
    args = parser.parse_args()

    database = configure(BENCH_DATABASE)
    import datetime as dt

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from storage.models import Placement, TemperatureReading

    print(f"database {database['NAME']} on {database['HOST'] or 'localhost'}")
    call_command("migrate", verbosity=0)
    now = timezone.now()
    if not args.reuse:
        print(f"seed time        {_seed(args.units, args.readings, now):.1f} s")
    else:
        now = TemperatureReading.objects.latest("taken_at").taken_at + dt.timedelta(minutes=1)
    print(f"stored units     {Placement.objects.filter(removed_at__isnull=True).count():,}")
    print(f"readings         {TemperatureReading.objects.count():,}")
    minute = dt.timedelta(minutes=1)
    runs = [_timed("quiet (nothing new)", now)]
    _readings(now + minute)
    runs.append(_timed("a reading per tank, all in range", now + minute))
    _readings(now + 2 * minute, out_of_range="LN2-07")
    runs.append(_timed("LN2-07 at -120 °C (holds its units)", now + 2 * minute))
    _readings(now + 3 * minute)
    runs.append(_timed("LN2-07 back in range (excursion ends)", now + 3 * minute))
    runs.append(_timed("quiet again", now + 3 * minute))
    steady = max(runs[0][0], runs[1][0], runs[3][0], runs[4][0])
    queries = {q for _, q in runs}
    print(f"queries          {' / '.join(str(q) for _, q in runs)}")
    print(
        f"steady-state sweep {steady:.2f} s; the excursion sweep {runs[2][0]:.2f} s (audited holds of 2,000 units)"
    )
    ok = steady < 5 and len(queries) == 1
    print(f"target (steady-state sweep < 5 s, constant queries): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
