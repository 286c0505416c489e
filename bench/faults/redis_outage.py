"""Redis vanishes under load: does the Celery worker survive, and do flags catch up?

Starts a private ``redis-server`` on a spare port, a real Celery worker (prefork)
against it and the development database, and a producer that publishes a
refresh task every few milliseconds. Then it kills Redis (SIGKILL, so nothing
is flushed), waits, starts it again on the same port and reports:

* whether the worker process is still alive after the outage;
* how many tasks were published, refused by the broker (clean failures) and run;
* how long after Redis returned the worker ran its next task.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims .venv/bin/python bench/faults/redis_outage.py

Exit status 0 only when the worker survived and ran tasks after the outage.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=10.0, help="seconds Redis stays down")
    parser.add_argument("--load", type=float, default=8.0, help="seconds of load before the outage")
    parser.add_argument("--after", type=float, default=20.0, help="seconds to watch after Redis returns")
    parser.add_argument("--cycles", type=int, default=2, help="outages in a row")
    parser.add_argument(
        "--worker-flag",
        dest="worker_flags",
        action="append",
        default=[],
        help="extra celery worker option, e.g. --worker-flag=--without-gossip",
    )
    parser.add_argument("--graceful", action="store_true", help="stop Redis with SIGTERM instead of SIGKILL")
    args = parser.parse_args()

    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="lims-redis-outage-"))
    redis_url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "REDIS_URL": redis_url, "LIMS_ENV": os.environ.get("LIMS_ENV", "development"),
           "CELERY_SWEEP_ON_WORKER_READY": "false", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    redis = start_redis(port, workdir)
    log_path = workdir / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lims", "worker", "--loglevel", "INFO", "--concurrency", "2",
             *args.worker_flags],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    import django

    django.setup()
    from celery.signals import task_postrun  # noqa: F401 - imported for the app's side effects
    from kombu.exceptions import OperationalError as BrokerError

    from monitoring.tasks import batch_flags_refresh, sweep_all

    counts = {"published": 0, "refused": 0}
    stop = threading.Event()

    def produce() -> None:
        while not stop.is_set():
            try:
                if counts["published"] % 20 == 0:
                    sweep_all.apply_async(retry=False)  # a long task: in flight (unacked) when Redis dies
                else:
                    batch_flags_refresh.apply_async(args=(0,), retry=False)
                counts["published"] += 1
            except (BrokerError, OSError, ConnectionError):
                counts["refused"] += 1
                time.sleep(0.05)
            time.sleep(0.005)

    def processed() -> int:
        return log_path.read_text(errors="replace").count("succeeded in")

    time.sleep(3)  # the worker connects
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    time.sleep(args.load)
    resumed: list[float | None] = []
    for cycle in range(1, args.cycles + 1):
        print(f"cycle {cycle}: before the outage published {counts['published']}, processed {processed()}")
        redis.send_signal(signal.SIGTERM if args.graceful else signal.SIGKILL)
        redis.wait()
        time.sleep(args.outage)
        alive_during = worker.poll() is None
        redis = start_redis(port, workdir)
        back_at = time.monotonic()
        print(
            f"cycle {cycle}: Redis back after {args.outage:.0f} s (worker alive during the outage: {alive_during})"
        )
        resumed_after = None
        at_return = processed()
        while time.monotonic() - back_at < args.after:
            if resumed_after is None and processed() > at_return:
                resumed_after = time.monotonic() - back_at
            if worker.poll() is not None:
                break
            time.sleep(0.2)
        resumed.append(resumed_after)
        if worker.poll() is not None:
            break
    resumed_after = None if None in resumed or not resumed else max(resumed)  # type: ignore[type-var]
    stop.set()
    producer.join(5)
    alive = worker.poll() is None
    total = processed()
    print(f"published {counts['published']}, refused while down {counts['refused']}, processed {total}")
    print(
        f"worker alive after the outage: {alive}; next task ran {resumed_after and f'{resumed_after:.1f} s'} after Redis returned"
    )
    if not alive:
        print("--- worker log (tail) ---")
        print("\n".join(log_path.read_text(errors="replace").splitlines()[-40:]))
    for process in (worker, redis):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if alive and resumed_after is not None else 1


if __name__ == "__main__":
    sys.exit(main())
