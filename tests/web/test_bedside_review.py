"""QA on the web: refused bedside scans on the batch page; re-review of an invalidated release."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from batches.models import Patient
from batches.services import step_amend
from compliance.models import ReleaseDecision
from compliance.services.scheduling import infusion_administer, infusion_schedule
from core.errors import DomainError
from tests.builders import released_batch
from tests.compliance.test_release_review import resign_invalid_items
from tests.factories import PASSWORD
from tests.web.conftest import login


def test_qa_sees_refused_bedside_scans_on_the_batch_page(client, staff):
    batch = released_batch(staff, injured_days_ago=20)
    Patient.objects.filter(pk=batch.therapy.patient_id).update(
        injury_date=timezone.localdate() - dt.timedelta(days=40)
    )
    infusion = infusion_schedule(
        dose=batch.doses.get(),
        scheduled_for=timezone.now() + dt.timedelta(minutes=1),
        route="iv",
        actor=staff.qa,
    )
    with pytest.raises(DomainError, match="not a dose label"):
        infusion_administer(infusion=infusion, actor=staff.tech2, scanned_identifier="WRONG-LABEL")

    page = login(client, staff.qa).get(reverse("batches:detail", args=[batch.din])).content.decode()

    assert "Refused bedside scans" in page and "WRONG-LABEL" in page and "Jiro Verifier" in page
    assert "changed after the QA release signature" not in page  # the release still holds


def test_qa_re_reviews_an_invalidated_release_on_the_release_page(client, staff):
    batch = released_batch(staff, injured_days_ago=20)
    step_amend(
        step=batch.steps.get(kind="harvest"), actor=staff.tech, reason="late fix", viable_cells=149_000_000
    )
    resign_invalid_items(batch, staff)
    login(client, staff.qa)

    page = client.get(reverse("compliance:checklist", args=[batch.din])).content.decode()
    assert "QA re-review of the release" in page and "INVALID" in page

    response = client.post(
        reverse("compliance:release", args=[batch.din]),
        {"decision": "release", "reason": "correction reviewed", "password": PASSWORD},
        follow=True,
    )

    page = response.content.decode()
    assert response.status_code == 200 and "Earlier decisions (1)" in page
    assert "QA re-review of the release" not in page
    assert ReleaseDecision.objects.filter(batch=batch).count() == 2
