"""Demo storage: two LN2 tanks, the frozen units of two formulated batches, one excursion, one thaw.

Built through the storage services and the verified removal (compliance), back-dated
from the formulation like the rest of the demo; the storage sweep then finds the
excursion and holds the units that were in that tank.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from batches.models import Batch, Location
from compliance.services.storage import storage_removal
from core.isbt128 import check_character
from demo.outcomes import _formulated_at
from monitoring.storage_sweeps import sweep_storage
from storage.models import Container, Position
from storage.services import (
    Freeze,
    container_create,
    cryopreservation_record,
    reading_record,
    unit_store,
    unit_thaw,
)

HOUR = dt.timedelta(hours=1)


def seed_storage(users: dict[str, Any], places: dict[str, Location], password: str, now: dt.datetime) -> None:
    """KEIO-0009 frozen into LN2-01 (one of its bags later thawed), KEIO-0010 into LN2-02 (an excursion)."""
    tech, tech2 = users["tech"], users["tech2"]
    site = container_create(
        code="CPF-SITE", name="CPF cryostorage room", kind=Container.Kind.SITE, capacity=4, actor=tech
    )
    tanks = [
        _tank(code, site, place, tech)
        for code, place in (("LN2-01", places["CPF-CRYO"]), ("LN2-02", _second_room()))
    ]
    for tank, patient in zip(tanks, ("KEIO-0009", "KEIO-0010"), strict=True):
        batch = Batch.objects.get(therapy__patient__code=patient)
        frozen_at = _formulated_at(batch) + HOUR
        cryopreservation_record(
            batch=batch, freeze=Freeze(frozen_at, frozen_at + 2 * HOUR, "CRF-01 (controlled-rate)", "MSC-slow-1",
                                       "DMSO 10%", "DMSO-2611"),
            units_per_dose=2, unit_kind="bag", fill_volume_ml=Decimal("20"), scanned_identifier=batch.din + check_character(batch.din),
            actor=tech,
        )  # fmt: skip
        free = iter(Position.objects.filter(storage_unit=tank).order_by("box__code", "row", "column"))
        for unit in batch.dose_units.order_by("suffix"):
            unit_store(unit=unit, scanned_unit=unit.label, scanned_position=next(free).code, actor=tech,
                       stored_at=frozen_at + 2.5 * HOUR)  # fmt: skip
    for hours_ago in range(24, -1, -1):
        for tank in tanks:
            value = "-130.5" if tank.code == "LN2-02" and hours_ago == 6 else "-187.0"  # the lid left open
            reading_record(
                storage_unit=tank, taken_at=now - hours_ago * HOUR, temperature_c=Decimal(value), actor=tech
            )
    sweep_storage(now=now)
    thawed = Batch.objects.get(therapy__patient__code="KEIO-0009").dose_units.get(suffix="B")
    storage_removal(unit=thawed, scanned_unit=thawed.label, purpose="thaw", to_location=places["QC-LAB"], actor=tech,
                    verifier=tech2, verifier_password=password, removed_at=now - 2 * HOUR)  # fmt: skip
    unit_thaw(dose_id=thawed.code.rsplit("-", 1)[0], scanned_identifier=thawed.label, actor=tech,
              thawed_at=now - 1.5 * HOUR, viability_pct=Decimal("86.0"))  # fmt: skip


def _second_room() -> Location:
    return Location.objects.get_or_create(
        code="CPF-CRYO-2", defaults={"name": "CPF cryostorage, tank 2", "kind": Location.Kind.COLD_STORAGE}
    )[0]


def _tank(code: str, site: Container, place: Location, actor: Any) -> Container:
    tank = container_create(
        code=code, name=f"LN2 vapour-phase tank {code[-2:]}", kind=Container.Kind.LN2_TANK, parent=site, capacity=6,
        temp_min_c=Decimal("-196"), temp_max_c=Decimal("-150"), location=place, actor=actor,
    )  # fmt: skip
    rack = container_create(
        code=f"{code}-R1", name="Rack 1", kind=Container.Kind.RACK, parent=tank, capacity=6, actor=actor
    )
    for box in (1, 2):
        container_create(code=f"{code}-R1-B{box}", name=f"Box {box}", kind=Container.Kind.BOX, parent=rack,
                         capacity=12, rows=3, columns=4, actor=actor)  # fmt: skip
    return tank
