"""Benchmark: readiness over HTTP against /healthz on the same server (target: readiness >= 50% of /healthz req/s).

Seeds 100,000 batches with realistic histories in its own database
``lims_bench_api`` on the development server (the embedded PostgreSQL, or the
server of DATABASE_URL), never the development data, then serves the app with
gunicorn on 127.0.0.1 under the production settings (DEBUG off) and measures
``GET /healthz`` and ``GET /api/v1/batches/<random DIN>/readiness`` with a QA
user's bearer token, in alternating rounds of one run (``_http.measure``):

    .venv/bin/python bench/api_readiness.py --batches 100000

Seeding writes straight into the real tables with set-based SQL
(generate_series) under ``session_replication_role = replica``, so the audit
and foreign-key triggers are skipped while seeding, in this database only; the
server then runs with every trigger on. Released batches get a QA release
decision and signature written by SQL: its content hash is not the SHA-256 of
the record, so readiness answers ``signature_invalid`` for them. That changes
the answer, not the work: the record is still read and hashed on every request.

After seeding (or with ``--reuse``) it runs ``manage.py refresh_readiness_facts --all``,
the operational warm-up after a bulk load: the seed stored no readiness facts
(``BatchFacts``); in production they are kept current by the reads themselves.

The load generator is Python: ``--clients`` processes, each with one
http.client connection (re-opened when gunicorn's sync workers close it), for
``--duration`` seconds per endpoint in all, split into ``--rounds`` alternating
rounds, after a short warm-up, each capped at ``--max-requests``. Latency is
measured per request, client side.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
from typing import Any

from _http import Endpoint, database_url, free_port, issue_token, measure, server_env, start_gunicorn, stop
from _setup import configure  # bench/ is the script's directory

BENCH_DATABASE = "lims_bench_api"
TARGET_RATIO = 0.50  # issue 10

# One row per batch: where it stands in its life, how old its culture is, how fast it grows.
_PLAN = """
CREATE TEMP TABLE plan AS
SELECT g AS id, 'B9999' || '26' || lpad(g::text, 6, '0') AS din,
       CASE WHEN g %% 20 IN (0, 1) THEN 'received' WHEN g %% 20 = 2 THEN 'harvested'
            WHEN g %% 20 = 3 THEN 'pending_release' WHEN g %% 20 IN (4, 5) THEN 'released'
            WHEN g %% 20 = 6 THEN 'quarantined' ELSE 'in_culture' END AS status,
       CASE WHEN g %% 20 BETWEEN 2 AND 5 THEN 22 + g %% 8 ELSE (g * 7919 %% 3100) / 100.0 END AS age,
       CASE WHEN g %% 10 = 5 THEN 4.5 ELSE 1.9 END AS doubling
