"""The web scan fields read identifiers with the same parser as the API (issue 9 items 9, 11, 15)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from batches.models import CultureStep, CustodyTransfer, Finding, Location
from tests.factories import LocationFactory, scan
from tests.web.conftest import login


def _custody(client, batch, scanned: str):
    box = LocationFactory(code="SHIPPER-1", kind=Location.Kind.TRANSPORT)
    data = {
        "to_location": box.pk,
        "temperature_c": "6.5",
        "seal_intact": "yes",
        "scanned_identifier": scanned,
    }
    return client.post(reverse("batches:custody_log", args=[batch.din]), data, follow=True)


def test_custody_form_accepts_the_isbt128_barcode_data_and_stores_it_normalised(client, staff, batch):
    login(client, staff.tech)

    response = _custody(client, batch, f"={batch.din.lower()}00")

    assert "Custody transfer #1 to SHIPPER-1 recorded." in response.content.decode()
    assert CustodyTransfer.objects.get(batch=batch).scanned_identifier == f"={batch.din}00"


def test_step_form_accepts_the_isbt128_barcode_data(client, staff, batch):
    login(client, staff.tech)
    data = {
        "kind": "receipt",
        "scanned_identifier": f"={batch.din}00",
        "temperature_c": "8",
        "seal_intact": "yes",
    }

    client.post(reverse("batches:step_log", args=[batch.din]), data)

    assert CultureStep.objects.get(batch=batch).scanned_identifier == f"={batch.din}00"


@pytest.mark.parametrize(
    "misread",
    [
        lambda label: "=======" + label,  # repeated data identifier: 21 characters, the column holds 20
        lambda label: label + "²",
        lambda label: label[:-2] + "６" + label[-1],  # a fullwidth digit in the sequence
    ],
    ids=["repeated-equals", "superscript", "fullwidth"],
)
def test_custody_form_refuses_a_malformed_scan_in_words_and_keeps_only_the_finding(
    client, staff, batch, misread
):
    login(client, staff.tech)

    response = _custody(client, batch, misread(scan(batch.din)))

    assert response.status_code == 422
    assert not CustodyTransfer.objects.filter(batch=batch).exists()
    assert Finding.objects.get(batch=batch).kind == Finding.Kind.IDENTITY_MISMATCH
