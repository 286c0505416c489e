"""QA at the checklist: signing items with the password, release with its manifestation, QA forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from batches.models import Finding
from compliance.models import Deviation, ReleaseDecision, Signature
from compliance.services.deviations import deviation_open
from tests.builders import formulated_batch, record_qc, sign_checklist
from tests.factories import PASSWORD
from tests.web.conftest import login, new_batch


@pytest.fixture
def formulated(staff):
    return formulated_batch(staff)


def _sign(client, batch, code, password, meaning="reviewed"):
    url = reverse("compliance:checklist_sign", args=[batch.din, code])
    return client.post(url, {"meaning": meaning, "password": password}, follow=True)


def test_qa_signs_a_checklist_item_with_the_password(client, staff, formulated):
    login(client, staff.qa)

    response = _sign(client, formulated, "deviations_closed", PASSWORD)

    signature = Signature.objects.get(record_id=f"{formulated.din}:deviations_closed")
    assert (signature.signer, signature.meaning) == (staff.qa, "reviewed")
    page = response.content.decode()
    assert "Item deviations_closed signed as reviewed." in page
    assert "Hanako QA" in page and "VALID" in page


def test_wrong_password_shows_the_error_and_signs_nothing(client, staff, formulated):
    login(client, staff.qa)

    response = _sign(client, formulated, "deviations_closed", "not-my-password")

    assert response.status_code == 403
    assert "password is not correct" in response.content.decode()
    assert not Signature.objects.filter(record_type="checklist_item").exists()
    assert "not-my-password" not in response.content.decode()  # never rendered back


def test_lockout_message_after_five_wrong_passwords(client, staff, formulated):
    login(client, staff.qa)
    for _ in range(5):
        _sign(client, formulated, "deviations_closed", "wrong")

    response = _sign(client, formulated, "deviations_closed", PASSWORD)

    assert "Signing is locked after 5 wrong passwords" in response.content.decode()
    assert not Signature.objects.filter(record_type="checklist_item").exists()


def test_a_refused_signature_says_why(client, staff, formulated):
    login(client, staff.qa)

    response = _sign(client, formulated, "batch_record_complete", PASSWORD)  # a technician's item

    assert response.status_code == 403
    assert "is reviewed by technician staff" in response.content.decode()
    assert not Signature.objects.filter(record_type="checklist_item").exists()


def test_qa_releases_a_prepared_batch_and_sees_the_manifestation(client, staff, formulated):
    record_qc(formulated, staff)
    sign_checklist(formulated, staff)
    login(client, staff.qa)
    assert (
        "Nothing blocks release."
        in client.get(reverse("compliance:checklist", args=[formulated.din])).content.decode()
    )

    response = client.post(
        reverse("compliance:release", args=[formulated.din]),
        {"decision": "release", "reason": "", "password": PASSWORD},
        follow=True,
    )

    formulated.refresh_from_db()
    assert formulated.status == "released"
    decision = ReleaseDecision.objects.get(batch=formulated)
    page = response.content.decode()
    assert "Released" in page and "Hanako QA" in page and "Approved" in page and "VALID" in page
    assert f"{decision.signature.signed_at:%Y}" in page
    assert 'action="/batches/' not in page.split("QA decision")[-1]  # no second decision form


def test_release_is_refused_with_every_blocker(client, staff, formulated):
    login(client, staff.qa)

    response = client.post(
        reverse("compliance:release", args=[formulated.din]),
        {"decision": "release", "password": PASSWORD},
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "viability result missing" in page and "Checklist item &#x27;qc_within_spec&#x27;" in page
    formulated.refresh_from_db()
    assert formulated.status == "pending_release"
    assert not ReleaseDecision.objects.exists()


def test_qa_assesses_a_finding_from_the_batch_page(client, staff, batch):
    login(client, staff.tech)
    data = {"kind": "receipt", "scanned_identifier": "X", "temperature_c": "8", "seal_intact": "yes"}
    client.post(reverse("batches:step_log", args=[batch.din]), data)
    finding = Finding.objects.get(batch=batch)
    login(client, staff.qa)
    url = reverse("compliance:finding_assess", args=[batch.din, finding.pk])

    wrong = client.post(url, {"assessment": "Mis-scan, right item.", "password": "nope"})
    ok = client.post(url, {"assessment": "Mis-scan, right item.", "password": PASSWORD}, follow=True)

    assert wrong.status_code == 403 and "password is not correct" in wrong.content.decode()
    finding.refresh_from_db()
    assert (finding.assessed_by, finding.assessment) == (staff.qa, "Mis-scan, right item.")
    assert "Assessed by Hanako QA" in ok.content.decode()


def test_qa_closes_a_deviation_from_the_batch_page(client, staff):
    batch = new_batch()
    deviation = deviation_open(batch=batch, severity="minor", description="Label smudged", actor=staff.qa)
    login(client, staff.qa)
    url = reverse("compliance:deviation_close", args=[batch.din, deviation.pk])
    assert "Label smudged" in client.get(reverse("batches:detail", args=[batch.din])).content.decode()

    refused = client.post(url, {"impact_assessment": "None", "capa": "", "password": PASSWORD})
    closed = client.post(
        url, {"impact_assessment": "None", "capa": "Relabel", "password": PASSWORD}, follow=True
    )

    assert refused.status_code == 422 and "This field is required." in refused.content.decode()
    deviation.refresh_from_db()
    assert deviation.status == Deviation.Status.CLOSED
    assert "Deviation closed." in closed.content.decode()