FROM generate_series(1, %(n)s) AS g
"""
_SEED = [
    """INSERT INTO batches_patient (id, clinic_id, code, birth_year, sex, weight_kg, injury_date, injury_level,
        asia_grade, injury_type, malignancy_history, created_at)
       SELECT md5('bench' || id)::uuid, %(clinic)s, 'BENCH-' || id, 1970 + id %% 40, 'male', 70,
        (%(now)s - (age + 12) * interval '1 day')::date, 'C5', 'B', 'contusion', false, %(now)s FROM plan""",
    """INSERT INTO batches_therapy (id, coi, patient_id, protocol_id, eligibility, created_at)
       SELECT id, 'CHB' || lpad(id::text, 12, '0'), md5('bench' || id)::uuid, %(protocol)s,
        '{"eligible": true, "reasons": []}', %(now)s FROM plan""",
    """INSERT INTO batches_collection (id, din, therapy_id, kind, collected_at, collected_by, volume_ml, registered_at)
       SELECT id, din, id, 'bone_marrow', %(now)s - age * interval '1 day' - interval '7 hours', '', 30, %(now)s
       FROM plan""",
    """INSERT INTO batches_batch (id, din, collection_id, therapy_id, status, quarantined_from, status_changed_at,
        created_at)
       SELECT id, din, id, id, status, CASE WHEN status = 'quarantined' THEN 'in_culture' ELSE '' END,
        %(now)s, %(now)s - age * interval '1 day' - interval '7 hours' FROM plan""",
    # Custody: collection site -> shipper -> receiving, then the incubator once seeded.
    """INSERT INTO batches_custodytransfer (batch_id, sequence, from_location_id, to_location_id, from_holder,
        to_holder, temperature_c, seal_intact, scanned_identifier, performed_at, performed_by_id, recorded_at, notes)
       SELECT id, s, CASE s WHEN 1 THEN NULL WHEN 2 THEN %(shipper)s ELSE %(receiving)s END,
        CASE s WHEN 1 THEN %(shipper)s WHEN 2 THEN %(receiving)s ELSE %(incubator)s END, '', '',
        CASE WHEN s = 2 AND id %% 10 = 7 THEN 9.5 ELSE 6.0 END, true, din,
        %(now)s - age * interval '1 day' - (7 - s) * interval '1 hour', %(tech)s, %(now)s, ''
       FROM plan, generate_series(1, 3) AS s WHERE s < 3 OR status <> 'received'""",
    # One batch in ten had a temperature excursion in transit; QA assessed two in three of them.
    """INSERT INTO batches_finding (batch_id, kind, detail, occurred_at, recorded_by_id, scanned_identifier,
        custody_transfer_id, assessed_at, assessed_by_id, assessment)
       SELECT t.batch_id, 'temperature_excursion', 'Shipper at 9.5 °C on receipt (limit 8 °C).', t.performed_at,
        %(tech)s, '', t.id, CASE WHEN t.batch_id %% 3 > 0 THEN t.performed_at + interval '1 day' END,
        CASE WHEN t.batch_id %% 3 > 0 THEN %(qa)s END,
        CASE WHEN t.batch_id %% 3 > 0 THEN 'Within validated transport stability.' ELSE '' END
       FROM batches_custodytransfer t WHERE t.sequence = 2 AND t.temperature_c > 8""",
]
_STEP = """INSERT INTO batches_culturestep (batch_id, kind, performed_at, performed_by_id, recorded_at,
    scanned_identifier, equipment, notes, amendment_reason, medium_lot, temperature_c, seal_intact,
    seeded_cells, viable_cells, viability_pct, confluence_pct, doses, cells_per_dose, volume_ml_per_dose)
