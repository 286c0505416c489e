"""A batch from registration to formulation, entirely over HTTP, as clinic and lab systems drive it."""

import pytest
from django.utils import timezone

from batches.models import Flag
from compliance.models import AuditEntry
from core.isbt128 import check_character
from tests.api.conftest import API, HOUR
from tests.api.flows import post, register_and_process

pytestmark = pytest.mark.django_db


def test_clinic_registers_and_lab_processes_a_batch_to_pending_release(
    clinic_a_client, tech_client, locations, clinic_a
):
    now = timezone.now()
    flow = register_and_process(clinic_a_client, tech_client)
    patient, therapy, serum, marrow, din = (
        flow["patient"],
        flow["therapy"],
        flow["serum"],
        flow["marrow"],
        flow["din"],
    )
    assert patient["clinic"] == "CLINIC-A"
    assert therapy["coi"].startswith("CH")
    assert therapy["eligibility"] == {"eligible": True, "reasons": []}
    assert therapy["patient"] == patient["id"]
    assert serum["batch"] is None
    assert din == marrow["din"]
    assert marrow["check_character"] == check_character(din)
    codes = [loc["code"] for loc in tech_client.get(f"{API}/locations/").json()]
    assert {"RECEIVING-1", "INC-1"} <= set(codes)
    assert (flow["transfer"]["sequence"], flow["transfer"]["findings"]) == (1, [])
    assert [s["batch_status"] for s in flow["steps"]] == [
        "received", "in_culture", "in_culture", "harvested", "pending_release",
    ]  # fmt: skip
    assert flow["steps"][1]["serum_collection"] == serum["din"]

    batch = clinic_a_client.get(f"{API}/batches/{din}/").json()
    assert batch["status"] == "pending_release"
    assert (batch["coi"], batch["patient"], batch["protocol"]) == (
        therapy["coi"],
        patient["id"],
        "SCI-SUBACUTE-IV",
    )
    assert [(d["dose_id"], d["cells"], d["status"]) for d in batch["doses"]] == [
        (f"{din}-1", 100_000_000, "pending_release")
    ]
    seeded, harvested = (timezone.localdate(now - h * HOUR) for h in (19, 2))
    assert batch["culture_day"] == (harvested - seeded).days
    assert batch["projected_ready_on"] == str(harvested)
    assert batch["flags"] == []
    # The 14-character label works in the URL too.
    assert tech_client.get(f"{API}/batches/{flow['label']}/").json()["din"] == din


def test_token_writes_are_attributed_to_the_user_or_clinic_system(clinic_a_client, tech_client, batch_a):
    patient = post(clinic_a_client, "/patients/", {
        "code": "PT-ATTR", "birth_year": 1990, "sex": "female", "weight_kg": 55, "injury_date": "2026-01-01",
        "injury_level": "T4", "asia_grade": "A", "injury_type": "compression", "malignancy_history": False,
    })  # fmt: skip
    entry = AuditEntry.objects.get(table_name="batches_patient", object_pk=patient["id"])
    assert entry.actor_id is None
    assert "CLINIC-A" in entry.actor_name
    assert entry.request_id

    label = batch_a.din + check_character(batch_a.din)
    post(tech_client, f"/batches/{batch_a.din}/steps/", {
        "kind": "receipt", "temperature_c": 18, "seal_intact": True, "scanned_identifier": label,
    })  # fmt: skip
    status_entry = AuditEntry.objects.filter(table_name="batches_batch", object_pk=str(batch_a.pk)).last()
    assert status_entry.after["status"] == "received"
    assert status_entry.actor_name == "Technician Person"
    assert status_entry.actor_id is not None


def test_batch_detail_shows_its_open_flags_only(tech_client, batch_a):
    now = timezone.now()
    Flag.objects.create(
        batch=batch_a, kind="seeding_overdue", severity="warning", detail="Received 3 days ago, not seeded.",
        first_seen_at=now - 2 * HOUR, last_seen_at=now,
    )  # fmt: skip
    Flag.objects.create(
        batch=batch_a, kind="feeding_overdue", severity="critical", detail="Resolved long ago.",
        first_seen_at=now - 9 * HOUR, last_seen_at=now - 8 * HOUR, resolved_at=now - 8 * HOUR,
    )  # fmt: skip

    (flag,) = tech_client.get(f"{API}/batches/{batch_a.din}/").json()["flags"]
    assert (flag["kind"], flag["severity"], flag["acknowledged_at"]) == ("seeding_overdue", "warning", None)
    assert flag["detail"] == "Received 3 days ago, not seeded."
    assert flag["first_seen_at"] and flag["last_seen_at"]
