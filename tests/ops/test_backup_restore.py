"""A pg_dump of a working database restores into a fresh one where the audit chain verifies and a batch matches."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from batches.models import Batch
from compliance.models import AuditEntry
from tests.builders import Staff, released_batch

ROOT = Path(__file__).resolve().parent.parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def _url(dbname: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{dbname}"


def _conninfo(dbname: str) -> dict[str, object]:
    s = connection.settings_dict
    params = {
        "dbname": dbname,
        "user": s["USER"],
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
    }
    return params | ({"password": s["PASSWORD"]} if s["PASSWORD"] else {})


def _sample(dbname: str, din: str) -> dict[str, object]:
    with psycopg.connect(**_conninfo(dbname)) as conn:
        batch = conn.execute(
            "SELECT id, status, status_changed_at, facts_version FROM batches_batch WHERE din = %s", [din]
        ).fetchone()
        steps = conn.execute(
            "SELECT kind, performed_at, scanned_identifier, notes FROM batches_culturestep WHERE batch_id = %s ORDER BY id",
            [batch[0]],
        ).fetchall()
        head = conn.execute("SELECT * FROM compliance_auditchainhead").fetchall()
        entries = conn.execute("SELECT count(*), max(id) FROM compliance_auditentry").fetchone()
    return {"batch": batch, "steps": steps, "head": head, "entries": entries}


def test_dump_and_restore_keep_the_audit_chain_and_the_batch_record(tmp_path):
    staff = Staff.create()
    batch = released_batch(staff)
    assert AuditEntry.objects.exists()
    source = connection.settings_dict["NAME"]
    target = f"lims_restore_{uuid.uuid4().hex[:8]}"
    archive = tmp_path / "lims.dump"
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "scripts/backup.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    dumped = run("dump", "--database-url", _url(source), "--out", str(archive))
    assert dumped.returncode == 0, dumped.stderr
    with psycopg.connect(**_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{target}"')
    try:
        restored = run("restore", str(archive), "--database-url", _url(target))
        assert restored.returncode == 0, restored.stderr
        verify = subprocess.run(
            [sys.executable, "manage.py", "verify_audit_chain"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "LIMS_ENV": "development", "DATABASE_URL": _url(target)},
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "Audit chain intact" in verify.stdout
        assert _sample(target, batch.din) == _sample(source, batch.din)
        assert Batch.objects.get(pk=batch.pk).status == "released"

        again = run("restore", str(archive), "--database-url", _url(target))
        assert again.returncode != 0 and "refusing to restore" in again.stderr  # never over existing data
    finally:
        with psycopg.connect(**_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
