"""Every refusal is a problem+json with the right status, and says why."""

import datetime as dt

import pytest
from django.utils import timezone

from batches.models import Batch, Finding, Patient
from core.isbt128 import check_character
from tests.api.conftest import API, HOUR, assert_problem
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PATIENT = {
    "code": "PT-1", "birth_year": 1988, "sex": "male", "weight_kg": 68.5, "injury_level": "C5",
    "asia_grade": "B", "injury_type": "contusion", "malignancy_history": False,
}  # fmt: skip


def patient_body(**changes) -> dict:
    return {**PATIENT, "injury_date": str(timezone.localdate() - dt.timedelta(days=10)), **changes}


def wrong_k(din: str) -> str:
    right = check_character(din)
    return din + ("A" if right != "A" else "B")


# --- 400 ----------------------------------------------------------------------------


def test_missing_and_malformed_fields_are_400_with_each_field_named(clinic_a_client):
    body = assert_problem(
        clinic_a_client.post(f"{API}/patients/", {"sex": "robot", "weight_kg": "heavy"}, format="json"), 400
    )
    assert {"code", "birth_year", "sex", "weight_kg", "injury_date", "asia_grade"} <= set(body["errors"])
    assert all(isinstance(m, list) and m for m in body["errors"].values())


def test_model_validation_from_the_service_is_400_on_its_field(clinic_a_client):
    body = assert_problem(
        clinic_a_client.post(f"{API}/patients/", patient_body(injury_level="X9"), format="json"), 400
    )
    assert list(body["errors"]) == ["injury_level"]


def test_patient_code_is_unique_per_clinic(clinic_a_client, clinic_b_client):
    assert clinic_a_client.post(f"{API}/patients/", patient_body(), format="json").status_code == 201
    body = assert_problem(clinic_a_client.post(f"{API}/patients/", patient_body(), format="json"), 400)
    assert "code" in body["errors"]
    assert clinic_b_client.post(f"{API}/patients/", patient_body(), format="json").status_code == 201


def test_clinic_token_registers_for_its_own_clinic_only(clinic_a_client, clinic_b):
    body = assert_problem(
        clinic_a_client.post(f"{API}/patients/", patient_body(clinic="CLINIC-B"), format="json"), 400
    )
    assert "clinic" in body["errors"]
    assert not Patient.objects.filter(clinic=clinic_b).exists()


def test_malformed_json_is_400(clinic_a_client):
    response = clinic_a_client.post(f"{API}/patients/", "{not json", content_type="application/json")
    assert_problem(response, 400)


def test_form_encoded_body_is_415(clinic_a_client):
    assert_problem(clinic_a_client.post(f"{API}/patients/", {"code": "x"}), 415)


