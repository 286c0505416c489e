"""List endpoints cost the same number of queries at 1 row and at 20 rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from batches.models import ProcessingProtocol
from batches.protocols import REFERENCE_PROTOCOLS
from tests.api.conftest import API
from tests.factories import BatchFactory, LocationFactory, PatientFactory, TherapyFactory

pytestmark = pytest.mark.django_db


def count_queries(client, path: str, rows: int) -> int:
    client.get(path)  # warm-up: the token's last_used_at write happens at most once a minute
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"] if isinstance(body, dict) else body) == rows
    return len(queries)


def make_batches(n: int, clinic) -> None:
    therapy = TherapyFactory(patient=PatientFactory(clinic=clinic))
    for _ in range(n):
        BatchFactory(collection__therapy=therapy)


@pytest.mark.parametrize("rows", [1, 20])
def test_batch_list_queries_do_not_grow_with_rows(tech_client, clinic_a, rows):
    make_batches(rows, clinic_a)
    # 1 token with its user (select_related) and the user's roles (a subquery), 2 count for pagination,
    # 3 batches with therapy, patient, clinic and protocol, 4 effective steps, 5 doses, 6 open flags.
    assert count_queries(tech_client, f"{API}/batches/", rows) == 6


@pytest.mark.parametrize("rows", [1, 20])
def test_batch_list_of_a_clinic_token_queries_do_not_grow_with_rows(
    clinic_a_client, clinic_a, clinic_b, rows
):
    make_batches(rows, clinic_a)
    make_batches(2, clinic_b)
    # 1 token and its clinic, 2 count, 3 batches, 4 effective steps, 5 doses, 6 open flags (no roles: a system).
    assert count_queries(clinic_a_client, f"{API}/batches/", rows) == 6


@pytest.mark.parametrize("rows", [1, 20])
def test_location_list_queries_do_not_grow_with_rows(tech_client, rows):
    for _ in range(rows):
        LocationFactory()
    # 1 token with its user and the user's roles, 2 locations with their clinic.
    assert count_queries(tech_client, f"{API}/locations/", rows) == 2


@pytest.mark.parametrize("extra", [0, 19])
def test_protocol_list_queries_do_not_grow_with_rows(clinic_a_client, extra):
    spec = REFERENCE_PROTOCOLS[1]
    for version in range(2, extra + 2):
        ProcessingProtocol.objects.create(**{**spec, "version": version})
    # The two reference protocols are always installed: 2 rows, or 21.
    # 1 token and its clinic, 2 protocols.
    assert count_queries(clinic_a_client, f"{API}/protocols/", extra + 2) == 2
