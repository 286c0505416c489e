"""A Celery worker is killed (SIGKILL) in the middle of a sweep: the sweep reruns, with no duplicate flag.

Seeds ``--batches`` active batches (set-based, as bench/sweep.py) into its own
database ``lims_bench_worker_kill``, starts a real worker against a Redis
database of its own, sends ``batches.sweep_all``, waits until the sweep's run
is recorded as running, and SIGKILLs the worker's whole process group. Then it
starts a new worker and waits for the redelivered task (the broker's
visibility timeout, shortened here to ``--visibility`` seconds) to complete a
sweep. It reports:

* the killed run (left ``running``, never ``completed``) and the rerun;
* duplicate open flags (same batch and kind) and duplicate notifications: must be 0;
* what one more sweep still finds to open: 0 when the rerun did the whole job.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims .venv/bin/python bench/faults/worker_kill.py
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/
from _setup import configure

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATABASE = "lims_bench_worker_kill"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=30_000)
    parser.add_argument(
        "--visibility", type=int, default=15, help="broker visibility timeout for this run (s)"
    )
    parser.add_argument("--redis-db", type=int, default=12)
    args = parser.parse_args()

    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    os.environ.update({"REDIS_URL": redis_url, "CELERY_VISIBILITY_TIMEOUT": str(args.visibility)})
    database = configure(DATABASE)
    import django

    django.setup()
    import redis
    import sweep as sweep_bench  # bench/sweep.py
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from lims.celery import app
    from monitoring import sweeps
    from monitoring.models import SweepRun

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(redis_url).flushdb()
    print(f"seeding {args.batches:,} batches: {sweep_bench._seed(args.batches, timezone.now()):.1f} s")
    SweepRun.objects.all().delete()
    s = database
    env = {**os.environ, "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{DATABASE}",
           "LIMS_ENV": "development", "CELERY_SWEEP_ON_WORKER_READY": "false", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    worker_argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "lims",
        "worker",
        "--concurrency",
        "1",
        "--loglevel",
        "WARNING",
    ]

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(worker_argv, cwd=BASE_DIR, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    worker = start_worker()
    time.sleep(4)
    app.send_task("batches.sweep_all")
    deadline = time.monotonic() + 120
    while not SweepRun.objects.filter(outcome="running").exists():
        if time.monotonic() > deadline:
            print("the sweep never started")
            return 1
        time.sleep(0.05)
    time.sleep(0.3)  # well inside the sweep
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    killed_at = time.monotonic()
    killed_wall = timezone.now()
    print(f"worker SIGKILLed mid-sweep; runs now: {list(SweepRun.objects.values_list('outcome', flat=True))}")

    worker = start_worker()
    while not SweepRun.objects.filter(outcome="completed").exists():
        if time.monotonic() - killed_at > args.visibility + 120:
            print("no rerun completed")
            os.killpg(worker.pid, signal.SIGKILL)
            return 1
        time.sleep(0.2)
    print(f"rerun completed {time.monotonic() - killed_at:.1f} s after the kill "
          f"(visibility timeout {args.visibility} s); runs: {list(SweepRun.objects.order_by('started_at').values_list('outcome', flat=True))}")  # fmt: skip
    rerun = SweepRun.objects.get(outcome="completed")
    print(f"the rerun started {(rerun.started_at - killed_wall).total_seconds():.1f} s after the kill and took "
          f"{(rerun.finished_at - rerun.started_at).total_seconds():.1f} s")  # fmt: skip
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(30)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT batch_id, kind FROM batches_flag WHERE resolved_at IS NULL "
            "GROUP BY 1, 2 HAVING count(*) > 1) d"
        )
        duplicate_flags = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT flag_id, user_id, severity FROM batches_notification "
            "GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
        )
        duplicate_notifications = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM batches_flag WHERE resolved_at IS NULL")
        open_flags = cursor.fetchone()[0]
    left = sum(len(r.opened) for r in sweeps.sweep_all().flags)
    print(f"open flags {open_flags:,}; duplicate open flags {duplicate_flags}; duplicate notifications "
          f"{duplicate_notifications}; a further sweep opens {left}")  # fmt: skip
    return 0 if duplicate_flags == duplicate_notifications == left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
