# ruff: noqa: F811 - the batch fixtures are imported from tests/batches/conftest.py
"""Two beats, two workers: a scheduled sweep runs once, and a killed run does not block the next.

Real PostgreSQL, real threads with their own connections (``transaction=True``).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from batches.models import Flag, Notification
from monitoring.models import SweepRun
from monitoring.runs import sweep_lease
from monitoring.tasks import sweep_all
from tests.batches.conftest import DAY, batch, in_culture, received, serum, therapy  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 20


def run_at_once(target, n: int = CLIENTS) -> list[object]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    results: list[object] = []
    errors: list[BaseException] = []

    def body() -> None:
        try:
            barrier.wait(10)
            results.append(target())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=body) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    return results


def test_twenty_sweeps_at_once_run_once_and_open_each_flag_once(in_culture, qa_user):
    with time_machine.travel(timezone.now() + 29 * DAY, tick=True):
        results = run_at_once(lambda: sweep_all.apply().get())
        ran = [r for r in results if not r.get("skipped")]
        assert len(ran) == 1, results
        assert SweepRun.objects.filter(name="sweep_all", outcome="completed").count() == 1
        assert Flag.objects.filter(batch=in_culture, kind=Flag.Kind.CULTURE_OVERDUE).count() == 1
        notified = Notification.objects.filter(flag__batch=in_culture).count()
        assert notified == Notification.objects.values("flag", "user", "severity").distinct().count()
        mails = len(mail.outbox)

        # A second beat firing seconds later skips; flags and notifications stay as they are.
        assert sweep_all.apply().get() == {"skipped": True}
        assert Notification.objects.filter(flag__batch=in_culture).count() == notified
        assert len(mail.outbox) == mails


def test_the_next_scheduled_run_goes_ahead_after_the_interval():
    sweep_all.apply().get()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        assert not sweep_all.apply().get().get("skipped")
    assert SweepRun.objects.filter(outcome="completed").count() == 2


def test_a_run_killed_mid_sweep_releases_its_lease_and_the_rerun_completes():
    """The killed worker's session dies with it: PostgreSQL drops its advisory lock."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext('lims.sweep.sweep_all'))")
        SweepRun.objects.create(name="sweep_all", started_at=timezone.now())  # the killed run: never finished
        assert sweep_all.apply().get() == {"skipped": True}, "the lease is still held while the worker lives"
    finally:
        other.close()  # SIGKILL: the connection goes away without an unlock
    assert not sweep_all.apply().get().get("skipped")
    assert list(SweepRun.objects.order_by("started_at").values_list("outcome", flat=True)) == [
        "running",
        "completed",
    ]


def test_a_failing_sweep_is_recorded_as_failed_and_releases_the_lease():
    with pytest.raises(RuntimeError), sweep_lease("sweep_all"):
        raise RuntimeError("database went away")
    assert SweepRun.objects.get().outcome == "failed"
    with sweep_lease("sweep_all") as run:
        assert run is not None
