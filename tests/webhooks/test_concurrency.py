"""Replayed and concurrent emits add no duplicate event; concurrent drains send each event once.

20 clients at once, each a thread with its own database connection, on
committed data (``transaction=True``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from tests.factories import ClinicFactory
from tests.webhooks.conftest import subscribe
from webhooks import delivery
from webhooks.models import OutboxEvent
from webhooks.outbox import emit

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 20


def at_once(work: Callable[[int], None], n: int = CLIENTS) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            work(i)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_twenty_concurrent_emits_of_one_fact_leave_one_event_per_endpoint(receiver):
    clinic = ClinicFactory()
    subscribe(receiver, clinic, "first")
    subscribe(receiver, clinic, "second")

    def replay(i: int) -> None:
        with transaction.atomic():
            emit(
                clinic_id=clinic.pk,
                type="batch.released",
                key="batch.released:A999926000001:t1",
                data={"i": i},
            )

    assert at_once(replay) == []
    assert Counter(OutboxEvent.objects.values_list("endpoint__url", flat=True)) == {
        receiver.url("first"): 1,
        receiver.url("second"): 1,
    }


def test_twenty_concurrent_drains_deliver_each_event_exactly_once(receiver):
    clinic = ClinicFactory()
    subscribe(receiver, clinic, "mine")
    with transaction.atomic():
        for n in range(60):
            emit(clinic_id=clinic.pk, type="batch.released", key=f"fact-{n}", data={"n": n})
    results: list[delivery.DrainResult] = []

    def drain(i: int) -> None:
        results.append(delivery.drain())

    assert at_once(drain) == []
    ids = [d.webhook_id for d in receiver.verified()]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert sum(r.delivered for r in results) == 60
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}
    assert set(OutboxEvent.objects.values_list("attempts", flat=True)) == {1}


def test_twenty_concurrent_expiry_sweeps_announce_a_dose_once(receiver):
    import datetime as dt

    import time_machine

    from monitoring.sweeps import sweep_expiry
    from tests.builders import Staff, released_batch
    from tests.webhooks.conftest import clinic_of

    batch = released_batch(Staff.create())
    subscribe(receiver, clinic_of(batch), "mine", ["dose.expiring"])
    with time_machine.travel(batch.doses.get().expires_at - dt.timedelta(hours=20), tick=True):
        assert at_once(lambda i: sweep_expiry()) == []
        assert OutboxEvent.objects.filter(type="dose.expiring").count() == 1
        delivery.drain()
    assert [d.type for d in receiver.verified()] == ["dose.expiring"]
