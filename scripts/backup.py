#!/usr/bin/env python3
"""Back up the LIMS database with pg_dump and restore it with pg_restore.

    python scripts/backup.py dump  --database-url postgres://... --out var/backups/lims.dump
    python scripts/backup.py restore var/backups/lims.dump --database-url postgres://.../lims_restored

``dump`` writes PostgreSQL's custom format (compressed, restorable table by
table) with ``--no-owner --no-privileges``. ``restore`` restores into an EMPTY
database (it refuses one that has tables: a restore never overwrites data), in
one transaction, so a failed restore leaves nothing half-done. Tables, data,
then indexes and triggers are restored in pg_dump's order, so the audit
trail's triggers do not fire on the restored rows and the hash chain comes back
exactly as it was; run ``manage.py verify_audit_chain`` against the restored
database to prove it (docs/operations.md).

The client tools must not be older than the server: the newest pg_dump found
(the embedded PostgreSQL's, the machine's /usr/lib/postgresql/*/bin, then PATH)
is used. Standard library only.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent


def _candidate_dirs() -> list[Path]:
    dirs = [
        Path(p).parent
        for p in glob.glob(str(BASE_DIR / ".venv/lib/python*/site-packages/pgserver/pginstall/bin/pg_dump"))
    ]
    dirs += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    found = shutil.which("pg_dump")
    if found:
        dirs.append(Path(found).parent)
    return dirs


def _version(binary: Path) -> int:
    output = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output.split(")")[-1]) or re.search(r"(\d+)", output)
    return int(match.group(1)) if match else 0


def tool(name: str) -> str:
    """The newest ``name`` (pg_dump, pg_restore) among the known PostgreSQL installations."""
    best: tuple[int, Path] | None = None
    for directory in _candidate_dirs():
        binary = directory / name
        if binary.exists():
            version = _version(binary)
            if best is None or version > best[0]:
                best = (version, binary)
    if best is None:
        sys.exit(f"{name} not found: install postgresql-client")
    return str(best[1])


def _libpq_env(url: str) -> tuple[dict[str, str], str]:
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    dbname = parts.path.lstrip("/")
    conninfo = (
        f"host={parts.hostname or '127.0.0.1'} port={parts.port or 5432} user={parts.username or 'postgres'}"
    )
    return env, f"{conninfo} dbname={dbname}"


def dump(url: str, out: Path) -> None:
    env, conninfo = _libpq_env(url)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(out.suffix + ".partial")
    subprocess.run(
        [tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}", conninfo],
        env=env, check=True,
    )  # fmt: skip
    partial.replace(out)  # a dump that failed half-way never looks like a backup
    print(f"backup written: {out} ({out.stat().st_size:,} bytes)")


def restore(url: str, archive: Path) -> None:
    env, conninfo = _libpq_env(url)
    psql_check = subprocess.run(
        [tool("pg_restore").replace("pg_restore", "psql"), "-tAc",
         "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", conninfo],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    if int(psql_check.stdout.strip() or 0):
        sys.exit("refusing to restore into a database that has tables: create an empty one first")
    subprocess.run(
        [tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
         f"--dbname={conninfo}", str(archive)],
        env=env, check=True,
    )  # fmt: skip
    print(f"restored {archive} into {urlsplit(url).path.lstrip('/')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="pg_dump the database to a file")
    d.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    d.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("restore", help="pg_restore a dump into an empty database")
    r.add_argument("archive", type=Path)
    r.add_argument("--database-url", required=True)
    args = parser.parse_args(argv)
    if args.command == "dump":
        if not args.database_url:
            sys.exit("give --database-url or set DATABASE_URL")
        dump(args.database_url, args.out)
    else:
        restore(args.database_url, args.archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