"""
_STEPS = [
    _STEP
    + """SELECT id, 'receipt', %(now)s - age * interval '1 day' - interval '4 hours', %(tech)s, %(now)s,
        din, '', '', '', '', 8.5, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM plan""",
    _STEP
    + """SELECT id, 'seeding', %(now)s - age * interval '1 day', %(tech)s, %(now)s, din, 'BSC-2', '', '',
        'aMEM-2611', NULL, NULL, 25000000, NULL, NULL, NULL, NULL, NULL, NULL FROM plan WHERE status <> 'received'""",
    _STEP
    + """SELECT id, 'feeding', %(now)s - (age - d) * interval '1 day', %(tech)s, %(now)s, din, 'BSC-2', '', '',
        'aMEM-2611', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
       FROM plan, generate_series(3, 21, 3) AS d WHERE status <> 'received' AND d < age""",
    _STEP
    + """SELECT id, CASE WHEN d = 10 THEN 'passage' ELSE 'cell_count' END,
        %(now)s - (age - d) * interval '1 day' + interval '2 hours', %(tech)s, %(now)s, din, '', '', '', '',
        NULL, NULL, CASE WHEN d = 10 THEN (1500000 * 2 ^ ((d - 5) / doubling))::bigint END,
        (1500000 * 2 ^ ((d - 5) / doubling))::bigint, 92, 80, NULL, NULL, NULL
       FROM plan, unnest(ARRAY[5, 8, 10, 13, 16, 18, 20]) AS d WHERE status <> 'received' AND d + 0.2 < age""",
    _STEP
    + """SELECT id, 'harvest', %(now)s - (age - 21) * interval '1 day', %(tech)s, %(now)s, din, '', '', '', '',
        NULL, NULL, NULL, 150000000, 93, NULL, NULL, NULL, NULL
       FROM plan WHERE status IN ('harvested', 'pending_release', 'released')""",
    _STEP
    + """SELECT id, 'formulation', %(now)s - (age - 21.1) * interval '1 day', %(tech)s, %(now)s, din, '', '', '',
        '', NULL, NULL, NULL, NULL, NULL, NULL, 1, 100000000, 50 FROM plan WHERE status IN ('pending_release', 'released')""",
]
_RELEASE = [
    # QC on the final product: every test of the protocol; half the pending batches still await sterility.
    """INSERT INTO compliance_qcresult (batch_id, test, value, result, unit, within_spec, specification, method,
        kit_lot, tested_at, recorded_at, tested_by_id)
       SELECT p.id, spec->>'test',
        CASE spec->>'test' WHEN 'sterility' THEN NULL WHEN 'mycoplasma' THEN NULL WHEN 'viability' THEN 92
             WHEN 'viable_cell_count' THEN 100000000 WHEN 'endotoxin' THEN 0.5 WHEN 'cd34' THEN 0.4
             WHEN 'cd45' THEN 0.8 WHEN 'hla_dr' THEN 0.5 ELSE 98 END,
        CASE spec->>'test' WHEN 'sterility' THEN 'no_growth' WHEN 'mycoplasma' THEN 'negative' ELSE '' END,
        coalesce(spec->>'unit', ''), true, spec, '', 'KIT-1', %(now)s - (p.age - 21.5) * interval '1 day', %(now)s,
        %(qc)s
       FROM plan p, jsonb_array_elements(%(specs)s::jsonb) AS spec
       WHERE p.status = 'released' OR (p.status = 'pending_release' AND (spec->>'test' <> 'sterility' OR p.id %% 2 = 0))""",
    """INSERT INTO batches_dose (batch_id, number, cells, volume_ml, status, expires_at)
       SELECT id, 1, 100000000, 50, CASE WHEN status = 'released' THEN 'available' ELSE 'pending_release' END,
        CASE WHEN status = 'released' THEN %(now)s + interval '20 days' END
       FROM plan WHERE status IN ('pending_release', 'released')""",
    # The signed content holds the record's steps and QC, as large as a real one; its hash is a placeholder.
    """INSERT INTO compliance_signature (id, signer_id, printed_name, signed_at, meaning, record_type, record_id,
        content_hash, content, comment)
       SELECT md5('release' || p.id)::uuid, %(qa)s, 'Bench QA', %(now)s - (p.age - 22) * interval '1 day',
        'approved', 'batch_release', p.din, repeat('0', 64),
        jsonb_build_object('decision', 'release', 'record', jsonb_build_object('din', p.din,
          'steps', (SELECT jsonb_agg(to_jsonb(s) - 'recorded_at' ORDER BY s.id) FROM batches_culturestep s
                    WHERE s.batch_id = p.id),
          'qc', (SELECT jsonb_agg(jsonb_build_object('id', q.id, 'test', q.test, 'value', q.value,
                   'result', q.result, 'within_spec', q.within_spec) ORDER BY q.id)
                 FROM compliance_qcresult q WHERE q.batch_id = p.id))), ''
       FROM plan p WHERE p.status = 'released'""",
    """INSERT INTO compliance_releasedecision (batch_id, decision, reason, signature_id, decided_at)
       SELECT id, 'release', '', md5('release' || id)::uuid, %(now)s - (age - 22) * interval '1 day'
       FROM plan WHERE status = 'released'""",
    # A quarter of the released doses are scheduled for infusion.
    """INSERT INTO compliance_infusion (id, dose_id, scheduled_for, route, status, created_at, cancel_reason,
        scanned_identifier)
       SELECT md5('infusion' || d.batch_id)::uuid, d.id, %(now)s + interval '3 days', 'iv', 'scheduled', %(now)s,
        '', '' FROM batches_dose d WHERE d.status = 'available' AND d.batch_id %% 80 IN (4, 5, 24, 25)""",
    # Deviations: every quarantined batch has an open major one; one batch in fifty a closed minor one.
    """INSERT INTO compliance_deviation (id, batch_id, severity, description, status, opened_at, opened_by_id,
        investigation, root_cause, impact_assessment, capa, closed_at)
       SELECT md5('deviation' || id)::uuid, id, CASE WHEN status = 'quarantined' THEN 'major' ELSE 'minor' END,
        'Incubator CO2 alarm overnight.', CASE WHEN status = 'quarantined' THEN 'open' ELSE 'closed' END,
        %(now)s - (age / 2) * interval '1 day', %(tech)s, '', '', '', '',
        CASE WHEN status = 'quarantined' THEN NULL ELSE %(now)s - (age / 3) * interval '1 day' END
       FROM plan WHERE status = 'quarantined' OR id %% 50 = 7""",
]


def _seed(n: int, now: Any) -> float:
    import json

    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from batches.models import Clinic, Location, ProcessingProtocol
    from compliance.models import User
    from core.roles import Role, ensure_role_groups

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the tables refuse TRUNCATE
        cursor.execute(
            "TRUNCATE batches_patient, batches_flag, batches_notification, compliance_auditentry, "
            "compliance_auditchainhead, compliance_signature, compliance_apitoken RESTART IDENTITY CASCADE"
        )
    ensure_role_groups()
    clinic, _ = Clinic.objects.get_or_create(code="BENCH", defaults={"name": "Bench clinic"})
    users = {}
    for role in (Role.TECHNICIAN, Role.QC, Role.QA):
        users[role], _ = User.objects.get_or_create(
            username=f"bench-{role}", defaults={"full_name": f"Bench {role}"}
        )
        users[role].groups.add(Group.objects.get(name=role))
    locations = {
        code: Location.objects.get_or_create(code=code, defaults={"name": code, "kind": kind})[0].pk
        for code, kind in (("BENCH-SHIPPER", "transport"), ("BENCH-RECEIVING", "receiving"), ("BENCH-INC", "incubator"))
    }  # fmt: skip
    protocol = ProcessingProtocol.objects.get(code="SCI-SUBACUTE-IV", version=1)
    params = {
        "n": n, "now": now, "clinic": clinic.pk, "protocol": protocol.pk, "specs": json.dumps(protocol.qc_specifications),
        "tech": users[Role.TECHNICIAN].pk, "qc": users[Role.QC].pk, "qa": users[Role.QA].pk,
        "shipper": locations["BENCH-SHIPPER"], "receiving": locations["BENCH-RECEIVING"],
        "incubator": locations["BENCH-INC"],
    }  # fmt: skip
    print("seeding with session_replication_role = replica (audit and FK triggers off, this database only)")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(_PLAN, params)
        for sql in _SEED + _STEPS + _RELEASE:
            cursor.execute(sql, params)
        for table in ("batches_therapy", "batches_collection", "batches_batch"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cursor.execute("DROP TABLE plan")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=100_000, help="batches to seed (default 1e5)")
    parser.add_argument("--reuse", action="store_true", help="measure the data already in the bench database")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help=f"bench database on the server (default {BENCH_DATABASE})"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--duration", type=float, default=15, help="seconds measured per endpoint (default 15)"
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per endpoint (default 2)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating rounds the duration is split into (default 5)"
    )
    parser.add_argument("--max-requests", type=int, default=50_000, help="cap per client and endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--working-set", type=int, default=0,
        help="draw readiness DINs from this many batches only (default 0: all of them)",
    )  # fmt: skip
    args = parser.parse_args()

    database = configure(args.database)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from batches.models import Batch, CultureStep

    print(f"database {database['NAME']} on {database['HOST'] or 'localhost'}")
    call_command("migrate", verbosity=0)
    if not args.reuse:
        print(f"seed time        {_seed(args.batches, timezone.now()):.1f} s")
    # The operational warm-up: facts of batches with none stored (or stale ones) are computed and stored.
    # In production they are kept current on write and by the readers themselves; a bulk load has none.
    started = time.monotonic()
    call_command("refresh_readiness_facts", "--all", "--jobs", str(os.cpu_count() or 1), stdout=io.StringIO())
    print(f"facts warm-up    {time.monotonic() - started:.1f} s (refresh_readiness_facts --all)")
    dins = list(Batch.objects.order_by("id").values_list("din", flat=True))
    counts = dict(Batch.objects.values_list("status").annotate(n=django.db.models.Count("id")))
    print(f"batches          {len(dins):,} ({', '.join(f'{s} {n:,}' for s, n in sorted(counts.items()))})")
    print(f"culture steps    {CultureStep.objects.count():,}")

    env = server_env(database_url(database))
    token = issue_token(env)
    port = free_port()
    server = start_gunicorn(env, port, args.workers)
    print(f"gunicorn         127.0.0.1:{port}, {args.workers} sync workers, LIMS_ENV=production (DEBUG off)")
    drawn = random.Random(0).sample(dins, args.working_set) if 0 < args.working_set < len(dins) else dins
    print(f"readiness DINs   drawn from {len(drawn):,} batches")
    print(
        f"load             {args.clients} clients, {args.warmup:g} s warm-up, then {args.duration:g} s per endpoint"
        f" in {args.rounds} alternating rounds"
    )
    health = Endpoint("/healthz", "/healthz")
    readiness = Endpoint("readiness", "/api/v1/batches/{din}/readiness", token, drawn)
    try:
        measure([health, readiness], port=port, clients=args.clients, duration=args.duration, warmup=args.warmup,
                rounds=args.rounds, max_requests=args.max_requests)  # fmt: skip
    finally:
        stop(server)
    print(health.report())
    print(readiness.report())
    ratio = readiness.rps / health.rps
    ok = ratio >= TARGET_RATIO and set(readiness.statuses) == {200}
    print(f"ratio            readiness / healthz = {ratio:.1%} of requests/s")
    print(
        f"target (readiness >= {TARGET_RATIO:.0%} of /healthz, every answer 200): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
