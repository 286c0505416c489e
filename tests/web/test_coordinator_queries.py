"""The coordinator's worklist costs the same number of queries with 1 batch and with 200, warm or cold.

Twenty-five therapies a page: the page's rows are read in a fixed number of queries.

Batches are written with the factories (no services: only the count matters),
each with one dose, so every prefetch runs in both measurements.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from batches.models import BatchFacts, Clinic, Dose
from tests.factories import BatchFactory, CollectionFactory, PatientFactory, TherapyFactory
from tests.web.conftest import login

pytestmark = pytest.mark.django_db


def add_batches(clinic: Clinic, n: int) -> None:
    for _ in range(n):
        therapy = TherapyFactory(patient=PatientFactory(clinic=clinic))
        batch = BatchFactory(collection=CollectionFactory(therapy=therapy))
        Dose.objects.create(batch=batch, number=1, cells=100_000_000, volume_ml=50)


def count(client, *, cold: bool = False) -> int:
    url = reverse("coordinator:worklist")
    assert client.get(url).status_code == 200  # warm-up: readiness facts stored, session touched
    if cold:
        BatchFacts.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_worklist_queries_are_the_same_for_1_and_200_batches(client, coordinator, clinic):
    login(client, coordinator)
    add_batches(clinic, 1)
    one, one_cold = count(client), count(client, cold=True)
    add_batches(clinic, 199)

    many, many_cold = count(client), count(client, cold=True)

    html = client.get(reverse("coordinator:worklist")).content.decode()
    assert html.count('class="din-k"') == 25 and "Page 1 of 8" in html  # 25 therapies a page
    # session, user, the user's roles, the user's clinic, therapy count, therapies (patient, protocol),
    # batches (stored facts, collection), doses, active infusions, upcoming infusions, unread notifications
    assert one == many == 11
    # cold: stale facts are computed for all rows at once (refresh_stored_facts) and re-read
    assert one_cold == many_cold
