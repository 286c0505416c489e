"""PostgreSQL restarts under write load: no acknowledged write is lost, and the app recovers by itself.

Builds a private PostgreSQL cluster (initdb, a spare port, under a temporary
directory; the machine's own server is never touched), migrates and seeds it,
starts gunicorn (2 workers) against it, and runs writer clients that register
patients through the API with a clinic token. Mid-run it restarts PostgreSQL
(``pg_ctl restart -m fast``: every connection is cut). At the end it compares
every 2xx the clients were given with the rows in the database:

* lost writes: acknowledged (201) but not in the database: must be 0;
* failures: non-2xx answers, by status, and how long after the restart the
  last one came (clean 503/500s while the database is away, then none);
* 5xx other than 503 after recovery: must be 0.

    .venv/bin/python bench/faults/pg_restart.py [--writers 4] [--seconds 20]

Exit status 0 when nothing acknowledged was lost and writes succeed again after the restart.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def pg_bin() -> Path:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin")) or glob.glob(
        str(BASE_DIR / ".venv/lib/python*/site-packages/pgserver/pginstall/bin")
    )
    if not dirs:
        sys.exit("no PostgreSQL server binaries found")
    return Path(dirs[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="total load time; the restart is at a third"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lims-pg-restart-"))
    bindir, port, web_port = pg_bin(), free_port(), free_port()
    pgdata = work / "pgdata"
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(work, "postgres")
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(pgdata), "-l", str(work / "pg.log"), "-w",
              "-o", f"-p {port} -k {work} -c listen_addresses=127.0.0.1"]  # fmt: skip
    subprocess.run([*pg_ctl, "start"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*run_as, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "lims"],
                   check=True)  # fmt: skip
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/lims", "LIMS_ENV": "development",
           "DJANGO_DEBUG": "false", "PYTHONUNBUFFERED": "1", "API_RATE_PER_TOKEN": "1000000/min",
           "CACHE_KEY_PREFIX": f"pgrestart-{uuid.uuid4().hex[:6]}"}  # fmt: skip
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)
    subprocess.run([*manage, "seed_demo"], cwd=BASE_DIR, env=env, check=True, stdout=subprocess.DEVNULL)
    clinic = subprocess.run(
        [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "lims", "-tAc",
         "SELECT code FROM batches_clinic WHERE active ORDER BY id LIMIT 1"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    key = subprocess.run([*manage, "issue_token", "--clinic", clinic], cwd=BASE_DIR, env=env, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]  # fmt: skip
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "lims.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
         "--workers", "2", "--no-control-socket", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "web.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    wait_port(web_port)

    acknowledged: list[str] = []
    failures: collections.Counter[int] = collections.Counter()
    failure_times: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()
    url = f"http://127.0.0.1:{web_port}/api/v1/patients/"

    def write() -> None:
        while not stop.is_set():
            code = f"PGR-{uuid.uuid4().hex[:12]}"
            body = json.dumps({"code": code, "birth_year": 1990, "sex": "female", "weight_kg": "60.0",
                               "injury_date": "2026-10-01", "injury_level": "C5", "asia_grade": "A",
                               "injury_type": "contusion", "malignancy_history": False}).encode()  # fmt: skip
            request = urllib.request.Request(url, data=body, method="POST", headers={
                "Authorization": f"Bearer {key}", "Content-Type": "application/json"})  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our loopback server
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except (urllib.error.URLError, OSError):
                status = 0  # connection refused/reset: not acknowledged
            with lock:
                if status == 201:
                    acknowledged.append(code)
                else:
                    failures[status] += 1
                    failure_times.append(time.monotonic())

    writers = [threading.Thread(target=write, daemon=True) for _ in range(args.writers)]
    for thread in writers:
        thread.start()
    time.sleep(args.seconds / 3)
    before = len(acknowledged)
    restart_at = time.monotonic()
    subprocess.run([*pg_ctl, "-m", "fast", "restart"], check=True, stdout=subprocess.DEVNULL)
    restarted_in = time.monotonic() - restart_at
    time.sleep(args.seconds * 2 / 3)
    stop.set()
    for thread in writers:
        thread.join(15)
    after_restart = len(acknowledged) - before

    stored = set(
        subprocess.run(
            [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "lims", "-tAc",
             "SELECT code FROM batches_patient WHERE code LIKE 'PGR-%'"],
            capture_output=True, text=True, check=True,
        ).stdout.split()
    )  # fmt: skip
    lost = [code for code in acknowledged if code not in stored]
    last_failure = max(failure_times) - restart_at if failure_times else None
    print(f"writers {args.writers}, {args.seconds:.0f} s; PostgreSQL restart took {restarted_in:.2f} s")
    print(f"acknowledged writes: {len(acknowledged)} ({after_restart} after the restart); lost: {len(lost)}")
    print(
        f"failures by status: {dict(failures)}; last failure {last_failure and f'{last_failure:.2f} s'} after the restart began"
    )
    web.send_signal(signal.SIGTERM)
    web.wait(20)
    subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=False, stdout=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if not lost and after_restart > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
