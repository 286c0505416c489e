"""Storage fixtures: a site with tanks, and batches frozen into units, built through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from batches.models import Batch, Location
from compliance.services.release import batch_release
from compliance.services.storage import storage_removal
from storage.models import Container, DoseUnit, Placement, Position
from storage.services import Freeze, container_create, cryopreservation_record, unit_store
from tests.builders import Staff, formulated_batch, record_qc, sign_checklist
from tests.factories import PASSWORD, LocationFactory, scan

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def staff(db) -> Staff:
    return Staff.create()


def build_tank(actor, code: str = "LN2-01", *, rows: int = 2, columns: int = 3) -> Container:
    """A site (created once), an LN2 tank (-196 to -150 °C) with one rack and one box of rows x columns."""
    site = Container.objects.filter(code="SITE-1").first() or container_create(
        code="SITE-1", name="CPF", kind=Container.Kind.SITE, capacity=10, actor=actor
    )
    location = LocationFactory(code=f"TANK-{code}", kind=Location.Kind.COLD_STORAGE)
    tank = container_create(
        code=code, name=f"Tank {code}", kind=Container.Kind.LN2_TANK, parent=site, capacity=4,
        temp_min_c=Decimal("-196"), temp_max_c=Decimal("-150"), location=location, actor=actor,
    )  # fmt: skip
    rack = container_create(
        code=f"{code}-R1", name="Rack 1", kind=Container.Kind.RACK, parent=tank, capacity=4, actor=actor
    )
    container_create(
        code=f"{code}-R1-B1", name="Box 1", kind=Container.Kind.BOX, parent=rack, capacity=rows * columns,
        rows=rows, columns=columns, actor=actor,
    )  # fmt: skip
    return tank


def position(tank: Container, label: str = "A1") -> Position:
    return Position.objects.get(storage_unit=tank, label=label)


def freeze(batch: Batch, staff: Staff, *, units: int = 2, volume: str = "20") -> list[DoseUnit]:
    """Freeze a formulated batch: ``units`` bags per dose, ending half an hour ago."""
    now = timezone.now()
    cryopreservation_record(
        batch=batch,
        freeze=Freeze(now - 1.5 * HOUR, now - 0.5 * HOUR, "CRF-01", "MSC-slow-1", "DMSO 10%", "DMSO-LOT-7"),
        units_per_dose=units, unit_kind="bag", fill_volume_ml=Decimal(volume), scanned_identifier=scan(batch.din),
        actor=staff.tech,
    )  # fmt: skip
    return list(DoseUnit.objects.filter(batch=batch).order_by("dose__number", "suffix"))


def frozen_batch(staff: Staff, **kwargs) -> tuple[Batch, list[DoseUnit]]:
    batch = formulated_batch(staff, **kwargs)
    return batch, freeze(batch, staff)


def store(unit: DoseUnit, where: Position, staff: Staff, at: dt.datetime | None = None) -> Placement:
    return unit_store(
        unit=unit, scanned_unit=unit.label, scanned_position=where.code, actor=staff.tech, stored_at=at
    )


def released_frozen_batch(staff: Staff, tank: Container, **kwargs) -> tuple[Batch, list[DoseUnit]]:
    """Formulated, frozen, every unit stored in ``tank``, QC within specification, released by QA."""
    batch, units = frozen_batch(staff, **kwargs)
    free = Position.objects.filter(storage_unit=tank, placements__isnull=True).order_by("row", "column")
    for unit, slot in zip(units, list(free), strict=False):
        store(unit, slot, staff)
    record_qc(batch, staff)
    sign_checklist(batch, staff)
    batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")
    batch.refresh_from_db()
    return batch, units


def remove(unit: DoseUnit, staff: Staff, purpose: str = "thaw", at: dt.datetime | None = None) -> Placement:
    bedside = LocationFactory(code="BEDSIDE-1", kind=Location.Kind.BEDSIDE)
    return storage_removal(
        unit=unit, scanned_unit=unit.label, purpose=purpose, to_location=bedside, actor=staff.tech,
        verifier=staff.tech2, verifier_password=PASSWORD, removed_at=at,
    )  # fmt: skip
