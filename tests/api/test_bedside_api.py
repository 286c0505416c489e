"""Bedside scans over HTTP: a refusal is a 409 kept against the attempt; QA sees it; the release holds."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from batches.models import Patient
from compliance.services.scheduling import infusion_schedule
from compliance.tokens import token_issue
from tests.api.conftest import API, assert_problem, bearer
from tests.api.flows import post
from tests.builders import Staff, released_batch
from tests.factories import PASSWORD, scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db) -> Staff:
    return Staff.create()


def client_of(user):
    return bearer(token_issue(user=user)[1])


def released_and_scheduled(staff: Staff, clinic=None):
    batch = released_batch(staff, injured_days_ago=20)
    changes = {"injury_date": timezone.localdate() - dt.timedelta(days=40)}  # inside the window today
    Patient.objects.filter(pk=batch.therapy.patient_id).update(
        **changes, **({"clinic": clinic} if clinic else {})
    )
    infusion = infusion_schedule(
        dose=batch.doses.get(),
        scheduled_for=timezone.now() + dt.timedelta(minutes=1),
        route="iv",
        actor=staff.qa,
    )
    return batch, infusion


def test_refused_scans_are_409_listed_for_qa_and_the_right_scan_administers(staff, clinic_a):
    batch, infusion = released_and_scheduled(staff, clinic_a)
    bedside, qa, clinic = client_of(staff.tech2), client_of(staff.qa), bearer(token_issue(clinic=clinic_a)[1])
    label, patient = scan(batch.din), batch.therapy.patient.code
    wrong_k = label[:13] + ("0" if label[13] != "0" else "1")
    path = f"{API}/infusions/{infusion.pk}/administer"

    for scanned, wristband in ((f"{wrong_k}-1", patient), (f"{label}-1", "SOMEONE-ELSE")):
        refused = bedside.post(
            path, {"scanned_identifier": scanned, "patient_code": wristband}, format="json"
        )
        assert [b["code"] for b in assert_problem(refused, 409)["blockers"]] == ["identity_mismatch"]

    readiness = clinic.get(f"{API}/batches/{batch.din}/readiness").json()
    assert [b["code"] for b in readiness["blockers"]] == ["already_scheduled"]  # release still valid
    attempts = qa.get(f"{API}/batches/{batch.din}/administration-attempts/").json()
    assert [(a["attempted_by_name"], a["refusal_code"], a["dose"]) for a in attempts] == [
        ("Jiro Verifier", "identity_mismatch", f"{batch.din}-1")
    ] * 2
    assert [(a["scanned_identifier"], a["patient_code"]) for a in attempts] == [
        (f"{label}-1", "SOMEONE-ELSE"),
        (f"{wrong_k}-1", patient),
    ]  # newest first

    given = post(bedside, f"/infusions/{infusion.pk}/administer",
                 {"scanned_identifier": f"{label}-1", "patient_code": patient}, 200)  # fmt: skip
    assert given["status"] == "administered"
    assert [a["refusal_code"] for a in given["attempts"]] == ["identity_mismatch"] * 2


def add_attempts(staff: Staff, n: int) -> str:
    batch, infusion = released_and_scheduled(staff)
    bedside = client_of(staff.tech2)
    for _ in range(n):
        bedside.post(
            f"{API}/infusions/{infusion.pk}/administer", {"scanned_identifier": "NOT-A-LABEL"}, format="json"
        )
    return batch.din


@pytest.mark.parametrize("rows", [1, 20])
def test_attempt_list_queries_do_not_grow_with_rows(staff, rows):
    din = add_attempts(staff, rows)
    qa = client_of(staff.qa)
    qa.get(f"{API}/batches/{din}/administration-attempts/")  # warm-up: the token's last_used_at write
    with CaptureQueriesContext(connection) as queries:
        body = qa.get(f"{API}/batches/{din}/administration-attempts/").json()
    assert len(body) == rows
    # 1 token with its user and roles, 2 the batch (scoped), 3 attempts with scanner, infusion, dose and batch.
    assert len(queries) == 3


def test_release_endpoint_re_reviews_an_invalidated_release(staff, clinic_a):
    from batches.services import step_amend
    from tests.compliance.test_release_review import resign_invalid_items

    batch = released_batch(staff, injured_days_ago=20)
    Patient.objects.filter(pk=batch.therapy.patient_id).update(clinic=clinic_a)
    qa, clinic = client_of(staff.qa), bearer(token_issue(clinic=clinic_a)[1])
    at = timezone.make_aware(
        dt.datetime.combine(batch.therapy.patient.injury_date + dt.timedelta(days=35), dt.time(10))
    )
    release = f"{API}/batches/{batch.din}/release"
    readiness = f"{API}/batches/{batch.din}/readiness"

    still_valid = qa.post(
        release, {"password": PASSWORD, "decision": "release", "reason": "again"}, format="json"
    )
    assert [b["code"] for b in assert_problem(still_valid, 409)["blockers"]] == ["wrong_state"]
    step_amend(
        step=batch.steps.get(kind="harvest"), actor=staff.tech, reason="late fix", viable_cells=149_000_000
    )
    blockers = clinic.get(readiness, {"at": at.isoformat()}).json()["blockers"]
    assert [b["code"] for b in blockers] == ["signature_invalid"] and "(steps)" in blockers[0]["detail"]
    resign_invalid_items(batch, staff)

    body = post(qa, f"/batches/{batch.din}/release",
                {"password": PASSWORD, "decision": "release", "reason": "harvest correction reviewed"}, 200)  # fmt: skip

    assert (body["decision"], body["status"], body["meaning"]) == ("release", "released", "approved")
    assert clinic.get(readiness, {"at": at.isoformat()}).json()["ready"] is True
    assert batch.release_decisions.count() == 2
