"""Build batches in late lifecycle states through the services only (no shortcuts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from batches.models import Batch, Clinic, Location, Patient
from batches.services import collection_create, custody_transfer, step_record, therapy_create
from compliance.models import User
from compliance.selectors import checklist_status
from compliance.services.checklists import checklist_item_sign
from compliance.services.qc import qc_result_record
from compliance.services.release import batch_release
from core.roles import Role
from tests.factories import (
    PASSWORD,
    LocationFactory,
    PatientFactory,
    UserFactory,
    coordinator_of,
    protocol,
    scan,
)

HOUR = dt.timedelta(hours=1)
GOOD_QC = {
    "viability": 92, "viable_cell_count": 100_000_000, "cd73": 99, "cd90": 98.5, "cd105": 97, "cd34": 0.4,
    "cd45": 0.8, "hla_dr": 0.5, "sterility": "no_growth", "mycoplasma": "negative", "endotoxin": 0.5,
}  # fmt: skip


@dataclass
class Staff:
    tech: User
    tech2: User
    qc: User
    qa: User
    qa2: User

    @classmethod
    def create(cls) -> Staff:
        return cls(
            tech=UserFactory(role=Role.TECHNICIAN, full_name="Taro Technician"),
            tech2=UserFactory(role=Role.TECHNICIAN, full_name="Jiro Verifier"),
            qc=UserFactory(role=Role.QC, full_name="Kenji QC"),
            qa=UserFactory(role=Role.QA, full_name="Hanako QA"),
            qa2=UserFactory(role=Role.QA, full_name="Aiko QA"),
        )


def formulated_batch(staff: Staff, *, injured_days_ago: int = 10) -> Batch:
    """A sub-acute IV batch at pending_release: collected, moved, received, cultured, formulated."""
    now = timezone.now()
    patient = PatientFactory(injury_date=timezone.localdate() - dt.timedelta(days=injured_days_ago))
    therapy = therapy_create(
        patient=patient, protocol=protocol("SCI-SUBACUTE-IV"), actor=coordinator_of(patient.clinic)
    )
    serum = collection_create(
        therapy=therapy,
        kind="peripheral_blood",
        collected_at=now - 30 * HOUR,
        volume_ml=240,
        actor=coordinator_of(therapy.patient.clinic),
    )
    batch = collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=now - 24 * HOUR,
        volume_ml=30,
        actor=coordinator_of(therapy.patient.clinic),
    ).batch
    label = scan(batch.din)
    box = LocationFactory(code="SHIPPER-T", kind=Location.Kind.TRANSPORT)
    custody_transfer(batch=batch, to_location=box, seal_intact=True, temperature_c=8, scanned_identifier=label,
                     actor=staff.tech, performed_at=now - 23 * HOUR)  # fmt: skip

    def log(kind: str, hours_ago: float, **values: object) -> None:
        step_record(batch=batch, kind=kind, actor=staff.tech, scanned_identifier=label,
                    performed_at=now - hours_ago * HOUR, **values)  # fmt: skip

    log("receipt", 20, temperature_c=8, seal_intact=True)
    log("seeding", 19, seeded_cells=20_000_000, medium_lot="M-1", serum_din=serum.din)
    log("cell_count", 10, viable_cells=60_000_000, viability_pct=94, confluence_pct=80)
    log("harvest", 3, viable_cells=150_000_000, viability_pct=93)
    log("formulation", 2, doses=1, cells_per_dose=100_000_000, volume_ml_per_dose=50)
    batch.refresh_from_db()
    return batch


def record_qc(batch: Batch, staff: Staff, **overrides: object) -> None:
    for test, outcome in {**GOOD_QC, **overrides}.items():
        kwargs = {"result": outcome} if isinstance(outcome, str) else {"value": outcome}
        qc_result_record(batch=batch, test=test, actor=staff.qc, tested_at=timezone.now() - HOUR, **kwargs)


def sign_checklist(batch: Batch, staff: Staff) -> None:
    """Every item reviewed by its role and, where needed, verified by a second person."""
    reviewers = {"technician": staff.tech, "qc": staff.qc, "qa": staff.qa2}
    verifiers = {"technician": staff.tech2, "qc": staff.qa2, "qa": staff.qa2}
    for entry in checklist_status(batch).items:
        item = entry.item
        checklist_item_sign(
            batch=batch,
            item_code=item.code,
            actor=reviewers[item.role],
            password=PASSWORD,
            meaning="reviewed",
        )
        if item.requires_second_person:
            checklist_item_sign(
                batch=batch,
                item_code=item.code,
                actor=verifiers[item.role],
                password=PASSWORD,
                meaning="verified",
            )


def released_batch(staff: Staff, **kwargs: int) -> Batch:
    batch = formulated_batch(staff, **kwargs)
    record_qc(batch, staff)
    sign_checklist(batch, staff)
    batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")
    batch.refresh_from_db()
    return batch


def ready_batch(staff: Staff, clinic: Clinic) -> Batch:
    """A released batch of ``clinic`` whose patient is inside the infusion window today (day 40)."""
    batch = released_batch(staff, injured_days_ago=20)
    Patient.objects.filter(pk=batch.therapy.patient_id).update(
        clinic=clinic, injury_date=timezone.localdate() - dt.timedelta(days=40)
    )
    return Batch.objects.select_related("therapy__patient").get(pk=batch.pk)
