#!/usr/bin/env python3
"""Run the whole LIMS locally: the supervisor behind ``make run``.

Steps: ``manage.py migrate``, ``manage.py seed_demo``, then three children with
prefixed output: the web server (gunicorn), a Celery worker and Celery beat.
Once ``/healthz`` answers it prints where to log in and the demo logins.

Ctrl-C (SIGINT) or SIGTERM stops every child. A child that dies on its own
(a worker killed by a broker outage, say) is restarted with exponential backoff
(1 s, 2 s, 4 s ... at most 60 s; the backoff resets once it has run for five
minutes), so one crash never takes the whole system down. Without ``DATABASE_URL`` the
settings start the embedded PostgreSQL under ``var/pgdata``; this script stops
it on the way out only if it was not already running when the script began.

Standard library only, so it runs before anything else is importable.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
STOP_GRACE_SECONDS = 15.0
HEALTH_TIMEOUT_SECONDS = 90.0
POLL_SECONDS = 0.2
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 60.0
STABLE_SECONDS = 300.0  # a child up this long is healthy again: its next crash restarts after 1 s
COLOURS = {"migrate": 33, "seed": 33, "web": 32, "worker": 36, "beat": 35, "run": 1, "db": 33}


class Printer:
    """Writes lines from several threads, each prefixed with its source's name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def line(self, name: str, text: str) -> None:
        """Print one line as ``name | text``."""
        prefix = f"{name:>7} |"
        if self._colour:
            prefix = f"\033[{COLOURS.get(name, 0)}m{prefix}\033[0m"
        with self._lock:
            sys.stdout.write(f"{prefix} {text}\n")
            sys.stdout.flush()


@dataclass
class Child:
    """A supervised process and the thread that copies its output."""

    name: str
    process: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    started_at: float = field(default_factory=time.monotonic)
    crashes: int = 0  # crashes in a row, each within STABLE_SECONDS of its start


def restart_delay(crashes: int) -> float:
    """Seconds to wait before restarting a child that crashed ``crashes`` times in a row."""
    return min(RESTART_MAX_DELAY, RESTART_FIRST_DELAY * 2 ** max(0, crashes - 1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the defaults are what ``make run`` wants."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address gunicorn binds (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8000")),
        help="port gunicorn binds (default $PORT or 8000)",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--concurrency", type=int, choices=(1, 2), default=2, help="Celery worker processes (default 2)"
    )
    parser.add_argument("--no-seed", action="store_true", help="skip manage.py seed_demo")
    return parser.parse_args(argv)


def child_env() -> dict[str, str]:
    """The environment for every child: development profile, unbuffered output."""
    env = dict(os.environ)
    env.setdefault("LIMS_ENV", "development")
    env.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pgdata_dir(env: dict[str, str]) -> Path:
    """Where lims.embedded_pg keeps the embedded cluster."""
    return Path(env.get("LIMS_PGDATA") or VAR_DIR / "pgdata")


def embedded_pg_running(env: dict[str, str]) -> bool:
    """True when the embedded PostgreSQL has a postmaster.pid (is running)."""
    return (pgdata_dir(env) / "postmaster.pid").exists()


def python(*args: str) -> list[str]:
    """An argv that runs this interpreter (the venv's) with ``args``."""
    return [sys.executable, *args]


