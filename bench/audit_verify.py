"""Benchmark: verify an audit trail of N hash-chained entries (target: < 60 s, < 300 MB).

Runs in its own database ``lims_bench`` on the development server (the embedded
PostgreSQL, or the server of DATABASE_URL), so development data is never touched:

    .venv/bin/python bench/audit_verify.py --entries 1000000

Entries are written by the real audit trigger: rows are inserted into an audited
table (``batches_clinic``) with set-based SQL, one committed chunk at a time, and
every row fires the trigger that appends and chains its AuditEntry.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import time
from typing import Any

from _setup import configure  # bench/ is the script's directory

BENCH_DATABASE = "lims_bench"

_SEED_SQL = """
INSERT INTO batches_clinic (code, name, active)
SELECT 'BENCH-' || g, 'Bench clinic ' || g, true FROM generate_series(%s, %s) AS g
"""


def _configure() -> dict[str, Any]:
    return configure(BENCH_DATABASE)


def _reset() -> None:
    """Empty the audit trail and the seeding table, triggers off (they refuse DELETE and TRUNCATE)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "TRUNCATE compliance_auditentry, compliance_auditchainhead, batches_clinic RESTART IDENTITY CASCADE"
        )


def _seed(entries: int, chunk: int) -> float:
    from django.db import connection, transaction

    from core.audit import audit_context

    started = time.monotonic()
    with audit_context(reason="audit verification benchmark"):
        for first in range(1, entries + 1, chunk):
            last = min(first + chunk - 1, entries)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_SEED_SQL, [first, last])
            if last // 100_000 > (first - 1) // 100_000 or last == entries:
                elapsed = time.monotonic() - started
                print(f"  seeded {last:>9,} / {entries:,}  ({elapsed:6.1f} s, {last / elapsed:,.0f}/s)")
    return time.monotonic() - started


def _rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="audit entries to seed (default 1e6)")
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per seeding transaction")
    parser.add_argument("--reuse", action="store_true", help="verify the trail already in lims_bench")
    args = parser.parse_args()

    database = _configure()
    import django

    django.setup()
    from django.core.management import call_command

    from compliance.models import AuditEntry

    print(f"database {database['NAME']} on {database['HOST'] or 'localhost'}")
    call_command("migrate", verbosity=0)
    seed_time = 0.0
    if not args.reuse:
        _reset()
        seed_time = _seed(args.entries, args.chunk)
    entries = AuditEntry.objects.count()

    baseline = _rss_mb()
    out = io.StringIO()
    started = time.monotonic()
    call_command("verify_audit_chain", stdout=out)
    verify_time = time.monotonic() - started
    peak = _rss_mb()

    print(out.getvalue().strip())
    print(f"entries          {entries:,}")
    print(f"seed time        {seed_time:.1f} s")
    print(f"verify time      {verify_time:.1f} s")
    print(f"entries/s        {entries / verify_time:,.0f}")
    print(f"RSS before       {baseline:.0f} MB")
    print(f"peak RSS         {peak:.0f} MB (process peak, includes the baseline)")
    ok = verify_time < 60 and peak < 300
    print(f"target (< 60 s, < 300 MB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
