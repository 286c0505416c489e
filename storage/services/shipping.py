"""Shipment of frozen units to the clinic in a dry shipper; its temperatures go into custody."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from batches.models import Batch, Location
from core.audit import audit_context
from core.clock import in_future
from core.errors import Blocker, DomainError
from core.i18n import N_
from core.roles import Role, require_role
from storage.domain import in_range
from storage.models import DoseUnit, Shipment, ShipmentItem
from storage.services.custody import custody_record
from storage.services.identity import unit_scan_verify


def shipment_depart(
    *,
    units: list[tuple[DoseUnit, str]],
    shipper: Location,
    destination: Location,
    departure_temp_c: Decimal,
    actor: Any,
    departed_at: dt.datetime | None = None,
) -> Shipment:
    """Send units (each with its scanned label), already removed from storage with verification.

    A shipper colder than its range at departure is refused; every batch gets a
    custody transfer into the shipper with the departure temperature. Technicians only.
    """
    require_role(actor, Role.TECHNICIAN, action=N_("ship units"))
    reads = {u.pk: unit_scan_verify(unit=u, scanned=s, action="shipment", actor=actor).text for u, s in units}
    now = timezone.now()
    departed_at = departed_at or now
    with transaction.atomic(), audit_context(actor=actor, reason=f"shipment in {shipper.code}"):
        batches = {b.pk: b for b in Batch.objects.select_for_update(no_key=True)
                   .filter(pk__in={u.batch_id for u, _ in units}).order_by("pk")}  # fmt: skip
        locked = list(
            DoseUnit.objects.select_for_update(no_key=True)
            .filter(pk__in=[u.pk for u, _ in units])
            .order_by("pk")
        )
        shipment = Shipment(shipper=shipper, destination=destination, departed_at=departed_at,
                            departure_temp_c=departure_temp_c, departed_by=actor)  # fmt: skip
        _refuse_departure(shipment, locked, now)
        shipment.save()
        ShipmentItem.objects.bulk_create(ShipmentItem(shipment=shipment, unit=u) for u in locked)
        DoseUnit.objects.filter(pk__in=[u.pk for u in locked]).update(status=DoseUnit.Status.SHIPPED)
        for unit in locked:
            custody_record(
                batch=batches[unit.batch_id], unit=unit, to_location=shipper, scanned=reads[unit.pk], performed_at=departed_at, actor=actor,
                temperature_c=departure_temp_c, notes=f"Unit {unit.code} shipped in dry shipper {shipper.code}.",
            )  # fmt: skip
    return shipment


def _refuse_departure(shipment: Shipment, units: list[DoseUnit], now: dt.datetime) -> None:
    blockers = []
    if not units:
        blockers.append(Blocker("no_units", N_("A shipment carries at least one unit.")))
    for unit in units:
        if unit.status != DoseUnit.Status.FROZEN:
            blockers.append(Blocker("unit_not_ready_to_ship",
                                    N_("Unit %(code)s is %(status)s: only a unit removed from storage with verification ships."),
                                    {"code": unit.code, "status": unit.get_status_display().lower()}))  # fmt: skip
    if not in_range(shipment.departure_temp_c, shipment.temp_min_c, shipment.temp_max_c):
        blockers.append(Blocker("shipper_too_warm", N_("The dry shipper is at %(temp)s °C at departure; it must be %(min)s to %(max)s °C."),
                                {"temp": shipment.departure_temp_c, "min": shipment.temp_min_c, "max": shipment.temp_max_c}))  # fmt: skip
    if in_future(shipment.departed_at, now):
        blockers.append(Blocker("future_time", N_("The departure time lies in the future.")))
    if blockers:
        raise DomainError(blockers)


def shipment_arrive(
    *, shipment: Shipment, arrival_temp_c: Decimal, actor: Any, arrived_at: dt.datetime | None = None
) -> Shipment:
    """Receive a shipment: custody into the destination with the arrival temperature.

    An arrival outside the shipper's range is recorded (the units did arrive)
    and blocks readiness of their doses until QA assesses the shipment.
    Technicians and clinic coordinators.
    """
    require_role(actor, Role.TECHNICIAN, Role.COORDINATOR, action=N_("receive shipments"))
    now = timezone.now()
    arrived_at = arrived_at or now
    items = list(shipment.items.select_related("unit"))
    shipper = shipment.shipper.code
    with transaction.atomic(), audit_context(actor=actor, reason=f"shipment received from {shipper}"):
        batches = {b.pk: b for b in Batch.objects.select_for_update(no_key=True)
                   .filter(pk__in={i.unit.batch_id for i in items}).order_by("pk")}  # fmt: skip
        locked = Shipment.objects.select_for_update(no_key=True).get(pk=shipment.pk)
        blockers = []
        if locked.status != Shipment.Status.IN_TRANSIT:
            blockers.append(Blocker("already_arrived", N_("This shipment has already arrived.")))
        if arrived_at < locked.departed_at or in_future(arrived_at, now):
            blockers.append(Blocker("arrival_time", N_("The arrival lies between the departure and now.")))
        if blockers:
            raise DomainError(blockers)
        locked.status, locked.arrived_at, locked.arrival_temp_c = (
            Shipment.Status.ARRIVED,
            arrived_at,
            arrival_temp_c,
        )
        locked.received_by = actor
        locked.arrival_in_range = in_range(arrival_temp_c, locked.temp_min_c, locked.temp_max_c)
        locked.save(
            update_fields=["status", "arrived_at", "arrival_temp_c", "received_by", "arrival_in_range"]
        )
        for item in items:
            custody_record(
                batch=batches[item.unit.batch_id], unit=item.unit, to_location=locked.destination, scanned=item.unit.code,
                performed_at=arrived_at, actor=actor, temperature_c=arrival_temp_c,
                notes=f"Unit {item.unit.code} arrived in dry shipper {shipper} at {arrival_temp_c} °C"
                      + ("." if locked.arrival_in_range else ": outside the shipper's range."),
            )  # fmt: skip
    return locked
