"""Reads of the storage app: readiness facts, occupancy per storage unit, a batch's storage history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Prefetch, Q, QuerySet

from batches.models import Batch, CustodyTransfer
from storage.domain import thaw_deadline
from storage.models import (
    Container,
    Cryopreservation,
    DoseUnit,
    Excursion,
    Placement,
    Position,
    TemperatureReading,
)


@dataclass(frozen=True)
class StorageIssue:
    """Why a unit of a dose may not be used: ``code``, the unit, since when, and where (tank or shipper)."""

    code: str  # excursion_unassessed | excursion_rejected | shipment_arrival_out_of_range
    unit: str
    since: dt.datetime
    where: str


@dataclass
class DoseStorage:
    thaw_deadline: dt.datetime | None = None  # the earliest deadline of the dose's thawed units
    issues: list[StorageIssue] = field(default_factory=list)


# One statement for any number of batches: thaws (with the protocol's window), excursion holds
# not yet cleared by QA, and shipments that arrived out of range and are not yet assessed.
_FACTS_SQL = """
SELECT u.dose_id, 'thaw', u.code, t.thawed_at, pr.post_thaw_window_hours, ''
  FROM storage_thaw t
  JOIN storage_doseunit u ON u.id = t.unit_id
  JOIN batches_batch b ON b.id = u.batch_id
  JOIN batches_therapy th ON th.id = b.therapy_id
  JOIN batches_processingprotocol pr ON pr.id = th.protocol_id
 WHERE u.batch_id = ANY(%(ids)s)
UNION ALL
SELECT u.dose_id, CASE WHEN e.assessed_at IS NULL THEN 'excursion_unassessed' ELSE 'excursion_rejected' END,
       u.code, e.started_at, NULL, c.code
  FROM storage_excursionhold h
  JOIN storage_excursion e ON e.id = h.excursion_id
  JOIN storage_doseunit u ON u.id = h.unit_id
  JOIN storage_container c ON c.id = e.storage_unit_id
 WHERE u.batch_id = ANY(%(ids)s) AND (e.assessed_at IS NULL OR e.decision = 'reject')
UNION ALL
SELECT u.dose_id, 'shipment_arrival_out_of_range', u.code, s.arrived_at, NULL, l.code
  FROM storage_shipmentitem i
  JOIN storage_shipment s ON s.id = i.shipment_id
  JOIN storage_doseunit u ON u.id = i.unit_id
  JOIN batches_location l ON l.id = s.shipper_id
 WHERE u.batch_id = ANY(%(ids)s) AND s.arrival_in_range = false AND s.assessed_at IS NULL
