"""Scheduling and bedside administration: ready doses only, one infusion per dose, own patient only."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from batches.models import Batch, Dose
from batches.services import step_amend
from compliance.models import Infusion
from compliance.readiness import batch_readiness
from compliance.services.scheduling import (
    infusion_administer,
    infusion_cancel,
    infusion_reschedule,
    infusion_schedule,
    observation_record,
)
from core.errors import DomainError
from tests.builders import Staff, formulated_batch, released_batch
from tests.factories import coordinator_of, scan

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def in_window(batch: Batch) -> dt.datetime:
    """A time inside the sub-acute infusion window (day 31-180 after injury), before expiry."""
    injury = batch.therapy.patient.injury_date
    return timezone.make_aware(dt.datetime.combine(injury + dt.timedelta(days=35), dt.time(10)))


def codes(error) -> set[str]:
    return {b.code for b in error.value.blockers}


@pytest.fixture
def released(staff):
    return released_batch(staff, injured_days_ago=20)


def test_schedule_a_ready_dose(released, staff):
    dose = released.doses.get()
    infusion = infusion_schedule(dose=dose, scheduled_for=in_window(released), route="iv", actor=staff.qa)
    assert infusion.status == "scheduled"
    assert codes_of(batch_readiness(released, in_window(released))) == {"already_scheduled"}


def codes_of(answer) -> set[str]:
    return {b.code for b in answer.blockers}


def test_scheduling_outside_the_window_or_on_the_wrong_route_is_refused(released, staff):
    dose = released.doses.get()
    too_early = in_window(released) - dt.timedelta(days=10)  # day 25 after injury
    with pytest.raises(DomainError) as refused:
        infusion_schedule(dose=dose, scheduled_for=too_early, route="intrathecal", actor=staff.qa)
    assert codes(refused) == {"outside_window", "wrong_route"}
    assert not Infusion.objects.exists()


def test_not_released_dose_cannot_be_scheduled(staff):
    batch = formulated_batch(staff, injured_days_ago=20)
    with pytest.raises(DomainError) as refused:
        infusion_schedule(dose=batch.doses.get(), scheduled_for=in_window(batch), route="iv", actor=staff.qa)
    assert {"not_released", "qc_pending"} <= codes(refused)


def test_after_expiry_a_dose_is_not_ready(released, staff):
    dose = released.doses.get()
    Dose.objects.filter(pk=dose.pk).update(expires_at=in_window(released) - DAY)
    with pytest.raises(DomainError) as refused:
        infusion_schedule(dose=dose, scheduled_for=in_window(released), route="iv", actor=staff.qa)
    assert codes(refused) == {"expired"}


def test_a_changed_record_after_release_blocks_scheduling(released, staff):
    step_amend(
        step=released.steps.get(kind="harvest"), actor=staff.tech, reason="late fix", viable_cells=149_000_000
    )
    with pytest.raises(DomainError) as refused:
        infusion_schedule(
            dose=released.doses.get(), scheduled_for=in_window(released), route="iv", actor=staff.qa
        )
    assert codes(refused) == {"signature_invalid"}


def test_cancel_and_reschedule_keep_one_active_infusion(released, staff):
    dose = released.doses.get()
    first = infusion_schedule(dose=dose, scheduled_for=in_window(released), route="iv", actor=staff.qa)

    second = infusion_reschedule(
        infusion=first, scheduled_for=in_window(released) + DAY, reason="patient flight moved", actor=staff.qa
    )

    first.refresh_from_db()
    assert (first.status, second.status, second.rescheduled_from) == ("cancelled", "scheduled", first)
    with pytest.raises(DomainError, match="reason"):
        infusion_cancel(infusion=second, reason="", actor=staff.qa)
    infusion_cancel(infusion=second, reason="patient unwell", actor=staff.qa)
    assert Infusion.objects.filter(dose=dose, status="scheduled").count() == 0


def test_administer_at_the_bedside_moves_the_batch_to_infused(released, staff):
    dose = released.doses.get()
    infusion = _schedule_now(released, dose)

    infusion_administer(infusion=infusion, actor=staff.tech2, scanned_identifier=f"{scan(released.din)}-1",
                        patient_code=released.therapy.patient.code)  # fmt: skip

    released.refresh_from_db()
    assert released.status == "infused"
    assert Dose.objects.get(pk=dose.pk).status == "infused"
    observation = observation_record(infusion=Infusion.objects.get(pk=infusion.pk), kind="follow_up",
                                     observed_at=timezone.now(), description="Day 7: stable, rehab started", actor=staff.qa)  # fmt: skip
    assert observation.kind == "follow_up"


def _schedule_now(batch: Batch, dose: Dose) -> Infusion:
    """Patients injured 40 days ago are inside the window today."""
    from batches.models import Patient

    Patient.objects.filter(pk=batch.therapy.patient_id).update(
        injury_date=timezone.localdate() - dt.timedelta(days=40)
    )
    coordinator = coordinator_of(batch.therapy.patient.clinic)
    return infusion_schedule(
        dose=dose, scheduled_for=timezone.now() + dt.timedelta(minutes=1), route="iv", actor=coordinator
    )


def test_wrong_dose_or_wrong_patient_at_the_bedside_is_refused_and_recorded(released, staff):
    dose = released.doses.get()
    infusion = _schedule_now(released, dose)

    with pytest.raises(DomainError, match="wrong item"):
        infusion_administer(
            infusion=infusion, actor=staff.tech2, scanned_identifier=f"{scan(released.din)}-2"
        )
    with pytest.raises(DomainError, match="autologous only"):
        infusion_administer(
            infusion=infusion,
            actor=staff.tech2,
            scanned_identifier=f"{scan(released.din)}-1",
            patient_code="SOMEONE-ELSE",
        )

    assert not released.findings.exists()  # kept against the infusion, not the batch record
    assert Infusion.objects.get(pk=infusion.pk).attempts.count() == 2
    assert Infusion.objects.get(pk=infusion.pk).status == "scheduled"


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_schedules_of_one_dose_yield_exactly_one_infusion():
    staff = Staff.create()
    batch = released_batch(staff, injured_days_ago=20)
    dose, when = batch.doses.get(), in_window(batch)
    barrier, outcomes = threading.Barrier(20), []

    def attempt() -> None:
        try:
            barrier.wait()
            infusion_schedule(dose=dose, scheduled_for=when, route="iv", actor=staff.qa)
            outcomes.append("scheduled")
        except DomainError as error:
            outcomes.append(",".join(b.code for b in error.blockers))
        except Exception as error:
            outcomes.append(f"error: {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already_scheduled"] * 19 + ["scheduled"]
    assert Infusion.objects.filter(dose=dose, status="scheduled").count() == 1
