"""Readiness, batch detail and FHIR cost the same number of queries however long a batch's history is.

A batch is built through the services, its endpoint measured, then hundreds of
history rows are written straight to the tables (bulk_create) and the endpoint
is measured again. For a released batch the added rows change the record, so
the release signature no longer matches it and the batch stops being ready:
the answer changes, the number of queries must not.

Readiness and FHIR read the batch's readiness facts stored with the batch's
``facts_version`` they were read at (``BatchFacts``, joined to the batch row;
triggers bump the version on every write): each is measured cold (no stored
facts: they are read and stored) and warm (the stored facts are current).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from batches.models import Batch, BatchFacts, CultureStep, CustodyTransfer, Finding, Location
from compliance.tokens import token_issue
from core.roles import Role
from tests.api.conftest import API, bearer
from tests.builders import Staff, formulated_batch, released_batch
from tests.factories import LocationFactory, scan

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
# Injured 28 days ago, asked about 5 days ahead: day 33, inside the sub-acute window (day 31 to 180).
INJURED_DAYS_AGO = 28
IN_WINDOW = dt.timedelta(days=5)

# Both ask readiness of the whole record: it checks the QA release signature against it.
RECORD_QUERIES = [
    "release decision with its signature",
    "record: steps", "record: custody", "record: findings", "record: qc", "record: deviations", "record: doses",
]  # fmt: skip


def count_queries(
    client: APIClient, path: str, params: dict[str, str] | None = None, *, cold: bool = False
) -> int:
    client.get(path, params)  # warm-up: the token's last_used_at write happens at most once a minute
    if cold:
        BatchFacts.objects.all().delete()  # the readiness facts are read again, and stored
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    return len(queries)


def add_steps(batch: Batch, staff: Staff, n: int) -> None:
    """``n`` feedings during the culture, written in bulk (no service: only the count matters here)."""
    seeded_at = batch.steps.get(kind="seeding").performed_at
    CultureStep.objects.bulk_create(
        CultureStep(batch=batch, kind=CultureStep.Kind.FEEDING, performed_at=seeded_at + i * dt.timedelta(minutes=1),
                    performed_by=staff.tech, scanned_identifier=scan(batch.din), medium_lot=f"M-{i}")
        for i in range(1, n + 1)
    )  # fmt: skip


def add_custody_and_findings(batch: Batch, staff: Staff, n: int) -> None:
    """``n`` more custody transfers between two shelves, each with an assessed temperature finding."""
    shelves = [LocationFactory(code=f"SHELF-{i}", kind=Location.Kind.INCUBATOR) for i in (1, 2)]
    last = batch.custody_transfers.order_by("-sequence").first()
    assert last is not None
    at = timezone.now() - 20 * HOUR
    transfers = CustodyTransfer.objects.bulk_create(
        CustodyTransfer(batch=batch, sequence=last.sequence + i, seal_intact=True, scanned_identifier=scan(batch.din),
                        from_location=last.to_location if i == 1 else shelves[(i - 1) % 2], to_location=shelves[i % 2],
                        performed_at=at, performed_by=staff.tech)
        for i in range(1, n + 1)
    )  # fmt: skip
    Finding.objects.bulk_create(
        Finding(batch=batch, kind=Finding.Kind.TEMPERATURE_EXCURSION, detail="9.0 °C on the shelf", occurred_at=at,
                custody_transfer=t, assessed_at=at, assessed_by=staff.qa, assessment="No impact.")
        for t in transfers
    )  # fmt: skip


def add_history(batch: Batch, staff: Staff) -> None:
    add_steps(batch, staff, 200)
    add_custody_and_findings(batch, staff, 50)


@pytest.fixture
def staff() -> Staff:
    return Staff.create()


@pytest.fixture
def qa_client(user_client) -> APIClient:
    return user_client(Role.QA)


# What a request reads whatever is stored: ONE statement, the principal (token with its user and the
# user's roles) and beside it the batch row joined with its stored facts and its clinic (the scope).
WARM_READINESS = [
    "token with its user and the user's roles, and the batch (status, facts_version, stored facts, clinic)",
]
# What stale or missing stored facts add: the readiness facts (batch_facts in compliance/selectors.py), then
# storing them: one upsert, in a savepoint here because the test runs in a transaction (autocommit: the upsert).
FACTS_QUERIES = [
    "batch with therapy, patient and protocol", "qc results", "active infusions",
    "storage facts (thaws, excursion holds, out-of-range arrivals)", "doses", *RECORD_QUERIES, "open deviations", "effective steps (growth projection)",
    "savepoint", "upsert of the stored facts", "release savepoint",
]  # fmt: skip


def test_readiness_queries_do_not_grow_with_history(staff, qa_client):
    batch = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    path, at = f"{API}/batches/{batch.din}/readiness", {"at": (timezone.now() + IN_WINDOW).isoformat()}
    assert qa_client.get(path, at).json()["ready"] is True
    short = count_queries(qa_client, path, at), count_queries(qa_client, path, at, cold=True)

    add_history(batch, staff)
    long = count_queries(qa_client, path, at), count_queries(qa_client, path, at, cold=True)

    answer = qa_client.get(path, at).json()
    assert answer["ready"] is False
    assert "signature_invalid" in {b["code"] for b in answer["blockers"]}
    assert short == long == (len(WARM_READINESS), len(WARM_READINESS + FACTS_QUERIES)) == (1, 18)


def test_readiness_of_a_clinic_token_queries_do_not_grow_with_history(staff):
    batch = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    client = bearer(token_issue(clinic=batch.therapy.patient.clinic)[1])
    path = f"{API}/batches/{batch.din}/readiness"
    short = count_queries(client, path), count_queries(client, path, cold=True)
    add_history(batch, staff)
    # As for staff: the token query's roles subquery is empty for a clinic system.
    assert short == (count_queries(client, path), count_queries(client, path, cold=True)) == (1, 18)


def test_batch_detail_queries_do_not_grow_with_steps(staff, qa_client):
    batch = formulated_batch(staff)  # five steps: receipt to formulation
    path = f"{API}/batches/{batch.din}/"
    short = count_queries(qa_client, path)
    add_steps(batch, staff, 200)
    long = count_queries(qa_client, path)
    queries = [
        "token with its user and the user's roles", "batch with therapy, patient, clinic and protocol",
        "effective steps (culture day and projection)", "doses", "open flags",
    ]  # fmt: skip
    assert short == long == len(queries) == 5


def test_fhir_product_queries_do_not_grow_with_history(staff, qa_client):
    batch = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    path = f"{API}/fhir/BiologicallyDerivedProduct/{batch.din}-1"
    short = count_queries(qa_client, path), count_queries(qa_client, path, cold=True)
    add_history(batch, staff)
    long = count_queries(qa_client, path), count_queries(qa_client, path, cold=True)
    warm = [
        "token with its user and the user's roles",
        "dose with batch, its stored facts, collection, therapy and protocol",
        "the storage unit holding a unit of the dose (none: not frozen)",
    ]
    assert short == long == (len(warm), len(warm + FACTS_QUERIES)) == (3, 20)
