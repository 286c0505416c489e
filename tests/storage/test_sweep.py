"""The storage sweep: an excursion holds exactly the units inside during it; silent tanks are flagged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.readiness import batch_readiness
from compliance.services.storage import excursion_assess
from core.errors import DomainError
from monitoring.storage_sweeps import sweep_storage
from storage.models import Excursion, ExcursionHold, TemperatureReading
from storage.services import reading_record, unit_move
from tests.factories import PASSWORD
from tests.storage.conftest import (
    build_tank,
    formulated_batch,
    freeze,
    position,
    released_frozen_batch,
    store,
)

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


def readings(tank, staff, *points: tuple[float, str]) -> None:
    now = timezone.now()
    for hours_ago, value in points:
        reading_record(
            storage_unit=tank, taken_at=now - hours_ago * HOUR, temperature_c=Decimal(value), actor=staff.tech
        )


def move(unit, to, staff, hours_ago: float) -> None:
    unit_move(unit=unit, scanned_unit=unit.label, scanned_position=to.code, actor=staff.tech,
              moved_at=timezone.now() - hours_ago * HOUR)  # fmt: skip


def test_an_excursion_holds_exactly_the_units_stored_in_that_tank_during_it(staff, time_machine):
    now = timezone.now()
    time_machine.move_to(now - 12 * HOUR, tick=False)
    a, b = (
        build_tank(staff.tech, "LN2-A", rows=2, columns=3),
        build_tank(staff.tech, "LN2-B", rows=2, columns=3),
    )
    batch = formulated_batch(staff)
    early, moved_before, moved_during, later, elsewhere = freeze(batch, staff, units=5, volume="10")
    time_machine.move_to(now, tick=False)
    for unit, slot in ((early, "A1"), (moved_before, "A2"), (moved_during, "A3")):
        store(unit, position(a, slot), staff, now - 10 * HOUR)
    store(elsewhere, position(b, "A1"), staff, now - 10 * HOUR)
    move(moved_before, position(b, "A2"), staff, 8)  # left before the excursion began
    move(moved_during, position(b, "A3"), staff, 5)  # left while it lasted
    store(later, position(a, "B1"), staff, now - 3 * HOUR)  # arrived after it ended
    readings(a, staff, (7, "-180"), (6, "-140"), (5, "-120.5"), (4, "-185"), (1, "-186"))
    readings(b, staff, (7, "-190"), (4, "-190"), (1, "-190"))

    result = sweep_storage()

    excursion = Excursion.objects.get(kind="temperature")
    assert (excursion.storage_unit, excursion.started_at, excursion.ended_at) == (
        a,
        now - 6 * HOUR,
        now - 4 * HOUR,
    )
    assert excursion.extreme_c == Decimal("-120.5")
    held = set(ExcursionHold.objects.filter(excursion=excursion).values_list("unit__code", flat=True))
    assert held == {early.code, moved_during.code}
    assert (result.excursions_opened, result.units_held) == (1, 2)
    blockers = batch_readiness(batch).for_dose(f"{batch.din}-1").blockers
    assert sorted(b.params["unit"] for b in blockers if b.code == "excursion_unassessed") == sorted(held)
    assert sweep_storage().units_held == 0  # a second sweep finds nothing new
    assert ExcursionHold.objects.count() == 2


def test_an_open_excursion_also_holds_a_unit_stored_while_it_lasts(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch_with(staff)
    store(units[0], position(tank, "A1"), staff, timezone.now() - 3 * HOUR)
    readings(tank, staff, (2, "-140"))
    sweep_storage()
    store(units[1], position(tank, "A2"), staff)
    readings(tank, staff, (0, "-145"))
    sweep_storage()
    excursion = Excursion.objects.get(kind="temperature")
    assert excursion.ended_at is None
    assert set(excursion.holds.values_list("unit", flat=True)) == {units[0].pk, units[1].pk}


def frozen_batch_with(staff):
    batch = formulated_batch(staff)
    return batch, freeze(batch, staff)


def test_qa_assessment_lifts_the_hold_from_readiness(staff, time_machine):
    tank = build_tank(staff.tech)
    batch, _ = released_frozen_batch(staff, tank, injured_days_ago=20)
    time_machine.move_to(timezone.now() + HOUR, tick=False)
    readings(tank, staff, (0.5, "-120"), (0.2, "-190"))
    sweep_storage()
    at = timezone.now() + 15 * 24 * HOUR  # in the infusion window
    assert {b.code for b in batch_readiness(batch, at).blockers} == {"excursion_unassessed"}
    excursion = Excursion.objects.get(kind="temperature")
    with pytest.raises(DomainError):
        excursion_assess(
            excursion=excursion, decision="accept", assessment=" ", actor=staff.qa, password=PASSWORD
        )
    excursion_assess(excursion=excursion, decision="accept", assessment="15 min at -120 °C in vapour phase; "
                     "stability data cover it.", actor=staff.qa, password=PASSWORD)  # fmt: skip
    assert batch_readiness(batch, at).ready


def test_a_missing_reading_is_flagged_and_ends_with_the_next_reading(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch_with(staff)
    store(units[0], position(tank), staff)
    readings(tank, staff, (2, "-190"))  # the protocol allows 60 minutes between readings
    sweep_storage()
    flag = Excursion.objects.get(kind="missing_reading")
    assert flag.ended_at is None and not flag.holds.exists()
    readings(tank, staff, (0, "-190"))
    sweep_storage()
    flag.refresh_from_db()
    assert flag.ended_at is not None


def test_an_empty_tank_is_not_flagged_for_missing_readings(staff):
    build_tank(staff.tech)
    sweep_storage()
    assert not Excursion.objects.exists()


def _sweep_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        sweep_storage()
    return len(queries)


def test_the_sweep_runs_a_fixed_number_of_queries(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch_with(staff)
    store(units[0], position(tank), staff)
    readings(tank, staff, (0.5, "-190"))
    one = _sweep_queries()
    other = build_tank(staff.tech, "LN2-02")
    store(units[1], position(other), staff)
    readings(tank, staff, *((0.4 - i / 100, "-140") for i in range(20)))
    readings(other, staff, *((0.4 - i / 100, "-190") for i in range(20)))
    many = _sweep_queries()
    assert one == many
    assert (
        TemperatureReading.objects.count() == 41 and Excursion.objects.filter(kind="temperature").count() == 1
    )
