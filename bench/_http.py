"""An HTTP load on the app served by gunicorn: start and stop the server, measure endpoints side by side.

Shared by the HTTP benches. The server runs the production settings (DEBUG off)
with bench values for what production insists on. The load comes from
``clients`` processes, each with one ``http.client`` connection (reopened when a
sync worker closes it). Endpoints are measured in alternating rounds (A, B, A,
B...) rather than one after the other: on a machine shared with other work the
load drifts over a minute, and alternating gives every endpoint the same share
of it, so their ratio within one run is what the code costs, not when it ran.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _setup import BASE_DIR


def database_url(database: dict[str, Any]) -> str:
    """A DATABASE_URL for the server processes (django-environ's format)."""
    from urllib.parse import quote

    auth = quote(database["USER"]) + (f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else "")
    host = database["HOST"] or "localhost"
    if host.startswith("/"):  # a Unix socket directory
        return f"postgresql://{auth}@/{database['NAME']}?host={host}"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return f"postgresql://{auth}@{host}{port}/{database['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(database_url: str) -> dict[str, str]:
    """Production settings (DEBUG off) with bench values for what production insists on."""
    return {
        **os.environ,
        "LIMS_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "lims.settings",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on the loopback
        "API_RATE_PER_TOKEN": "1000000/s",  # throttling still runs on every request; it just never refuses
        "LOG_LEVEL": "WARNING",
    }


def issue_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "issue_token", "--user", "bench-qa"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def start_gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen(
        [gunicorn, "lims.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers), "--log-level", "warning"],
        cwd=BASE_DIR, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()  # SIGTERM: gunicorn's graceful shutdown of its workers
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def client(job: dict[str, Any]) -> tuple[list[float], dict[int, int]]:
    """One client: requests back to back until the time or the request cap runs out."""
    rng = random.Random(job["seed"])
    headers = {"Authorization": f"Bearer {job['token']}"} if job["token"] else {}
    conn = http.client.HTTPConnection("127.0.0.1", job["port"], timeout=30)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    end = time.monotonic() + job["duration"]
    while time.monotonic() < end and len(latencies) < job["max_requests"]:
        path = job["path"] if not job["dins"] else job["path"].format(din=rng.choice(job["dins"]))
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
        except (http.client.HTTPException, OSError):
            conn.close()  # the sync worker closed the connection: open a new one and retry
            continue
        latencies.append(time.perf_counter() - started)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.will_close:
            conn.close()
    conn.close()
    return latencies, statuses


@dataclass
class Endpoint:
    """What one client asks for: ``path`` (``{din}`` filled from ``dins`` at random), with ``token`` if given."""

    label: str
    path: str
    token: str = ""
    dins: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def job(self, port: int, max_requests: int, seed: int, duration: float) -> dict[str, Any]:
        return {"port": port, "path": self.path, "token": self.token, "dins": self.dins,
                "max_requests": max_requests, "seed": seed, "duration": duration}  # fmt: skip

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def report(self) -> str:
        quantiles = statistics.quantiles(sorted(self.latencies), n=100)
        return (
            f"{self.label:<10} {self.requests:>7,} requests in {self.seconds:4.1f} s  {self.rps:8.1f} req/s  "
            f"p50 {quantiles[49] * 1000:6.1f} ms  p99 {quantiles[98] * 1000:6.1f} ms  "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


def measure(
    endpoints: list[Endpoint], *, port: int, clients: int, duration: float, warmup: float, rounds: int,
    max_requests: int,
) -> None:  # fmt: skip
    """Load each endpoint for ``duration`` seconds in all, in ``rounds`` alternating rounds, after a warm-up each."""
    with multiprocessing.Pool(clients) as pool:
        for endpoint in endpoints:
            pool.map(client, [endpoint.job(port, max_requests, i, warmup) for i in range(clients)])
        for round_ in range(rounds):
            for endpoint in endpoints:
                seed = 100 + 1000 * round_
                jobs = [endpoint.job(port, max_requests, seed + i, duration / rounds) for i in range(clients)]
                started = time.monotonic()
                results = pool.map(client, jobs)
                endpoint.seconds += time.monotonic() - started
                for latencies, statuses in results:
                    endpoint.latencies += latencies
                    endpoint.requests += len(latencies)
                    for code, n in statuses.items():
                        endpoint.statuses[code] = endpoint.statuses.get(code, 0) + n


__all__ = [
    "Endpoint",
    "database_url",
    "free_port",
    "issue_token",
    "measure",
    "server_env",
    "start_gunicorn",
    "stop",
]
