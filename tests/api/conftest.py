"""API test fixtures: clinics A and B, a token per principal, and clients that carry them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from batches.models import Batch, Clinic, Location
from batches.services import collection_create, therapy_create
from compliance.models import User
from compliance.tokens import token_issue
from core.roles import Role
from tests.factories import (
    ClinicFactory,
    LocationFactory,
    PatientFactory,
    UserFactory,
    coordinator_of,
    protocol,
)

API = "/api/v1"
HOUR = dt.timedelta(hours=1)
PROBLEM_JSON = "application/problem+json"


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body


@pytest.fixture
def clinic_a(db: None) -> Clinic:
    return ClinicFactory(code="CLINIC-A", name="Clinic A")


@pytest.fixture
def clinic_b(db: None) -> Clinic:
    return ClinicFactory(code="CLINIC-B", name="Clinic B")


@pytest.fixture
def user_with_role(db: None) -> Callable[..., User]:
    def make(role: Role, clinic: Clinic | None = None) -> User:
        return UserFactory(role=role, clinic=clinic, full_name=f"{role.value.title()} Person")

    return make


@pytest.fixture
def user_client(user_with_role: Callable[..., User]) -> Callable[..., APIClient]:
    """A client carrying a fresh token of a new user in ``role``."""

    def make(role: Role, clinic: Clinic | None = None) -> APIClient:
        _, key = token_issue(user=user_with_role(role, clinic))
        return bearer(key)

    return make


@pytest.fixture
def clinic_a_client(clinic_a: Clinic) -> APIClient:
    return bearer(token_issue(clinic=clinic_a)[1])


@pytest.fixture
def clinic_b_client(clinic_b: Clinic) -> APIClient:
    return bearer(token_issue(clinic=clinic_b)[1])


@pytest.fixture
def tech_client(user_client: Callable[..., APIClient]) -> APIClient:
    return user_client(Role.TECHNICIAN)


@pytest.fixture
def locations(db: None) -> dict[str, Location]:
    return {
        "transport": LocationFactory(code="TRANSPORT-1", kind=Location.Kind.TRANSPORT),
        "receiving": LocationFactory(code="RECEIVING-1", kind=Location.Kind.RECEIVING),
        "incubator": LocationFactory(code="INC-1", kind=Location.Kind.INCUBATOR),
    }


@pytest.fixture
def batch_a(clinic_a: Clinic) -> Batch:
    """A bone-marrow batch of clinic A collected a day ago, awaiting receipt (sub-acute IV protocol)."""
    patient = PatientFactory(clinic=clinic_a)
    therapy = therapy_create(
        patient=patient, protocol=protocol("SCI-SUBACUTE-IV"), actor=coordinator_of(clinic_a)
    )
    collection = collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=timezone.now() - 24 * HOUR,
        volume_ml=30,
        actor=coordinator_of(therapy.patient.clinic),
    )
    return collection.batch
