"""Corrections of logged steps from the batch page: a new step amends the original, with a reason."""

from __future__ import annotations

import pytest
from django.urls import reverse

from batches.models import CultureStep
from tests.builders import formulated_batch
from tests.web.conftest import login


@pytest.fixture
def formulated(staff):
    return formulated_batch(staff)


def _count(batch) -> CultureStep:
    return CultureStep.objects.get(batch=batch, kind="cell_count", amends__isnull=True)


def _correct(client, step, **data):
    return client.post(reverse("batches:step_correct", args=[step.batch.din, step.pk]), data, follow=True)


def test_the_batch_page_offers_a_correction_for_each_current_step(client, staff, formulated):
    login(client, staff.tech)

    page = client.get(reverse("batches:detail", args=[formulated.din])).content.decode()

    assert reverse("batches:step_correct", args=[formulated.din, _count(formulated).pk]) in page
    formulation = CultureStep.objects.get(batch=formulated, kind="formulation")
    assert reverse("batches:step_correct", args=[formulated.din, formulation.pk]) not in page


def test_the_form_starts_from_the_logged_values(client, staff, formulated):
    login(client, staff.tech)
    step = _count(formulated)

    page = client.get(reverse("batches:step_correct", args=[formulated.din, step.pk])).content.decode()

    assert 'value="60000000"' in page and 'name="reason"' in page and 'name="scanned_identifier"' not in page


def test_technician_corrects_a_count_with_a_reason_and_the_original_stays(client, staff, formulated):
    login(client, staff.tech)
    step = _count(formulated)

    response = _correct(
        client, step, viable_cells="65000000", viability_pct="94", reason="Transcription error"
    )

    correction = CultureStep.objects.get(amends=step)
    assert (correction.viable_cells, correction.amendment_reason) == (65_000_000, "Transcription error")
    assert correction.performed_by == staff.tech
    step.refresh_from_db()
    assert step.viable_cells == 60_000_000  # never edited
    page = response.content.decode()
    assert "Cell count corrected." in page and "Transcription error" in page and "amended" in page


def test_a_correction_without_a_reason_is_refused_and_changes_nothing(client, staff, formulated):
    login(client, staff.tech)
    step = _count(formulated)

    response = _correct(client, step, viable_cells="65000000", viability_pct="94", reason="")

    assert response.status_code == 422 and "This field is required." in response.content.decode()
    assert not CultureStep.objects.filter(amends=step).exists()


def test_a_step_already_corrected_is_refused(client, staff, formulated):
    login(client, staff.tech)
    step = _count(formulated)
    _correct(client, step, viable_cells="65000000", viability_pct="94", reason="First")

    response = _correct(client, step, viable_cells="66000000", viability_pct="94", reason="Second")

    assert response.status_code == 422
    assert "already corrected" in response.content.decode()
    assert CultureStep.objects.filter(amends=step).count() == 1


@pytest.mark.parametrize("role", ["qc", "coordinator", "admin"])
def test_other_roles_cannot_correct_steps(client, users, formulated, role):
    login(client, users[role])
    step = _count(formulated)

    response = client.post(
        reverse("batches:step_correct", args=[formulated.din, step.pk]),
        {"viable_cells": "1", "viability_pct": "1", "reason": "x"},
    )

    assert response.status_code in (403, 404)
    assert not CultureStep.objects.filter(amends=step).exists()
