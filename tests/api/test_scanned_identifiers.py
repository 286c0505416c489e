"""Identifiers over HTTP: ASCII only, one parser for URLs, fields and scans (issue 9 items 9, 11, 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from batches.models import Finding, Patient
from compliance.models import Infusion
from compliance.tokens import token_issue
from tests.api.conftest import API, assert_problem, bearer
from tests.builders import Staff, released_batch
from tests.factories import scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def released(db, clinic_a):
    batch = released_batch(Staff.create(), injured_days_ago=20)
    Patient.objects.filter(pk=batch.therapy.patient_id).update(clinic=clinic_a)
    return batch


@pytest.mark.parametrize("number", ["²", "١", "１"])
def test_a_dose_numbered_with_non_ascii_digits_schedules_nothing(released, clinic_a_client, number):
    response = clinic_a_client.post(
        f"{API}/infusions/",
        {"dose": f"{released.din}-{number}", "scheduled_for": (timezone.now() + dt.timedelta(days=15)).isoformat(),
         "route": "iv"},
        format="json",
    )  # fmt: skip

    assert "dose" in assert_problem(response, 400)["errors"]
    assert not Infusion.objects.exists()


@pytest.mark.parametrize("number", ["²", "١"])
def test_fhir_path_with_non_ascii_dose_number_is_404(released, clinic_a_client, number):
    response = clinic_a_client.get(f"{API}/fhir/BiologicallyDerivedProduct/{released.din}-{number}")
    assert_problem(response, 404)


def test_fhir_path_takes_the_dose_label_with_its_check_character(released, clinic_a_client):
    response = clinic_a_client.get(f"{API}/fhir/BiologicallyDerivedProduct/{scan(released.din)}-1")
    assert response.status_code == 200
    assert response.json()["id"] == f"{released.din}-1"


@pytest.mark.parametrize("suffix", ["²", "١", "\u00a0"])
def test_batch_url_with_a_non_ascii_fourteenth_character_is_404(released, clinic_a_client, suffix):
    assert_problem(clinic_a_client.get(f"{API}/batches/{released.din}{suffix}/"), 404)
    assert_problem(clinic_a_client.get(f"{API}/batches/{released.din}{suffix}/readiness"), 404)


def test_therapy_filter_with_a_malformed_coi_is_400_naming_it(released, clinic_a_client):
    response = clinic_a_client.get(f"{API}/batches/", {"therapy": "CHA99992600000١"})
    assert "therapy" in assert_problem(response, 400)["errors"]
    ok = clinic_a_client.get(f"{API}/batches/", {"therapy": released.therapy.coi.lower()})
    assert [b["din"] for b in ok.json()["results"]] == [released.din]


def test_custody_scan_with_repeated_data_identifier_is_refused_and_recorded(tech_client, batch_a, locations):
    scanned = f"======={scan(batch_a.din)}"  # 21 characters: passed the field, overflowed the column

    response = tech_client.post(
        f"{API}/batches/{batch_a.din}/custody/",
        {"to_location": "RECEIVING-1", "seal_intact": True, "scanned_identifier": scanned},
        format="json",
    )

    assert [b["code"] for b in assert_problem(response, 409)["blockers"]] == ["identity_mismatch"]
    assert not batch_a.custody_transfers.exists()
    assert Finding.objects.get(batch=batch_a).scanned_identifier == scanned


def test_custody_scan_of_the_isbt128_barcode_is_accepted_and_stored_normalised(
    tech_client, batch_a, locations
):
    response = tech_client.post(
        f"{API}/batches/{batch_a.din}/custody/",
        {
            "to_location": "RECEIVING-1",
            "seal_intact": True,
            "scanned_identifier": f" ={batch_a.din.lower()}00 ",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["scanned_identifier"] == f"={batch_a.din}00"
    assert batch_a.custody_transfers.get().scanned_identifier == f"={batch_a.din}00"


def test_step_scan_with_a_non_ascii_digit_is_refused_and_nothing_logged(tech_client, batch_a):
    response = tech_client.post(
        f"{API}/batches/{batch_a.din}/steps/",
        {"kind": "receipt", "temperature_c": 8, "seal_intact": True,
         "scanned_identifier": scan(batch_a.din)[:-1] + "١"},
        format="json",
    )  # fmt: skip

    assert [b["code"] for b in assert_problem(response, 409)["blockers"]] == ["identity_mismatch"]
    assert not batch_a.steps.exists()


def test_bedside_scan_with_a_non_ascii_dose_number_is_refused(released, user_client, clinic_a):
    from core.roles import Role

    clinic = bearer(token_issue(clinic=clinic_a)[1])
    infusion = clinic.post(
        f"{API}/infusions/",
        {"dose": f"{released.din}-1", "scheduled_for": (timezone.now() + dt.timedelta(days=15)).isoformat(),
         "route": "iv"},
        format="json",
    ).json()  # fmt: skip

    response = user_client(Role.TECHNICIAN).post(
        f"{API}/infusions/{infusion['id']}/administer",
        {"scanned_identifier": f"{scan(released.din)}-١"},
        format="json",
    )

    assert [b["code"] for b in assert_problem(response, 409)["blockers"]] == ["identity_mismatch"]
    assert Infusion.objects.get(pk=infusion["id"]).status == "scheduled"
