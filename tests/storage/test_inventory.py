"""Storing, moving and removing units by scan: one unit per position, a second person to remove."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from batches.models import CustodyTransfer
from compliance.models import Signature
from compliance.services.storage import storage_removal
from core.errors import DomainError, NotPermitted, SignatureRefused
from storage.models import DoseUnit, Placement, RefusedScan
from storage.selectors import position_history, tank_map
from storage.services import unit_move, unit_remove, unit_store, unit_thaw
from tests.factories import PASSWORD, LocationFactory
from tests.storage.conftest import build_tank, formulated_batch, freeze, frozen_batch, position, remove, store

pytestmark = pytest.mark.django_db


def codes(error) -> set[str]:
    return {b.code for b in error.value.blockers}


def test_each_unit_gets_the_dose_identifier_plus_a_suffix_and_a_label(staff):
    batch, units = frozen_batch(staff)
    assert [u.code for u in units] == [f"{batch.din}-1-A", f"{batch.din}-1-B"]
    assert (
        units[0].label.startswith(batch.din) and units[0].label.endswith("-1-A") and len(units[0].label) == 18
    )
    dose = batch.doses.get()
    assert dose.expires_at == batch.cryopreservation.freeze_ended_at + timezone.timedelta(days=30)


def test_a_unit_is_stored_by_scanning_unit_and_position_and_custody_records_it(staff):
    tank = build_tank(staff.tech)
    batch, units = frozen_batch(staff)
    placement = store(units[0], position(tank), staff)
    assert placement.storage_unit == tank and DoseUnit.objects.get(pk=units[0].pk).status == "stored"
    last = CustodyTransfer.objects.filter(batch=batch).order_by("-sequence").first()
    assert last.to_location == tank.location and units[0].code in last.notes
    grid = tank_map(tank)
    assert grid[0]["rows"][0][0]["placement"].unit == units[0]
    assert grid[0]["rows"][0][1]["placement"] is None


def test_two_units_cannot_take_one_position(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    store(units[0], position(tank), staff)
    with pytest.raises(DomainError) as refused:
        store(units[1], position(tank), staff)
    assert codes(refused) == {"position_occupied"}
    assert Placement.objects.filter(position=position(tank)).count() == 1


def test_the_database_refuses_a_second_open_placement_of_a_position(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    first = store(units[0], position(tank), staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Placement.objects.create(unit=units[1], position=first.position, storage_unit=tank, stored_at=timezone.now(),
                                 stored_by=staff.tech, scanned_unit="x", scanned_position="y")  # fmt: skip


def test_a_wrong_unit_scan_is_refused_and_kept(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    with pytest.raises(DomainError) as refused:
        unit_store(
            unit=units[0], scanned_unit=units[1].label, scanned_position=position(tank).code, actor=staff.tech
        )
    assert codes(refused) == {"identity_mismatch"}
    assert RefusedScan.objects.filter(action="store", expected=units[0].code).exists()
    assert not Placement.objects.exists()


def test_a_move_keeps_the_history_of_both_positions(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    store(units[0], position(tank, "A1"), staff)
    unit_move(
        unit=units[0],
        scanned_unit=units[0].label,
        scanned_position=position(tank, "B2").code,
        actor=staff.tech,
    )
    old, new = position_history(position(tank, "A1")), position_history(position(tank, "B2"))
    assert [(p.unit_id, p.removal_purpose) for p in old] == [(units[0].pk, "move")]
    assert [(p.unit_id, p.removed_at) for p in new] == [(units[0].pk, None)]
    store(units[1], position(tank, "A1"), staff)  # the freed position takes another unit


def test_a_thawed_unit_is_refused_for_storage(staff):
    tank = build_tank(staff.tech)
    batch, units = frozen_batch(staff)
    store(units[0], position(tank), staff)
    remove(units[0], staff)
    unit_thaw(dose_id=f"{batch.din}-1", scanned_identifier=units[0].label, actor=staff.tech)
    with pytest.raises(DomainError) as refused:
        store(DoseUnit.objects.get(pk=units[0].pk), position(tank, "A2"), staff)
    assert "unit_thawed" in codes(refused)
    assert Placement.objects.filter(unit=units[0], removed_at__isnull=True).count() == 0
    with pytest.raises(DomainError) as again:
        unit_thaw(dose_id=f"{batch.din}-1", scanned_identifier=units[0].label, actor=staff.tech)
    assert codes(again) == {"already_thawed"}


def test_a_unit_still_in_storage_cannot_be_thawed(staff):
    tank = build_tank(staff.tech)
    batch, units = frozen_batch(staff)
    store(units[0], position(tank), staff)
    with pytest.raises(DomainError) as refused:
        unit_thaw(dose_id=f"{batch.din}-1", scanned_identifier=units[0].label, actor=staff.tech)
    assert codes(refused) == {"still_stored"}


def test_removal_without_a_second_person_is_refused(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    store(units[0], position(tank), staff)
    bedside = LocationFactory(code="BEDSIDE-9")
    common = {"unit": units[0], "scanned_unit": units[0].label, "purpose": "thaw", "to_location": bedside,
              "actor": staff.tech}  # fmt: skip
    with pytest.raises(NotPermitted) as nobody:
        storage_removal(**common, verifier=None, verifier_password="")
    assert nobody.value.code == "verification_required"
    with pytest.raises(NotPermitted) as self_verified:
        storage_removal(**common, verifier=staff.tech, verifier_password=PASSWORD)
    assert self_verified.value.code == "segregation"
    with pytest.raises(SignatureRefused):
        storage_removal(**common, verifier=staff.tech2, verifier_password="wrong")
    with pytest.raises(NotPermitted):  # the storage service alone will not do it either
        unit_remove(unit=units[0], scanned_unit=units[0].label, purpose="thaw", actor=staff.tech, verified_by=None,
                    verification_signature_id=None, to_location=bedside)  # fmt: skip
    assert Placement.objects.get(unit=units[0]).removed_at is None
    assert not Signature.objects.filter(record_type="storage_removal").exists()


def test_the_database_refuses_a_removal_verified_by_the_remover(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    placement = store(units[0], position(tank), staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Placement.objects.filter(pk=placement.pk).update(
            removed_at=timezone.now(), removed_by=staff.tech, removal_purpose="thaw", verified_by=staff.tech,
            verification_signature_id="00000000-0000-0000-0000-000000000001",
        )  # fmt: skip


def test_a_verified_removal_records_the_signature_and_custody(staff):
    tank = build_tank(staff.tech)
    batch, units = frozen_batch(staff)
    store(units[0], position(tank), staff)
    placement = remove(units[0], staff)
    signature = Signature.objects.get(pk=placement.verification_signature_id)
    assert (signature.meaning, signature.signer, signature.record_id) == (
        "verified",
        staff.tech2,
        units[0].code,
    )
    assert placement.verified_by == staff.tech2 and placement.removal_purpose == "thaw"
    assert "verified by" in CustodyTransfer.objects.filter(batch=batch).order_by("-sequence").first().notes


def test_only_technicians_store_units(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    with pytest.raises(NotPermitted):
        unit_store(
            unit=units[0], scanned_unit=units[0].label, scanned_position=position(tank).code, actor=staff.qa
        )


def test_a_batch_is_frozen_once_and_units_fit_the_dose(staff):
    batch = formulated_batch(staff)
    with pytest.raises(DomainError) as refused:
        freeze(batch, staff, units=3, volume="20")  # 60 mL into a 50 mL dose
    assert "fill_volume" in codes(refused) and not DoseUnit.objects.exists()
    freeze(batch, staff)
    with pytest.raises(DomainError) as again:
        freeze(batch, staff)
    assert "already_frozen" in codes(again)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_store_requests_for_one_position_store_exactly_one_unit(staff):
    tank = build_tank(staff.tech)
    # Five batches of four units: the batch locks do not serialise them, the position lock and index decide.
    units = [unit for _ in range(5) for unit in freeze(formulated_batch(staff), staff, units=4, volume="10")]
    target = position(tank)
    outcomes: list[object] = []
    barrier = threading.Barrier(20)

    def attempt(unit: DoseUnit) -> None:
        try:
            barrier.wait()
            outcomes.append(
                unit_store(unit=unit, scanned_unit=unit.label, scanned_position=target.code, actor=staff.tech)
            )
        except Exception as error:  # counted below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(u,)) for u in units]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [o for o in outcomes if isinstance(o, Placement)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(stored) == 1 and len(refused) == 19, outcomes
    assert all({b.code for b in r.blockers} == {"position_occupied"} for r in refused)
    assert Placement.objects.filter(position=target, removed_at__isnull=True).count() == 1
    assert DoseUnit.objects.filter(status="stored").count() == 1


def test_storage_history_tells_the_freeze_and_every_move_of_each_unit(staff):
    from storage.selectors import storage_history

    tank = build_tank(staff.tech)
    batch, units = frozen_batch(staff)
    store(units[0], position(tank, "A1"), staff)
    unit_move(
        unit=units[0],
        scanned_unit=units[0].label,
        scanned_position=position(tank, "A2").code,
        actor=staff.tech,
    )
    history = storage_history(batch)
    assert history.cryopreservation.cryoprotectant == "DMSO 10%"
    assert [u.code for u in history.units] == [units[0].code, units[1].code]
    assert [p.position.label for p in history.units[0].placements.all()] == ["A1", "A2"]
    assert [c.notes.split(" ")[0:2] for c in history.custody] == [["Unit", units[0].code]] * 2
