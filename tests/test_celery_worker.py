# ruff: noqa: F811 - the batch fixtures are imported from tests/batches/conftest.py
"""Tasks through a real worker and a real broker (Redis when REDIS_URL is set, else the filesystem).

The worker runs in a thread of this process against the test database, so the
tests commit for real (``transaction=True``). The broker queue gets a unique
name, so a development worker on the same broker never steals these tasks.
"""

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.db import connection, transaction
from django.utils import timezone

from batches.models import Batch, Flag
from lims.celery import app
from monitoring.sweeps import sweep_condition
from monitoring.tasks import enqueue_batch_refresh, enqueue_on_commit, sweep_all
from tests.batches.conftest import DAY, batch, in_culture, log, received, serum, therapy  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)
K = Flag.Kind


@pytest.fixture(scope="module")
def worker() -> Iterator[None]:
    queue = f"lims-test-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf[key] for key in ("task_default_queue", "broker_transport_options")}
    app.conf.task_default_queue = queue
    app.conf.broker_transport_options = {**saved["broker_transport_options"], "polling_interval": 0.05}
    for cached in ("queues", "default_queue"):
        app.amqp.__dict__.pop(cached, None)
    app.loader.import_module("celery.contrib.testing.tasks")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
    app.conf.update(saved)
    for cached in ("queues", "default_queue"):
        app.amqp.__dict__.pop(cached, None)


_running: set[str] = set()  # ids of the tasks the worker thread is executing now


@task_prerun.connect
def _task_started(task_id: str, **kwargs: object) -> None:
    _running.add(task_id)


@task_postrun.connect
def _task_finished(task_id: str, **kwargs: object) -> None:
    _running.discard(task_id)


@pytest.fixture(autouse=True)
def worker_idle_after_test() -> Iterator[None]:
    """Let the worker finish what a test enqueued before the database is flushed.

    The worker thread outlives each test (module scope); a sweep still writing
    while pytest-django truncates the tables deadlocks the flush.
    """
    yield
    deadline = time.monotonic() + 30
    time.sleep(0.3)  # a task enqueued at the end of the test is picked up within the polling interval
    while _running and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def published() -> Iterator[list[str]]:
    """Names of the tasks published to the broker during the test."""
    names: list[str] = []

    def record(sender: str, **kwargs: object) -> None:
        names.append(sender)

    before_task_publish.connect(record, weak=False)
    yield names
    before_task_publish.disconnect(record)


def wait_for(condition, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    """Poll the database until the worker's effect shows (the clock is not moved by this)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not do the job in time"
        time.sleep(0.05)


@pytest.fixture
def overdue(in_culture: Batch) -> Iterator[Batch]:
    """A culture seeded 29 days ago: the clock (for the worker too) jumps forward and keeps ticking."""
    with time_machine.travel(timezone.now() + 29 * DAY, tick=True):
        yield in_culture


def has_open(batch: Batch, kind: str) -> bool:
    return Flag.objects.filter(batch=batch, kind=kind, resolved_at__isnull=True).exists()


def test_task_enqueued_in_a_transaction_runs_only_after_commit(worker, overdue, published):
    with transaction.atomic():
        enqueue_batch_refresh(overdue.pk)
        assert published == []
    assert published == ["batches.batch_flags_refresh"]
    wait_for(lambda: has_open(overdue, K.CULTURE_OVERDUE))


def test_rolled_back_transaction_enqueues_nothing(worker, overdue, published):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_batch_refresh(overdue.pk)
        raise RuntimeError("the request failed")
    # A task sent after the rollback is processed first-in first-out: when it is
    # done, anything the rolled-back transaction could have sent would be too.
    enqueue_on_commit(sweep_all)
    wait_for(lambda: has_open(overdue, K.CULTURE_OVERDUE))
    assert published == ["batches.sweep_all"]


def test_sweep_twice_and_two_sweeps_at_once_leave_one_flag(worker, overdue):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait(5)
            sweep_condition(kind=K.CULTURE_OVERDUE)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sweep_all.delay()
    sweep_all.delay()
    wait_for(lambda: Flag.objects.filter(kind=K.FEEDING_OVERDUE).exists())
    assert errors == []
    assert Flag.objects.filter(batch=overdue, kind=K.CULTURE_OVERDUE).count() == 1


@contextmanager
def broker_down() -> Iterator[None]:
    """Point the app's publishers at a closed port (the running worker keeps its own connection)."""
    saved = app.conf.broker_url

    def reset_pools() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = "redis://127.0.0.1:1/0"
    reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url = saved
        reset_pools()


def test_broker_outage_loses_nothing(worker, in_culture, technician, serum, caplog):
    with broker_down(), caplog.at_level(logging.WARNING, logger="monitoring.tasks"), transaction.atomic():
        step = log(in_culture, "feeding", technician, medium_lot="M-2", serum_din=serum.din)
        enqueue_batch_refresh(in_culture.pk)
        # The step is committed; the enqueue failure was logged, not raised.
    assert in_culture.steps.filter(pk=step.pk).exists()
    assert "broker unavailable" in caplog.text

    with time_machine.travel(timezone.now() + 4 * DAY, tick=True):
        assert not has_open(in_culture, K.FEEDING_OVERDUE)
        with transaction.atomic():
            enqueue_on_commit(sweep_all)  # the broker is back: the next sweep catches up
        wait_for(lambda: has_open(in_culture, K.FEEDING_OVERDUE))


def test_time_limits_and_retries_are_bounded() -> None:
    task = app.tasks["batches.sweep_all"]
    assert task.acks_late and task.max_retries == 5 and task.retry_backoff
    assert 0 < task.soft_time_limit < task.time_limit <= 300
    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} == {
        "batches.sweep_all",
        "compliance.sweep_expiry",
        "webhooks.drain",
    }
    assert all(
        dt.timedelta(seconds=entry["schedule"]) <= dt.timedelta(minutes=5) for entry in schedule.values()
    )