ORDER BY 1, 3, 4
"""


def storage_facts(batch_ids: list[int]) -> dict[int, DoseStorage]:
    """What readiness needs from storage, per dose id, for these batches: one query."""
    found: dict[int, DoseStorage] = defaultdict(DoseStorage)
    if not batch_ids:
        return found
    with connection.cursor() as cursor:
        cursor.execute(_FACTS_SQL, {"ids": list(batch_ids)})
        rows = cursor.fetchall()
    for dose_id, kind, unit, at, window, where in rows:
        facts = found[dose_id]
        if kind == "thaw":
            deadline = thaw_deadline(at, window)
            facts.thaw_deadline = min(deadline, facts.thaw_deadline or deadline)
        else:
            facts.issues.append(StorageIssue(kind, unit, at, where))
    return found


def frozen_dose_ids(batch: Batch) -> set[int]:
    """Doses of the batch that are cryopreserved: their shelf life counts from the freeze, not the release."""
    return set(DoseUnit.objects.filter(batch=batch).values_list("dose_id", flat=True).distinct())


@dataclass(frozen=True)
class StorageUnitRow:
    unit: Container
    positions: int
    occupied: int
    last_reading: TemperatureReading | None
    open_excursions: int

    @property
    def free(self) -> int:
        return self.positions - self.occupied


def storage_units() -> list[StorageUnitRow]:
    """Every tank and freezer with its occupancy, last reading and open excursions: four queries."""
    units = list(
        Container.objects.filter(kind__in=Container.STORAGE_UNITS).select_related("parent", "location")
        .annotate(
            n_positions=Count("unit_positions", distinct=True),
            n_excursions=Count("excursions", filter=Q(excursions__ended_at__isnull=True), distinct=True),
        )
        .order_by("code")
    )  # fmt: skip
    occupied = dict(
        Placement.objects.filter(removed_at__isnull=True)
        .values("storage_unit")
        .annotate(n=Count("id"))
        .values_list("storage_unit", "n")
    )
    latest = dict(
        TemperatureReading.objects.filter(storage_unit__in=units)
        .values("storage_unit")
        .annotate(at=Max("taken_at"))
        .values_list("storage_unit", "at")
    )
    readings = {
        r.storage_unit_id: r
        for r in TemperatureReading.objects.filter(
            storage_unit__in=[u.pk for u in units if u.pk in latest],
            taken_at__in=set(latest.values()),
        )
        if latest.get(r.storage_unit_id) == r.taken_at
    }
    return [
        StorageUnitRow(u, u.n_positions, occupied.get(u.pk, 0), readings.get(u.pk), u.n_excursions)  # type: ignore[attr-defined]
        for u in units
    ]


def storage_unit_positions(unit: Container) -> QuerySet[Position]:
    """The positions of a tank or freezer with the placement holding each (None when free): two queries."""
    current = Placement.objects.filter(removed_at__isnull=True).select_related("unit")
    return (
        Position.objects.filter(storage_unit=unit)
        .select_related("box__parent")
        .prefetch_related(Prefetch("placements", queryset=current, to_attr="current"))
        .order_by("box__code", "row", "column")
    )


def tank_map(unit: Container) -> list[dict[str, Any]]:
    """Boxes of a storage unit as grids of positions, each occupied (with its unit) or free."""
    boxes: dict[int, dict[str, Any]] = {}
    for position in storage_unit_positions(unit):
        box = boxes.setdefault(position.box_id, {"box": position.box, "rows": defaultdict(list)})
        placement = position.current[0] if position.current else None  # type: ignore[attr-defined]
        box["rows"][position.row].append({"position": position, "placement": placement})
    return [{"box": b["box"], "rows": [b["rows"][r] for r in sorted(b["rows"])]} for b in boxes.values()]


def position_history(position: Position) -> QuerySet[Placement]:
    return position.placements.select_related("unit", "stored_by", "removed_by", "verified_by").order_by(
        "stored_at", "id"
    )


@dataclass(frozen=True)
class StorageHistory:
    """For the batch record and the certificate: the freeze, each unit's placements, shipments, thaws, excursions."""

    cryopreservation: Cryopreservation | None
    units: list[DoseUnit]
    custody: list[CustodyTransfer]
    excursions: list[Excursion]


def storage_history(batch: Batch) -> StorageHistory:
    """The freeze and storage history of ``batch`` in a fixed number of queries."""
    cryo = Cryopreservation.objects.filter(batch=batch).select_related("performed_by").first()
    units = list(
        DoseUnit.objects.filter(batch=batch)
        .select_related("dose", "thaw__performed_by")
        .prefetch_related(
            Prefetch("placements", queryset=Placement.objects.select_related("position", "stored_by", "removed_by", "verified_by").order_by("stored_at", "id")),
            "shipment_items__shipment__shipper",
            "shipment_items__shipment__destination",
        )
        .order_by("dose__number", "suffix")
    )  # fmt: skip
    custody = list(
        batch.custody_transfers.select_related("to_location")
        .filter(notes__startswith="Unit ")
        .order_by("sequence")
    )
    excursions = list(
        Excursion.objects.filter(holds__unit__batch=batch)
        .select_related("storage_unit", "assessed_by")
        .distinct()
        .order_by("started_at")
    )
    return StorageHistory(cryo, units, custody, excursions)


@dataclass(frozen=True)
class DoseStorageTemperature:
    """Where a dose's units are kept cold and how cold it was last read (FHIR, the dose page)."""

    storage_unit: str
    temp_min_c: Any
    temp_max_c: Any
    last_reading_c: Any = None
    last_reading_at: dt.datetime | None = None


def dose_storage_temperature(dose_pk: int) -> DoseStorageTemperature | None:
    """The storage unit holding a unit of the dose now (its range, its last reading); None when none is stored."""
    placement = (
        Placement.objects.filter(unit__dose_id=dose_pk, removed_at__isnull=True)
        .select_related("storage_unit")
        .order_by("stored_at")
        .first()
    )
    if placement is None:
        return None
    tank = placement.storage_unit
    last = TemperatureReading.objects.filter(storage_unit=tank).order_by("-taken_at").first()
    return DoseStorageTemperature(
        tank.code,
        tank.temp_min_c,
        tank.temp_max_c,
        last.temperature_c if last else None,
        last.taken_at if last else None,
    )
