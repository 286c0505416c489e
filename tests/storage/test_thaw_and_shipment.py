"""Thaw, the post-thaw window in readiness, bedside administration by unit, and dry-shipper shipments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from batches.models import CustodyTransfer, Location
from compliance.readiness import batch_readiness, readiness_report
from compliance.services.scheduling import infusion_administer, infusion_schedule
from compliance.services.storage import shipment_assess
from core.errors import DomainError
from storage.models import DoseUnit, Thaw
from storage.services import shipment_arrive, shipment_depart, unit_thaw
from tests.factories import PASSWORD, LocationFactory, coordinator_of
from tests.storage.conftest import build_tank, released_frozen_batch, remove

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


def day_35(batch) -> dt.datetime:
    """10:00 on day 35 after the injury: inside the sub-acute infusion window, before the frozen expiry."""
    injury = batch.therapy.patient.injury_date
    return timezone.make_aware(dt.datetime.combine(injury + dt.timedelta(days=35), dt.time(10)))


def codes(answer) -> set[str]:
    return {b.code for b in answer.blockers}


def test_readiness_turns_false_when_the_thaw_window_passes(staff, time_machine):
    tank = build_tank(staff.tech)
    batch, units = released_frozen_batch(staff, tank, injured_days_ago=20)
    thawed_at = day_35(batch)
    time_machine.move_to(thawed_at, tick=False)
    remove(units[0], staff)
    thaw = unit_thaw(dose_id=f"{batch.din}-1", scanned_identifier=units[0].label, actor=staff.tech,
                     viability_pct=Decimal("88.5"))  # fmt: skip
    assert (thaw.thawed_at, thaw.method, thaw.performed_by) == (thawed_at, "37 °C water bath", staff.tech)
    assert batch_readiness(batch).ready and readiness_report(batch).answer.ready

    time_machine.move_to(thawed_at + 3 * HOUR - dt.timedelta(minutes=1), tick=False)
    assert batch_readiness(batch).ready

    time_machine.move_to(thawed_at + 3 * HOUR, tick=False)
    assert codes(batch_readiness(batch)) == {"thaw_window_passed"}
    stored = readiness_report(batch).answer  # the stored facts say the same
    assert not stored.ready and codes(stored) == {"thaw_window_passed"}
    assert "post-thaw window closed" in stored.blockers[0].message


def test_bedside_administration_names_the_thawed_unit(staff, time_machine):
    tank = build_tank(staff.tech)
    batch, units = released_frozen_batch(staff, tank, injured_days_ago=20)
    dose = batch.doses.get()
    coordinator = coordinator_of(batch.therapy.patient.clinic)
    infusion = infusion_schedule(dose=dose, scheduled_for=day_35(batch) + HOUR, route="iv", actor=coordinator)
    time_machine.move_to(day_35(batch), tick=False)
    remove(units[0], staff)
    unit_thaw(dose_id=dose.dose_id, scanned_identifier=units[0].label, actor=coordinator)
    label = units[0].label.rsplit("-", 1)[0]  # the dose label, not a unit
    for wrong in (label, units[1].label):  # a dose label; a unit that is still frozen
        with pytest.raises(DomainError) as refused:
            infusion_administer(infusion=infusion, actor=coordinator, scanned_identifier=wrong)
        assert {b.code for b in refused.value.blockers} == {"identity_mismatch"}
    done = infusion_administer(infusion=infusion, actor=coordinator, scanned_identifier=units[0].label)
    assert done.status == "administered" and done.scanned_identifier == units[0].label


def test_a_shipment_arriving_out_of_range_blocks_until_qa_assesses_it(staff, time_machine):
    tank = build_tank(staff.tech)
    batch, units = released_frozen_batch(staff, tank, injured_days_ago=20)
    shipper = LocationFactory(code="DS-0042", kind=Location.Kind.TRANSPORT)
    clinic = LocationFactory(code="CLINIC-RX", kind=Location.Kind.CLINIC)
    for unit in units:
        remove(unit, staff, purpose="shipment")
    with pytest.raises(DomainError) as warm:
        shipment_depart(units=[(u, u.label) for u in units], shipper=shipper, destination=clinic,
                        departure_temp_c=Decimal("-120"), actor=staff.tech)  # fmt: skip
    assert {b.code for b in warm.value.blockers} == {"shipper_too_warm"}
    shipment = shipment_depart(units=[(u, u.label) for u in units], shipper=shipper, destination=clinic,
                               departure_temp_c=Decimal("-190"), actor=staff.tech)  # fmt: skip
    assert set(DoseUnit.objects.values_list("status", flat=True)) == {"shipped"}
    time_machine.move_to(timezone.now() + 6 * HOUR, tick=False)
    shipment_arrive(shipment=shipment, arrival_temp_c=Decimal("-140.0"), actor=staff.tech)
    custody = list(CustodyTransfer.objects.filter(batch=batch).order_by("-sequence")[:2])
    assert {(c.to_location.code, c.temperature_c) for c in custody} == {("CLINIC-RX", Decimal("-140.0"))}
    at = day_35(batch)
    assert codes(batch_readiness(batch, at)) == {"shipment_arrival_out_of_range"}
    shipment_assess(shipment=shipment, assessment="Data logger shows -140 °C for 10 minutes only.", actor=staff.qa,
                    password=PASSWORD)  # fmt: skip
    assert batch_readiness(batch, at).ready
    assert not Thaw.objects.exists()