def test_another_clinics_patient_in_a_body_is_unknown(clinic_b_client, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    for ref in (str(patient.pk), "not-a-uuid"):
        response = clinic_b_client.post(
            f"{API}/therapies/", {"patient": ref, "protocol": "SCI-SUBACUTE-IV"}, format="json"
        )
        assert "patient" in assert_problem(response, 400)["errors"]


def test_unknown_protocol_is_400(clinic_a_client, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    response = clinic_a_client.post(
        f"{API}/therapies/", {"patient": str(patient.pk), "protocol": "NOPE"}, format="json"
    )
    assert "protocol" in assert_problem(response, 400)["errors"]


def test_step_without_the_values_of_its_kind_is_400(tech_client, batch_a):
    response = tech_client.post(
        f"{API}/batches/{batch_a.din}/steps/",
        {"kind": "receipt", "scanned_identifier": batch_a.din + check_character(batch_a.din)},
        format="json",
    )
    assert set(assert_problem(response, 400)["errors"]) == {"temperature_c", "seal_intact"}


def test_bad_list_filter_is_400(tech_client):
    body = assert_problem(tech_client.get(f"{API}/batches/?status=lost&patient=nope"), 400)
    assert {"status", "patient"} <= set(body["errors"])


# --- 409 ----------------------------------------------------------------------------


def test_ineligible_patient_therapy_is_409_with_every_blocker(clinic_a_client, clinic_a):
    patient = PatientFactory(clinic=clinic_a, malignancy_history=True, injury_type="transection")
    response = clinic_a_client.post(
        f"{API}/therapies/", {"patient": str(patient.pk), "protocol": "SCI-SUBACUTE-IV"}, format="json"
    )
    codes = {b["code"] for b in assert_problem(response, 409)["blockers"]}
    assert {"malignancy_history", "transected_cord"} <= codes
    assert not patient.therapies.exists()


def test_wrong_check_character_is_409_and_recorded_as_a_finding(tech_client, batch_a, locations):
    response = tech_client.post(
        f"{API}/batches/{batch_a.din}/custody/",
        {"to_location": "RECEIVING-1", "seal_intact": True, "scanned_identifier": wrong_k(batch_a.din)},
        format="json",
    )
    body = assert_problem(response, 409)
    assert [b["code"] for b in body["blockers"]] == ["identity_mismatch"]
    finding = Finding.objects.get(batch=batch_a)
    assert (finding.kind, finding.scanned_identifier) == ("identity_mismatch", wrong_k(batch_a.din))
    assert not batch_a.custody_transfers.exists()


def test_step_in_the_wrong_state_is_409_and_changes_nothing(tech_client, batch_a):
    response = tech_client.post(
        f"{API}/batches/{batch_a.din}/steps/",
        {"kind": "seeding", "seeded_cells": 1_000_000, "medium_lot": "M-1", "serum_collection": None,
         "scanned_identifier": batch_a.din + check_character(batch_a.din)},
        format="json",
    )  # fmt: skip
    assert "wrong_state" in {b["code"] for b in assert_problem(response, 409)["blockers"]}
    assert Batch.objects.get(pk=batch_a.pk).status == "awaiting_receipt"


def test_collection_outside_the_harvest_window_is_409(clinic_a_client, batch_a):
    response = clinic_a_client.post(f"{API}/collections/", {
        "therapy": batch_a.therapy.coi, "kind": "bone_marrow", "volume_ml": 30,
        "collected_at": (timezone.now() + 48 * HOUR).isoformat(),
    }, format="json")  # fmt: skip
    assert "future_time" in {b["code"] for b in assert_problem(response, 409)["blockers"]}


# --- 404 / 405 ------------------------------------------------------------------------


def test_another_clinics_objects_are_404(clinic_b_client, batch_a):
    assert_problem(clinic_b_client.get(f"{API}/batches/{batch_a.din}/"), 404)
    assert_problem(clinic_b_client.get(f"{API}/patients/{batch_a.therapy.patient_id}/"), 404)
    assert clinic_b_client.get(f"{API}/batches/").json()["count"] == 0


@pytest.mark.parametrize("identifier", ["A999926999999", "NOT-A-DIN", "A99992600000", "lower"])
def test_unknown_or_malformed_din_is_404(tech_client, identifier, db):
    assert_problem(tech_client.get(f"{API}/batches/{identifier}/"), 404)


def test_din_with_a_wrong_check_character_in_the_url_is_404(tech_client, batch_a):
    body = assert_problem(tech_client.get(f"{API}/batches/{wrong_k(batch_a.din)}/"), 404)
    assert "Check character" in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/patients/not-a-uuid/", "/api/v2/batches/"])
def test_unknown_api_urls_are_problem_404(tech_client, path):
    assert_problem(tech_client.get(path), 404)


def test_pages_outside_the_api_keep_the_html_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/problem+json")


def test_wrong_method_is_405(tech_client):
    assert_problem(tech_client.delete(f"{API}/batches/"), 405)
    assert_problem(tech_client.get(f"{API}/collections/"), 405)


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"patient": "\x00", "protocol": "\x00"},
        {"patient": ["list"], "protocol": {"an": "object"}},
        {"patient": 12, "protocol": 12},
    ],
)
def test_odd_bodies_are_400_never_500(clinic_a_client, body):
    assert_problem(clinic_a_client.post(f"{API}/therapies/", body, format="json"), 400)


def test_odd_step_values_are_400_never_500(tech_client, batch_a):
    response = tech_client.post(
        f"{API}/batches/{batch_a.din}/steps/",
        {"kind": "receipt", "temperature_c": "1e400", "seal_intact": "maybe", "scanned_identifier": "\x00",
         "serum_collection": 7, "seeded_cells": 10**30},
        format="json",
    )  # fmt: skip
    assert {"temperature_c", "seal_intact", "scanned_identifier", "serum_collection"} <= set(
        assert_problem(response, 400)["errors"]
    )
