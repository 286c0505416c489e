"""A refused bedside scan is kept against the administration attempt, never on the batch record."""

import datetime as dt

import pytest
from django.utils import timezone

from batches.models import Batch, Dose, Patient
from compliance.models import AdministrationAttempt, AuditEntry, Infusion
from compliance.readiness import batch_readiness
from compliance.selectors import release_signature_valid
from compliance.services.scheduling import infusion_administer, infusion_schedule
from core.errors import DomainError
from tests.builders import Staff, released_batch
from tests.factories import scan

pytestmark = pytest.mark.django_db


def schedule_now(batch: Batch, actor: object) -> Infusion:
    """Patients injured 40 days ago are inside the sub-acute infusion window today."""
    Patient.objects.filter(pk=batch.therapy.patient_id).update(
        injury_date=timezone.localdate() - dt.timedelta(days=40)
    )
    return infusion_schedule(
        dose=batch.doses.get(),
        scheduled_for=timezone.now() + dt.timedelta(minutes=1),
        route="iv",
        actor=actor,
    )


def wrong_k(label: str) -> str:
    """The label with another check character: what a mistyped or misread K looks like."""
    return label[:13] + ("0" if label[13] != "0" else "1")


def test_two_refused_bedside_scans_leave_the_release_valid_and_the_right_scan_administers(staff: Staff):
    batch = released_batch(staff, injured_days_ago=20)
    infusion = schedule_now(batch, staff.qa)
    patient = batch.therapy.patient.code

    with pytest.raises(DomainError) as bad_k:
        infusion_administer(infusion=infusion, actor=staff.tech2, scanned_identifier=f"{wrong_k(scan(batch.din))}-1",
                            patient_code=patient)  # fmt: skip
    with pytest.raises(DomainError) as bad_patient:
        infusion_administer(infusion=infusion, actor=staff.tech2, scanned_identifier=f"{scan(batch.din)}-1",
                            patient_code="SOMEONE-ELSE")  # fmt: skip

    assert [b.code for b in bad_k.value.blockers + bad_patient.value.blockers] == ["identity_mismatch"] * 2
    assert release_signature_valid(batch) is True
    assert not batch.findings.exists()
    # The dose is held only by its own scheduled infusion: no signature, finding or release blocker.
    assert {b.code for b in batch_readiness(batch).blockers} == {"already_scheduled"}
    attempts = list(AdministrationAttempt.objects.filter(infusion=infusion).order_by("id"))
    assert [(a.attempted_by, a.refusal_code) for a in attempts] == [(staff.tech2, "identity_mismatch")] * 2
    assert attempts[0].scanned_identifier == f"{wrong_k(scan(batch.din))}-1"
    assert "check character" in attempts[0].refusal_detail.lower()
    assert (attempts[1].patient_code, "autologous only" in attempts[1].refusal_detail) == (
        "SOMEONE-ELSE",
        True,
    )
    trail = AuditEntry.objects.filter(table_name="compliance_administrationattempt", action="INSERT")
    assert {(e.actor_id, e.reason) for e in trail} == {(staff.tech2.pk, "identity check failed at bedside")}

    infusion_administer(infusion=infusion, actor=staff.tech2, scanned_identifier=f"{scan(batch.din)}-1",
                        patient_code=patient)  # fmt: skip

    batch.refresh_from_db()
    assert (batch.status, Dose.objects.get(batch=batch).status) == ("infused", "infused")
    assert Infusion.objects.get(pk=infusion.pk).status == "administered"
