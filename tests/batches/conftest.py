import datetime as dt

import pytest
from django.utils import timezone

from batches.models import Batch, Collection
from batches.services import collection_create, step_record, therapy_create
from tests.factories import PatientFactory, coordinator_of, protocol, scan

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def therapy(db):
    """A sub-acute IV therapy of a patient injured 10 days ago (harvest window open)."""
    patient = PatientFactory()
    return therapy_create(
        patient=patient, protocol=protocol("SCI-SUBACUTE-IV"), actor=coordinator_of(patient.clinic)
    )


@pytest.fixture
def serum(therapy, technician) -> Collection:
    return collection_create(
        therapy=therapy,
        kind="peripheral_blood",
        collected_at=timezone.now() - 30 * HOUR,
        volume_ml=240,
        actor=coordinator_of(therapy.patient.clinic),
    )


@pytest.fixture
def batch(therapy) -> Batch:
    """A bone-marrow batch collected a day ago, awaiting receipt."""
    collection = collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=timezone.now() - 24 * HOUR,
        volume_ml=30,
        actor=coordinator_of(therapy.patient.clinic),
    )
    return collection.batch


def log(batch: Batch, kind: str, actor, **values):
    return step_record(batch=batch, kind=kind, actor=actor, scanned_identifier=scan(batch.din), **values)


@pytest.fixture
def received(batch, technician) -> Batch:
    log(
        batch,
        "receipt",
        technician,
        temperature_c=20,
        seal_intact=True,
        performed_at=timezone.now() - 20 * HOUR,
    )
    return batch


@pytest.fixture
def in_culture(received, technician, serum) -> Batch:
    log(
        received, "seeding", technician, seeded_cells=20_000_000, medium_lot="M-1",
        serum_din=serum.din, performed_at=timezone.now() - 19 * HOUR,
    )  # fmt: skip
    return received
