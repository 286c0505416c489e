"""`make run`'s supervisor restarts a crashed child with backoff instead of stopping everything.

Real child processes; no database.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
spec = importlib.util.spec_from_file_location("lims_run_script", ROOT / "scripts" / "run.py")
assert spec and spec.loader
run = importlib.util.module_from_spec(spec)
sys.modules["lims_run_script"] = run
spec.loader.exec_module(run)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")


def test_backoff_doubles_and_is_capped() -> None:
    delays = [run.restart_delay(n) for n in range(1, 10)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(delays) == run.RESTART_MAX_DELAY
    assert delays == sorted(delays)


def test_a_crashing_worker_is_restarted_and_the_healthy_one_is_left_alone(monkeypatch) -> None:
    monkeypatch.setattr(run, "RESTART_FIRST_DELAY", 0.2)
    out = run.Printer()
    env = run.child_env()
    crash = [sys.executable, "-c", "import sys; sys.exit(3)"]
    sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
    children = [
        run.spawn("worker", crash, env, out, echo=False),
        run.spawn("web", sleep, env, out, echo=False),
    ]
    web_pid = children[1].process.pid
    starts: list[float] = []

    def respawn(dead):  # type: ignore[no-untyped-def]
        starts.append(time.monotonic())
        return run.spawn(dead.name, crash, env, out, echo=False)

    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run.supervise(children, stop, out, respawn)))
    thread.start()
    time.sleep(2.2)
    stop.set()
    thread.join(10)
    run.stop_children(children, out)

    assert result == [0], "a crash must not end the run"
    assert len(starts) >= 3, starts
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0], "restarts back off"
    assert children[1].process.pid == web_pid, "the healthy child was not touched"


def test_without_respawn_a_death_still_ends_the_run() -> None:
    out = run.Printer()
    child = run.spawn(
        "step", [sys.executable, "-c", "import sys; sys.exit(4)"], run.child_env(), out, echo=False
    )
    assert run.supervise([child], threading.Event(), out) == 4
