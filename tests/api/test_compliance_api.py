"""QC, checklist, release, readiness, infusions and FHIR over HTTP: the clinic's and QA's side."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from fhir.resources.biologicallyderivedproduct import BiologicallyDerivedProduct

from api import fhir
from batches.models import Patient
from compliance.models import Infusion
from compliance.tokens import token_issue
from core.roles import Role
from tests.api.conftest import API, assert_problem, bearer
from tests.api.flows import post
from tests.builders import GOOD_QC, Staff, formulated_batch, released_batch
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db) -> Staff:
    return Staff.create()


def client_of(user):
    return bearer(token_issue(user=user)[1])


def sign(client, din, item, meaning, expect=201):
    return post(
        client, f"/batches/{din}/checklist/{item}/sign", {"password": PASSWORD, "meaning": meaning}, expect
    )


def test_qc_checklist_release_readiness_schedule_fhir_and_bedside_over_http(staff, clinic_a):
    from tests.api.flows import register_and_process
    from tests.factories import LocationFactory

    LocationFactory(code="RECEIVING-1")
    clinic = bearer(token_issue(clinic=clinic_a)[1])
    tech, tech2, qc, qa, qa2 = (
        client_of(u) for u in (staff.tech, staff.tech2, staff.qc, staff.qa, staff.qa2)
    )
    flow = register_and_process(clinic, tech, injured_days_ago=29)  # infusion window opens on day 31
    din = flow["din"]

    for test, outcome in GOOD_QC.items():
        body = {"test": test, **({"result": outcome} if isinstance(outcome, str) else {"value": outcome})}
        assert post(qc, f"/batches/{din}/qc-results/", body)["within_spec"] is True

    checklist = tech.get(f"{API}/batches/{din}/checklist/").json()
    assert (checklist["template"], checklist["version"], checklist["complete"]) == ("GCTP-RELEASE", 1, False)
    signers = {"technician": (tech, tech2), "qc": (qc, qa2), "qa": (qa2, None)}
    for item in checklist["items"]:
        reviewer, verifier = signers[item["role"]]
        manifestation = sign(reviewer, din, item["code"], "reviewed")
        assert {"signed_by_name", "signed_at", "meaning"} <= set(manifestation)
        if item["requires_second_person"]:
            sign(verifier, din, item["code"], "verified")
    assert tech.get(f"{API}/batches/{din}/checklist/").json()["complete"] is True

    released = post(qa, f"/batches/{din}/release", {"password": PASSWORD, "decision": "release"}, 200)
    assert (released["signed_by_name"], released["meaning"], released["status"]) == (
        "Hanako QA",
        "approved",
        "released",
    )

    scheduled_for = timezone.now() + dt.timedelta(days=3)
    when = scheduled_for.isoformat()
    today = clinic.get(f"{API}/batches/{din}/readiness").json()
    assert [b["code"] for b in today["blockers"]] == ["outside_window"]  # day 29: the window opens on day 31
    readiness = clinic.get(f"{API}/batches/{din}/readiness", {"at": when}).json()
    assert readiness["ready"] is True and readiness["blockers"] == []
    dose_id = readiness["doses"][0]["dose_id"]
    infusion = post(clinic, "/infusions/", {"dose": dose_id, "scheduled_for": when, "route": "iv"})
    assert infusion["status"] == "scheduled"
    again = clinic.post(
        f"{API}/infusions/", {"dose": dose_id, "scheduled_for": when, "route": "iv"}, format="json"
    )
    assert [b["code"] for b in assert_problem(again, 409)["blockers"]] == ["already_scheduled"]

    product = clinic.get(f"{API}/fhir/BiologicallyDerivedProduct/{dose_id}")
    assert product["Content-Type"].startswith("application/fhir+json")
    resource = BiologicallyDerivedProduct.model_validate(product.json())
    assert resource.biologicalSourceEvent.system == fhir.DIN_SYSTEM
    assert resource.productStatus.code == "unavailable"  # scheduled: not available to anyone else

    with time_machine.travel(scheduled_for + dt.timedelta(minutes=10)):
        given = post(tech2, f"/infusions/{infusion['id']}/administer", {"scanned_identifier": f"{flow['label']}-1",
                     "patient_code": "KEIO-0042"}, 200)  # fmt: skip
    assert given["status"] == "administered"
    assert clinic.get(f"{API}/batches/{din}/").json()["status"] == "infused"
    with time_machine.travel(scheduled_for + dt.timedelta(days=7)):
        follow_up = post(tech2, f"/infusions/{infusion['id']}/observations/", {
            "kind": "follow_up", "observed_at": timezone.now().isoformat(), "description": "Day 7: stable",
        })  # fmt: skip
    assert follow_up["kind"] == "follow_up"


def test_reschedule_over_http_keeps_one_active_infusion(staff, clinic_a):
    batch = released_batch(staff, injured_days_ago=20)
    Patient.objects.filter(pk=batch.therapy.patient_id).update(clinic=clinic_a)
    clinic = bearer(token_issue(clinic=clinic_a)[1])
    first_time = timezone.now() + dt.timedelta(days=15)
    first = post(
        clinic,
        "/infusions/",
        {"dose": f"{batch.din}-1", "scheduled_for": first_time.isoformat(), "route": "iv"},
    )

    moved = post(clinic, f"/infusions/{first['id']}/reschedule", {
        "scheduled_for": (first_time + dt.timedelta(days=1)).isoformat(), "reason": "flight moved",
    })  # fmt: skip

    assert moved["rescheduled_from"] == first["id"] and moved["status"] == "scheduled"
    assert Infusion.objects.get(pk=first["id"]).status == "cancelled"
    refused = clinic.post(
        f"{API}/infusions/{moved['id']}/reschedule",
        {"scheduled_for": first_time.isoformat(), "reason": ""},
        format="json",
    )
    assert "reason" in assert_problem(refused, 400)["errors"]


def test_readiness_lists_every_blocker_and_honours_at(staff, clinic_a):
    batch = formulated_batch(staff)
    Patient.objects.filter(pk=batch.therapy.patient_id).update(clinic=clinic_a)
    clinic = bearer(token_issue(clinic=clinic_a)[1])

    body = clinic.get(f"{API}/batches/{batch.din}/readiness").json()
    codes = [b["code"] for b in body["blockers"]]
    assert body["ready"] is False and body["status"] == "pending_release"
    assert codes[0] == "not_released" and "qc_pending" in codes and "outside_window" in codes
    assert {"code": "qc_pending", "detail": "sterility result missing"} in body["blockers"]
    assert body["projected_ready_on"]
    bad = clinic.get(f"{API}/batches/{batch.din}/readiness?at=tomorrow")
    assert "at" in assert_problem(bad, 400)["errors"]


def test_another_clinic_sees_nothing(staff, clinic_b):
    batch = released_batch(staff)
    other = bearer(token_issue(clinic=clinic_b)[1])
    dose_id = f"{batch.din}-1"

    assert_problem(other.get(f"{API}/batches/{batch.din}/readiness"), 404)
    assert_problem(other.get(f"{API}/fhir/BiologicallyDerivedProduct/{dose_id}"), 404)
    scheduled = other.post(
        f"{API}/infusions/",
        {"dose": dose_id, "scheduled_for": timezone.now().isoformat(), "route": "iv"},
        format="json",
    )
    assert_problem(scheduled, 404)
    assert not Infusion.objects.exists()


def test_wrong_password_is_403_and_five_lock_signing(staff):
    batch = formulated_batch(staff)
    qa = client_of(staff.qa)
    for _ in range(5):
        response = qa.post(
            f"{API}/batches/{batch.din}/release",
            {"password": "nope", "decision": "reject", "reason": "x"},
            format="json",
        )
        assert_problem(response, 403)
    locked = qa.post(
        f"{API}/batches/{batch.din}/release",
        {"password": PASSWORD, "decision": "reject", "reason": "x"},
        format="json",
    )
    assert "locked" in assert_problem(locked, 403)["detail"]


def test_release_refused_lists_blockers(staff):
    batch = formulated_batch(staff)
    response = client_of(staff.qa).post(
        f"{API}/batches/{batch.din}/release", {"password": PASSWORD, "decision": "release"}, format="json"
    )
    codes = {b["code"] for b in assert_problem(response, 409)["blockers"]}
    assert {"checklist_incomplete", "qc_pending"} <= codes


def test_oos_deviation_close_over_http(staff):
    batch = formulated_batch(staff)
    qc, qa = client_of(staff.qc), client_of(staff.qa)
    result = post(qc, f"/batches/{batch.din}/qc-results/", {"test": "viability", "value": 50})
    assert result["within_spec"] is False and result["deviation"]

    refused = qa.post(
        f"{API}/deviations/{result['deviation']}/close",
        {"password": PASSWORD, "impact_assessment": "a", "capa": "b"},
        format="json",
    )
    assert [b["code"] for b in assert_problem(refused, 409)["blockers"]] == ["investigation_required"]
    post(qa, f"/deviations/{result['deviation']}/investigation", {"investigation": "Sampling error"}, 200)
    closed = post(
        qa,
        f"/deviations/{result['deviation']}/close",
        {"password": PASSWORD, "impact_assessment": "None", "capa": "Retrain"},
        200,
    )

    assert closed["status"] == "closed"
    assert closed["closure_signature"]["meaning"] == "approved"
    manual = post(
        client_of(staff.tech),
        f"/batches/{batch.din}/deviations/",
        {"severity": "minor", "description": "Late entry"},
    )
    assert manual["status"] == "open"


def test_fhir_codes_come_from_the_r5_value_sets(staff):
    batch = released_batch(staff)
    resource = client_of(staff.qa).get(f"{API}/fhir/BiologicallyDerivedProduct/{batch.din}-1").json()

    BiologicallyDerivedProduct.model_validate(resource)
    assert resource["productCategory"]["code"] in fhir.CATEGORIES
    assert resource["productCategory"]["system"] == "http://hl7.org/fhir/product-category"
    assert resource["productStatus"]["code"] in fhir.STATUSES
    assert resource["productStatus"]["system"] == "http://hl7.org/fhir/biologicallyderived-product-status"
    assert resource["expirationDate"].startswith(str(batch.doses.get().expires_at.date())[:4])
    assert resource["division"] == "1"


def test_user_roles_on_compliance_endpoints(staff, user_client, clinic_b):
    batch = formulated_batch(staff)
    tech = client_of(staff.tech)
    assert_problem(
        tech.post(
            f"{API}/batches/{batch.din}/qc-results/", {"test": "viability", "value": 90}, format="json"
        ),
        403,
    )
    assert_problem(
        tech.post(
            f"{API}/batches/{batch.din}/release", {"password": PASSWORD, "decision": "release"}, format="json"
        ),
        403,
    )
    coordinator = user_client(Role.COORDINATOR, clinic_b)
    assert_problem(coordinator.get(f"{API}/batches/{batch.din}/checklist/"), 404)  # not their clinic
