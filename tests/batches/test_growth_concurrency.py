"""The stored projection under concurrent step writes: it always reflects every committed count.

Twenty technicians' clients (threads with their own connections) log counts on
one batch at once. Each ``step_record`` locks the batch row, writes its step and
recomputes the projection from the steps it reads after the lock, so the last
writer stores the projection of all twenty counts: no lost update.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from batches.models import Batch, CultureStep, GrowthProjection
from batches.selectors import batch_growth, with_effective_steps
from batches.services.growth import ProjectionValues
from tests.batches.conftest import DAY, log

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 20


def test_twenty_concurrent_counts_leave_the_projection_of_all_of_them(in_culture, technician):
    seeded_at = timezone.now() - 12 * DAY
    CultureStep.objects.filter(batch=in_culture, kind__in=["receipt", "seeding"]).update(
        performed_at=seeded_at
    )
    start = threading.Barrier(CLIENTS)
    errors: list[Exception] = []

    def count(i: int) -> None:
        try:
            start.wait()
            day = 1 + i * 0.5
            log(in_culture, "cell_count", technician, viable_cells=int(1e6 * 2 ** (day / 2)), viability_pct=92,
                confluence_pct=min(90, 10 + 4 * day), performed_at=seeded_at + day * DAY)  # fmt: skip
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=count, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert CultureStep.objects.filter(batch=in_culture, kind="cell_count").count() == CLIENTS
    full = with_effective_steps(
        Batch.objects.select_related("therapy__protocol").filter(pk=in_culture.pk)
    ).get()
    reference = ProjectionValues.of(batch_growth(full, full.effective_steps))
    assert ProjectionValues.stored(GrowthProjection.objects.get(batch=in_culture)) == reference
