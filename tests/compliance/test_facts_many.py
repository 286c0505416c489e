"""The set-based facts refresh stores exactly what the per-batch path computes, for batches in every state."""

from __future__ import annotations

import pytest
from django.utils import timezone

from batches.models import Batch, BatchFacts, Location
from batches.services import collection_create, custody_transfer, step_amend, step_record, therapy_create
from compliance.readiness.bulk import batch_facts_many, refresh_stored_facts
from compliance.readiness.facts import batch_facts
from compliance.readiness.stored import facts_to_json
from compliance.services.deviations import deviation_open
from compliance.services.scheduling import infusion_schedule
from tests.builders import HOUR, Staff, formulated_batch, record_qc, released_batch
from tests.factories import LocationFactory, PatientFactory, coordinator_of, protocol, scan

pytestmark = pytest.mark.django_db


def _batches_in_every_state(staff: Staff) -> list[Batch]:
    patient = PatientFactory()
    coordinator = coordinator_of(patient.clinic)
    therapy = therapy_create(patient=patient, protocol=protocol("SCI-SUBACUTE-IV"), actor=coordinator)
    now = timezone.now()
    serum = collection_create(
        therapy=therapy,
        kind="peripheral_blood",
        collected_at=now - 30 * HOUR,
        volume_ml=240,
        actor=coordinator,
    )

    def new(kind_log: list[tuple[str, float, dict]]) -> Batch:
        batch = collection_create(
            therapy=therapy, kind="bone_marrow", collected_at=now - 24 * HOUR, volume_ml=30, actor=coordinator
        ).batch
        for kind, hours_ago, values in kind_log:
            step_record(batch=batch, kind=kind, actor=staff.tech, scanned_identifier=scan(batch.din),
                        performed_at=now - hours_ago * HOUR, **values)  # fmt: skip
        return batch

    receipt = ("receipt", 20, {"temperature_c": 8, "seal_intact": True})
    seeding = ("seeding", 19, {"seeded_cells": 20_000_000, "medium_lot": "M-1", "serum_din": serum.din})
    counted = new([receipt, seeding, ("cell_count", 10, {"viable_cells": 40_000_000, "viability_pct": 92}),
                   ("cell_count", 2, {"viable_cells": 70_000_000, "viability_pct": 92})])  # fmt: skip
    step_amend(step=counted.steps.filter(kind="cell_count").first(), actor=staff.tech, reason="recount",
               viable_cells=45_000_000)  # fmt: skip
    awaiting = collection_create(
        therapy=therapy, kind="bone_marrow", collected_at=now - HOUR, volume_ml=30, actor=coordinator
    ).batch
    pending_qc = formulated_batch(staff)
    record_qc(pending_qc, staff, viability=40)  # out of specification
    released = released_batch(staff, injured_days_ago=28)
    infusion_schedule(
        dose=released.doses.get(), scheduled_for=now + 5 * 24 * HOUR, route="iv", actor=staff.qa
    )
    tampered = released_batch(staff)
    step_amend(
        step=tampered.steps.get(kind="harvest"), actor=staff.tech, reason="late fix", viable_cells=149_000_000
    )
    fridge = LocationFactory(code="COLD-9", kind=Location.Kind.COLD_STORAGE)
    custody_transfer(batch=tampered, to_location=fridge, seal_intact=False, scanned_identifier=scan(tampered.din),
                     actor=staff.tech, temperature_c=5)  # fmt: skip
    deviating = formulated_batch(staff)
    deviation_open(batch=deviating, severity="major", description="CO2 alarm", actor=staff.tech)
    deviation_open(batch=deviating, severity="minor", description="Label smudged", actor=staff.tech)
    harvest = ("harvest", 3, {"viable_cells": 150_000_000, "viability_pct": 93})
    batches = [
        awaiting,
        new([receipt, seeding, harvest]),
        formulated_batch(staff),
        new([receipt]),
        new([receipt, seeding]),
        counted,
        pending_qc,
        released,
        tampered,
        deviating,
    ]
    return list(
        Batch.objects.select_related("therapy__patient", "therapy__protocol")
        .filter(pk__in=[b.pk for b in batches])
        .order_by("pk")
    )


def test_set_based_facts_equal_the_per_batch_facts_in_every_state():
    batches = _batches_in_every_state(Staff.create())
    every = {
        "awaiting_receipt",
        "received",
        "in_culture",
        "harvested",
        "pending_release",
        "released",
        "quarantined",
    }
    assert {b.status for b in batches} == every

    assert batch_facts_many(batches) == [batch_facts(b) for b in batches]


def test_refresh_stores_the_per_batch_facts_of_every_batch_in_one_pass():
    batches = _batches_in_every_state(Staff.create())
    BatchFacts.objects.all().delete()

    assert refresh_stored_facts([b.pk for b in batches]) == len(batches)

    stored = dict(BatchFacts.objects.values_list("batch_id", "facts"))
    assert stored == {b.pk: facts_to_json(batch_facts(b), therapy_id=b.therapy_id) for b in batches}
