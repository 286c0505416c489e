"""Load test: the locust mix at 10, 50 and 200 users against gunicorn, PostgreSQL, Redis and a worker.

    .venv/bin/pip install -r bench/load/requirements.txt
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/load/run.py [--seconds 60] [--users 10,50,200] [--skip-setup]

Seeds ``lims_bench_load`` (``setup_data.py``, 100,000 batches) unless
``--skip-setup``, starts gunicorn (``--web-workers``) and a Celery worker on
127.0.0.1, runs locust headless at each user count and prints, per level:
requests/s, p50/p95/p99 latency, failures (5xx other than 503, connection
errors, unexpected 4xx), clean 429/503 answers, the most database connections
seen, and acknowledged writes against the rows in the database (lost must be 0).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_DIR = HERE.parent.parent
VAR = BASE_DIR / "var" / "load"
sys.path.insert(0, str(HERE.parent))
DATABASE = "lims_bench_load"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", default="10,50,200")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--skip-setup", action="store_true")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    if not args.skip_setup:
        subprocess.run([sys.executable, str(HERE / "setup_data.py")], cwd=BASE_DIR, check=True)

    from _setup import configure

    database = configure(DATABASE)
    import django

    django.setup()
    from django.db import connection

    url = os.environ.get("DATABASE_URL", "")
    base = (
        url.rsplit("/", 1)[0]
        if url
        else f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
    )
    env = {**os.environ, "DATABASE_URL": f"{base}/{DATABASE}", "LIMS_ENV": "development", "DJANGO_DEBUG": "false",
           "CELERY_SWEEP_ON_WORKER_READY": "false", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "lims.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--no-control-socket", "--log-level", "warning", "--backlog", "512"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=(VAR / "web.log").open("wb"),
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lims", "worker", "--concurrency", "1", "--loglevel", "WARNING"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=(VAR / "worker.log").open("wb"),
        start_new_session=True,
    )  # fmt: skip
    time.sleep(5)

    def counts() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM batches_culturestep WHERE kind = 'cell_count'")
            steps = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM compliance_qcresult")
            qc = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM compliance_signature")
            signatures = cursor.fetchone()[0]
        return {"step cell_count": steps, "qc result": qc, "checklist sign": signatures}

    rows = []
    try:
        for users in [int(u) for u in args.users.split(",")]:
            peak = [0]
            stop = threading.Event()

            def sample(stop: threading.Event = stop, peak: list[int] = peak) -> None:
                while not stop.is_set():
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DATABASE])
                        peak[0] = max(peak[0], cursor.fetchone()[0])
                    stop.wait(1)
                connection.close()

            sampler = threading.Thread(target=sample)
            before = counts()
            sampler.start()
            prefix = VAR / f"u{users}"
            busy_file = VAR / f"u{users}-busy.json"
            subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "-u", str(users),
                 "-r", str(max(1, users // 5)), "--run-time", f"{args.seconds}s", "--host", f"http://127.0.0.1:{port}",
                 "--csv", str(prefix), "--only-summary", "--stop-timeout", "10"],
                cwd=BASE_DIR, env={**env, "LOAD_FIXTURES": str(VAR / "fixtures.json"), "LOAD_BUSY_FILE": str(busy_file)},
                stdout=subprocess.DEVNULL, stderr=(VAR / f"u{users}-locust.log").open("wb"), check=False,
            )  # fmt: skip
            stop.set()
            sampler.join()
            after = counts()
            with open(f"{prefix}_stats.csv") as handle:
                total = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
            extra = json.loads(busy_file.read_text()) if busy_file.exists() else {"busy": {}, "created": {}}
            lost = sum(max(0, n - (after[k] - before[k])) for k, n in extra["created"].items() if k in after)
            rows.append((users, float(total["Requests/s"]), total["50%"], total["95%"], total["99%"],
                         int(total["Request Count"]), int(total["Failure Count"]), extra["busy"], peak[0],
                         sum(extra["created"].values()), lost))  # fmt: skip
    finally:
        web.send_signal(signal.SIGTERM)
        os.killpg(worker.pid, signal.SIGTERM)
        web.wait(30)
        worker.wait(30)
    print(f"\n{'users':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'requests':>9} {'failures':>8} "
          f"{'429/503':>9} {'db conns':>8} {'writes':>7} {'lost':>5}")  # fmt: skip
    for users, rps, p50, p95, p99, n, failures, busy, conns, writes, lost in rows:
        print(f"{users:>5} {rps:>7.1f} {p50:>6} {p95:>6} {p99:>6} {n:>9} {failures:>8} "
              f"{busy.get('429', 0)}/{busy.get('503', 0):<7} {conns:>8} {writes:>7} {lost:>5}")  # fmt: skip
    print("latencies in ms; failures = 5xx other than 503, connection errors, unexpected 4xx")
    return 0 if all(r[-1] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
