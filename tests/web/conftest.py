"""Fixtures of the web UI tests: staff of every role, batches made through the services, logins."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from batches.models import Batch, Clinic
from batches.services import collection_create, therapy_create
from compliance.models import User
from core.roles import Role
from tests.builders import Staff
from tests.factories import (
    ClinicFactory,
    PatientFactory,
    UserFactory,
    coordinator_of,
    protocol,
)

HOUR = dt.timedelta(hours=1)


def new_batch(clinic: Clinic | None = None, *, hours_ago: float = 24) -> Batch:
    """A sub-acute IV bone-marrow batch collected ``hours_ago``, awaiting receipt."""
    patient = PatientFactory(clinic=clinic) if clinic else PatientFactory()
    therapy = therapy_create(
        patient=patient, protocol=protocol("SCI-SUBACUTE-IV"), actor=coordinator_of(patient.clinic)
    )
    collected_at = timezone.now() - hours_ago * HOUR
    return collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=collected_at,
        volume_ml=30,
        actor=coordinator_of(therapy.patient.clinic),
    ).batch


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def staff(db: None) -> Staff:
    return Staff.create()


@pytest.fixture
def clinic(db: None) -> Clinic:
    return ClinicFactory(code="KEIO")


@pytest.fixture
def coordinator(clinic: Clinic) -> User:
    return UserFactory(role=Role.COORDINATOR, clinic=clinic, full_name="Chika Coordinator")


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(role=Role.ADMIN, full_name="Ada Admin")


@pytest.fixture
def users(staff: Staff, coordinator: User, admin: User) -> dict[str, User]:
    """One user per role, by role name."""
    return {
        "technician": staff.tech,
        "qc": staff.qc,
        "qa": staff.qa,
        "coordinator": coordinator,
        "admin": admin,
    }


@pytest.fixture
def batch(clinic: Clinic) -> Batch:
    """A batch of the coordinator's clinic, awaiting receipt."""
    return new_batch(clinic)