def spawn(name: str, argv: list[str], env: dict[str, str], out: Printer, echo: bool = True) -> Child:
    """Start ``argv`` in its own session (so Ctrl-C reaches only us) and copy its output."""
    process = subprocess.Popen(
        argv,
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    child = Child(name, process)
    child.reader = threading.Thread(target=pump, args=(child, out, echo), daemon=True)
    child.reader.start()
    return child


def pump(child: Child, out: Printer, echo: bool) -> None:
    """Copy a child's output line by line, prefixed; keep it for later too."""
    assert child.process.stdout is not None
    for raw in iter(child.process.stdout.readline, b""):
        text = raw.decode("utf-8", errors="replace").rstrip("\n")
        child.lines.append(text)
        if echo:
            out.line(child.name, text)


def send_signal(child: Child, signum: int, whole_group: bool = False) -> None:
    """Send ``signum`` to the child (its own children are its business) or its whole group."""
    if child.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if whole_group:
                os.killpg(child.process.pid, signum)
            else:
                child.process.send_signal(signum)


def stop_children(children: list[Child], out: Printer) -> None:
    """SIGTERM every child, wait for the grace period, then SIGKILL stragglers."""
    for child in children:
        if child.process.poll() is None:
            out.line("run", f"stopping {child.name} (pid {child.process.pid})")
            send_signal(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            out.line("run", f"{child.name} did not stop in {STOP_GRACE_SECONDS:.0f}s: killing it")
            send_signal(child, signal.SIGKILL, whole_group=True)
            child.process.wait()
        if child.reader is not None:
            child.reader.join(timeout=2)


def run_step(
    name: str, argv: list[str], env: dict[str, str], out: Printer, stop: threading.Event, echo: bool = True
) -> Child:
    """Run a one-shot command to completion; abandon it if a stop is requested."""
    child = spawn(name, argv, env, out, echo)
    while child.process.poll() is None:
        if stop.wait(POLL_SECONDS):
            stop_children([child], out)
            break
    if child.reader is not None:
        child.reader.join(timeout=5)
    return child


def first_dead(children: list[Child]) -> Child | None:
    """The first child that has exited, if any."""
    return next((child for child in children if child.process.poll() is not None), None)


def wait_healthy(url: str, children: list[Child], stop: threading.Event) -> bool:
    """Poll ``url`` until it answers 200; give up on stop, a dead child or timeout."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stop.is_set() and first_dead(children) is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http URL)
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.5)
    return False


def service_argvs(args: argparse.Namespace) -> dict[str, list[str]]:
    """The long-running children: web, Celery worker, Celery beat."""
    return {
        "web": python(
            "-m",
            "gunicorn",
            "lims.wsgi:application",
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            str(args.web_workers),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
            "--no-control-socket",
        ),
        "worker": python(
            "-m",
            "celery",
            "-A",
            "lims",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(args.concurrency),
            # Gossip and mingle (worker-to-worker chatter) are unused here; each opens
            # broker channels that a Redis outage can leave half-closed (kombu #582).
            "--without-gossip",
            "--without-mingle",
        ),
        "beat": python(
            "-m",
            "celery",
            "-A",
            "lims",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(VAR_DIR / "celerybeat-schedule"),
        ),
    }


def banner(out: Printer, base_url: str, seed_lines: list[str]) -> None:
    """Tell the user where to log in and with which demo accounts."""
    lines = [
        "",
        f"LIMS is up:   {base_url}/",
        f"Log in at:    {base_url}/accounts/login/",
        f"Admin:        {base_url}/admin/",
        "",
        *seed_lines,
        "",
        "Press Ctrl-C to stop web, worker and beat.",
    ]
    for text in lines:
        out.line("run", text)


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGINT, SIGTERM and SIGHUP all mean: stop everything cleanly."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


def prepare(
    args: argparse.Namespace, env: dict[str, str], out: Printer, stop: threading.Event
) -> list[str] | None:
    """Migrate and seed; return seed_demo's output, or None if a step failed or was stopped."""
    migrate = run_step("migrate", python("manage.py", "migrate", "--noinput"), env, out, stop)
    if stop.is_set() or migrate.process.returncode != 0:
        return None
    if args.no_seed:
        return ["(demo data skipped: --no-seed)"]
    out.line("seed", "manage.py seed_demo")
    seed = run_step("seed", python("manage.py", "seed_demo"), env, out, stop, echo=False)
    if stop.is_set() or seed.process.returncode != 0:
        for text in seed.lines:
            out.line("seed", text)
        return None
    return seed.lines


def supervise(
    children: list[Child],
    stop: threading.Event,
    out: Printer,
    respawn: Callable[[Child], Child] | None = None,
) -> int:
    """Keep the children running until a stop is requested (exit 0).

    A child that exits on its own is restarted by ``respawn`` after
    ``restart_delay``; without ``respawn`` (one-shot use) a death ends the run
    with the child's status.
    """
    due: dict[str, float] = {}  # child name -> monotonic time of its restart
    while not stop.wait(POLL_SECONDS):
        now = time.monotonic()
        for index, child in enumerate(children):
            code = child.process.poll()
            if code is None:
                continue
            if respawn is None:
                out.line("run", f"{child.name} exited with status {code}: stopping the others")
                return code if code and code > 0 else 1
            if child.name not in due:
                if now - child.started_at >= STABLE_SECONDS:
                    child.crashes = 0
                child.crashes += 1
                delay = restart_delay(child.crashes)
                due[child.name] = now + delay
                out.line("run", f"{child.name} exited with status {code}: restarting in {delay:.0f} s")
            elif now >= due[child.name]:
                del due[child.name]
                fresh = respawn(child)
                fresh.crashes = child.crashes
                children[index] = fresh
                out.line("run", f"restarted {fresh.name} (pid {fresh.process.pid})")
    out.line("run", "stop requested")
    return 0


def serve(args: argparse.Namespace, env: dict[str, str], out: Printer, stop: threading.Event) -> int:
    """Prepare the database, start the children and supervise them; return the exit status."""
    seed_lines = prepare(args, env, out, stop)
    if seed_lines is None:
        return 0 if stop.is_set() else 1
    children: list[Child] = []
    argvs = service_argvs(args)

    def respawn(dead: Child) -> Child:
        return spawn(dead.name, argvs[dead.name], env, out)

    try:
        for name, argv in argvs.items():
            out.line("run", f"starting {name}")
            children.append(spawn(name, argv, env, out))
        host = "127.0.0.1" if args.host in {"0.0.0.0", "::", ""} else args.host  # noqa: S104
        base_url = f"http://{host}:{args.port}"
        if wait_healthy(f"{base_url}/healthz", children, stop):
            banner(out, base_url, seed_lines)
        elif not stop.is_set() and first_dead(children) is None:
            out.line(
                "run", f"warning: {base_url}/healthz did not answer 200 within {HEALTH_TIMEOUT_SECONDS:.0f}s"
            )
        return supervise(children, stop, out, respawn)
    finally:
        stop_children(children, out)


def stop_embedded_pg(env: dict[str, str], out: Printer) -> None:
    """Stop the embedded PostgreSQL (only called when this script started it)."""
    if not embedded_pg_running(env):
        return
    out.line("db", "stopping the embedded PostgreSQL this run started")
    subprocess.run(python("-m", "lims.embedded_pg", "stop"), cwd=BASE_DIR, env=env, check=False)
    if embedded_pg_running(env):
        # pgserver skips the stop while its handle list (.handle_pids.json) names a
        # process that died without its atexit hook (a killed child): fast-shut it down.
        fast_shutdown_postmaster(pgdata_dir(env), out)


def fast_shutdown_postmaster(pgdata: Path, out: Printer) -> None:
    """SIGINT the postmaster named in postmaster.pid (PostgreSQL's fast shutdown) and wait."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError, IndexError) as error:
        out.line("db", f"could not stop the embedded PostgreSQL: {error}")
        return
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while (pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    if (pgdata / "postmaster.pid").exists():
        out.line("db", f"embedded PostgreSQL (pid {pid}) is still running")


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse options, run everything, clean up; return the exit status."""
    args = parse_args(argv)
    env = child_env()
    out = Printer()
    stop = threading.Event()
    install_signal_handlers(stop)
    owns_embedded_pg = not env.get("DATABASE_URL") and not embedded_pg_running(env)
    if not env.get("DATABASE_URL"):
        state = "will start" if owns_embedded_pg else "already running, will be left running"
        out.line("db", f"embedded PostgreSQL in {pgdata_dir(env)} ({state})")
    status = 1
    try:
        status = serve(args, env, out, stop)
    finally:
        if owns_embedded_pg:
            stop_embedded_pg(env, out)
    out.line("run", f"exiting with status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
