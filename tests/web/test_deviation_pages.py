"""Deviations in the web UI: opened from the batch page, investigated, assessed, closed with a signature."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compliance.models import Deviation, Signature
from compliance.services.deviations import deviation_open
from compliance.services.qc import qc_result_record
from tests.builders import formulated_batch
from tests.factories import PASSWORD
from tests.web.conftest import login


@pytest.fixture
def formulated(staff):
    return formulated_batch(staff)


@pytest.fixture
def oos(staff, formulated) -> Deviation:
    """The deviation a failed viability result opened (major: the batch is quarantined)."""
    qc_result_record(batch=formulated, test="viability", value=50, actor=staff.qc)
    return Deviation.objects.get(batch=formulated)


def _url(name, deviation):
    return reverse(name, args=[deviation.batch.din, deviation.pk])


@pytest.mark.parametrize("role", ["technician", "qc", "qa"])
def test_lab_staff_open_a_deviation_from_the_batch_page(client, users, formulated, role):
    login(client, users[role])
    assert "Open a deviation" in client.get(reverse("batches:detail", args=[formulated.din])).content.decode()

    response = client.post(
        reverse("compliance:deviation_open", args=[formulated.din]),
        {"severity": "minor", "description": "Incubator door left ajar for 2 minutes."},
        follow=True,
    )

    deviation = Deviation.objects.get(batch=formulated)
    assert (deviation.severity, deviation.opened_by) == ("minor", users[role])
    assert "Deviation opened." in response.content.decode()
    assert "Incubator door left ajar" in response.content.decode()


def test_opening_without_a_description_is_refused_and_opens_nothing(client, staff, formulated):
    login(client, staff.qa)

    response = client.post(reverse("compliance:deviation_open", args=[formulated.din]), {"severity": "major"})

    assert response.status_code == 422 and "This field is required." in response.content.decode()
    assert not Deviation.objects.exists()
    formulated.refresh_from_db()
    assert formulated.status == "pending_release"


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_other_roles_cannot_open_deviations(client, users, formulated, role):
    login(client, users[role])

    response = client.post(
        reverse("compliance:deviation_open", args=[formulated.din]), {"severity": "minor", "description": "x"}
    )

    assert response.status_code == 403 and not Deviation.objects.exists()


def test_an_oos_deviation_offers_no_close_form_until_investigated(client, staff, oos):
    login(client, staff.qa)

    page = client.get(_url("compliance:deviation", oos)).content.decode()

    assert "record the investigation and root cause above before it can be closed" in page
    assert _url("compliance:deviation_close", oos) not in page
    assert _url("compliance:deviation_investigate", oos) in page


def test_qa_investigates_records_the_root_cause_and_closes_with_a_signature(client, staff, oos):
    login(client, staff.qa)

    client.post(
        _url("compliance:deviation_investigate", oos),
        {"investigation": "Sample re-counted; haemocytometer mis-read.", "root_cause": "Counting error"},
    )
    wrong = client.post(
        _url("compliance:deviation_close", oos),
        {
            "impact_assessment": "No product impact.",
            "capa": "Retrain; automated counter.",
            "password": "nope",
        },
    )
    closed = client.post(
        _url("compliance:deviation_close", oos),
        {
            "impact_assessment": "No product impact.",
            "capa": "Retrain; automated counter.",
            "password": PASSWORD,
        },
        follow=True,
    )

    assert wrong.status_code == 403 and "password is not correct" in wrong.content.decode()
    oos.refresh_from_db()
    assert oos.status == "closed" and oos.root_cause == "Counting error"
    assert oos.closure_signature.content["root_cause"] == "Counting error"
    page = closed.content.decode()
    assert "Deviation closed." in page and "Hanako QA" in page and "Counting error" in page
    assert "Retrain; automated counter." in page


def test_a_wrong_password_changes_nothing(client, staff, oos):
    login(client, staff.qa)
    client.post(_url("compliance:deviation_investigate", oos), {"investigation": "Done", "root_cause": "X"})

    client.post(
        _url("compliance:deviation_close", oos),
        {"impact_assessment": "None", "capa": "None", "password": "bad"},
    )

    oos.refresh_from_db()
    assert oos.status == "open" and oos.capa == "" and oos.closure_signature is None
    assert not Signature.objects.filter(record_type="deviation_closure").exists()


def test_investigation_needs_both_texts(client, staff, oos):
    login(client, staff.qc)

    response = client.post(_url("compliance:deviation_investigate", oos), {"investigation": "Looked."})

    assert response.status_code == 422 and "This field is required." in response.content.decode()
    oos.refresh_from_db()
    assert oos.investigation == ""


def test_qc_may_investigate_but_not_close(client, staff, oos):
    login(client, staff.qc)

    page = client.get(_url("compliance:deviation", oos)).content.decode()
    refused = client.post(
        _url("compliance:deviation_close", oos), {"impact_assessment": "a", "capa": "b", "password": PASSWORD}
    )

    assert _url("compliance:deviation_investigate", oos) in page
    assert refused.status_code == 403


def test_qa_signs_the_impact_assessment_of_a_minor_deviation(client, staff, formulated):
    deviation = deviation_open(
        batch=formulated, severity="minor", description="Label smudged", actor=staff.tech
    )
    login(client, staff.qa)

    response = client.post(
        _url("compliance:deviation_assess", deviation),
        {"impact_assessment": "Legible after reprint; no impact.", "password": PASSWORD},
        follow=True,
    )

    deviation.refresh_from_db()
    assert deviation.assessment_signature.signer == staff.qa
    assert "Impact assessment signed." in response.content.decode()
    assert _url("compliance:deviation_assess", deviation) not in response.content.decode()


def test_a_closed_deviation_shows_no_forms(client, staff, formulated):
    deviation = deviation_open(
        batch=formulated, severity="minor", description="Label smudged", actor=staff.tech
    )
    login(client, staff.qa)
    client.post(
        _url("compliance:deviation_close", deviation),
        {"impact_assessment": "None", "capa": "Reprint", "password": PASSWORD},
    )

    page = client.get(_url("compliance:deviation", deviation)).content.decode()

    assert 'method="post" action="/batches/' not in page.split("<main>")[1]


def test_qa_worklist_lists_the_open_deviation(client, staff, oos):
    login(client, staff.qa)

    page = client.get(reverse("batches:worklists")).content.decode()

    assert _url("compliance:deviation", oos) in page.split('id="worklist-qa-deviations"')[1]


def test_deviation_of_another_batch_is_not_found(client, staff, oos):
    from tests.web.conftest import new_batch

    other = new_batch()
    login(client, staff.qa)

    assert client.get(reverse("compliance:deviation", args=[other.din, oos.pk])).status_code == 404
