"""Through a real Celery worker and a Redis of our own, which we stop and start again.

With Redis down, a release still commits and its event waits in the outbox
(the on-commit enqueue fails and is logged); once Redis is back, the
periodic drain (what the beat entry sends) delivers it, signed, with its id.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from kombu.exceptions import OperationalError as BrokerError

from lims.celery import app
from tests.builders import Staff
from tests.webhooks.conftest import clinic_of, free_port, subscribe
from tests.webhooks.test_delivery import releasable, release
from webhooks.models import OutboxEvent
from webhooks.tasks import drain

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


class RedisServer:
    """A throwaway redis-server on its own port: no persistence, stopped and started at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self._listening, timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


def _reset_pools() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker(redis_server: RedisServer) -> Iterator[None]:
    keys = ("broker_url", "task_default_queue", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}
    app.conf.broker_url = redis_server.url
    app.conf.task_default_queue = f"lims-webhooks-{uuid.uuid4().hex[:8]}"
    app.conf.broker_transport_options = {"polling_interval": 0.05}
    for cached in ("queues", "default_queue"):
        app.amqp.__dict__.pop(cached, None)
    _reset_pools()
    app.loader.import_module("celery.contrib.testing.tasks")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
    app.conf.update(saved)
    for cached in ("queues", "default_queue"):
        app.amqp.__dict__.pop(cached, None)
    _reset_pools()


def delivered(event: OutboxEvent) -> bool:
    return OutboxEvent.objects.filter(pk=event.pk, status=OutboxEvent.Status.DELIVERED).exists()


def publish_drain_until_broker_answers(timeout: float = 30) -> None:
    """What the beat entry does every 30 s: send a drain (retried here until Redis takes it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            drain.apply_async()
            return
        except BrokerError:
            assert time.monotonic() < deadline, "the broker did not come back"
            _reset_pools()
            time.sleep(0.5)


def test_the_beat_schedule_drains_the_outbox_often():
    entry = app.conf.beat_schedule["webhooks-drain"]
    assert entry["task"] == "webhooks.drain" and entry["schedule"] <= 60
    task = app.tasks["webhooks.drain"]
    assert task.acks_late and 0 < task.soft_time_limit < task.time_limit <= 300


def test_released_while_redis_is_down_delivered_after_it_returns(worker, redis_server, receiver, caplog):
    staff = Staff.create()
    up, down = releasable(staff), releasable(staff)
    subscribe(receiver, clinic_of(up), "up")
    subscribe(receiver, clinic_of(down), "down")

    release(up, staff)  # Redis up: the on-commit drain delivers at once
    first = OutboxEvent.objects.get(endpoint__url=receiver.url("up"))
    wait_for(lambda: delivered(first))

    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="webhooks.tasks"):
        release(down, staff)  # committed although the enqueue fails
    assert "broker unavailable" in caplog.text
    event = OutboxEvent.objects.get(endpoint__url=receiver.url("down"))
    time.sleep(1)
    event.refresh_from_db()
    assert (event.status, event.attempts) == (OutboxEvent.Status.PENDING, 0)  # waiting in the outbox
    assert receiver.verified("down") == []

    redis_server.start()
    publish_drain_until_broker_answers()
    wait_for(lambda: delivered(event), timeout=60)
    [got] = receiver.verified("down")
    assert got.webhook_id == str(event.id) and got.type == "batch.released"
    assert got.payload["data"]["din"] == down.din
