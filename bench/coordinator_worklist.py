"""Benchmark: the coordinator's worklist (``/coordinator/``) with a growing number of the clinic's batches.

    .venv/bin/python bench/coordinator_worklist.py --sizes 1 50 200 1000

Runs in its own database ``lims_bench_coordinator`` on the development server
(dropped, created and migrated on each run; batches are added to reach each size). Batches are written with the
test factories (each with one dose), then the page is rendered in-process with
Django's test client (the first page: 25 therapies), ``--repeat`` times warm (readiness facts current) and once
cold (``BatchFacts`` deleted: every row's facts computed at once). Prints, per
size, the number of queries and the median warm and the cold time in ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _setup import BASE_DIR, configure, connect_params  # bench/ is the script's directory

BENCH_DATABASE = "lims_bench_coordinator"


def fresh_database() -> None:
    """Drop the bench database of an earlier run: the factories' sequences start again at 0."""
    import os
    import sys

    import psycopg

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("LIMS_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    from django.conf import settings

    server = settings.DATABASES["default"]
    with psycopg.connect(**connect_params(server, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 50, 200, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    fresh_database()
    configure(BENCH_DATABASE)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["testserver"]
    from batches.models import Batch, BatchFacts, Dose
    from core.roles import Role
    from tests.factories import (
        BatchFactory,
        ClinicFactory,
        CollectionFactory,
        PatientFactory,
        TherapyFactory,
        UserFactory,
    )

    queries: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]  # Django's wrapper signature
        queries.append(sql)
        return execute(sql, params, many, context)

    clinic = ClinicFactory(code="BENCH-CLINIC")
    user = UserFactory(role=Role.COORDINATOR, clinic=clinic)
    client = Client()
    client.force_login(user)

    print(f"{'batches':>8} {'queries':>8} {'warm ms (median)':>17} {'cold ms':>8}")
    for size in sorted(args.sizes):
        while Batch.objects.filter(therapy__patient__clinic=clinic).count() < size:
            therapy = TherapyFactory(patient=PatientFactory(clinic=clinic))
            batch = BatchFactory(collection=CollectionFactory(therapy=therapy))
            Dose.objects.create(batch=batch, number=1, cells=100_000_000, volume_ml=50)
        client.get("/coordinator/")
        warm: list[float] = []
        for _ in range(args.repeat):
            queries.clear()
            with connection.execute_wrapper(count):
                start = time.perf_counter()
                assert client.get("/coordinator/").status_code == 200
                warm.append((time.perf_counter() - start) * 1000)
        BatchFacts.objects.filter(batch__therapy__patient__clinic=clinic).delete()
        start = time.perf_counter()
        client.get("/coordinator/")
        cold = (time.perf_counter() - start) * 1000
        print(f"{size:>8} {len(queries):>8} {statistics.median(warm):>17.1f} {cold:>8.1f}")


if __name__ == "__main__":
    main()
