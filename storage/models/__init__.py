"""The storage app's models: containers and positions, frozen units, movements, temperatures."""

from storage.models.containers import Container, Position
from storage.models.movements import Placement, RefusedScan, Shipment, ShipmentItem, Thaw, UnitCustody
from storage.models.temperature import (
    Excursion,
    ExcursionHold,
    ReadingImport,
    SweepState,
    TemperatureReading,
)
from storage.models.units import Cryopreservation, DoseUnit

__all__ = [
    "Container",
    "Cryopreservation",
    "DoseUnit",
    "Excursion",
    "ExcursionHold",
    "Placement",
    "Position",
    "ReadingImport",
    "RefusedScan",
    "Shipment",
    "ShipmentItem",
    "SweepState",
    "TemperatureReading",
    "Thaw",
    "UnitCustody",
]
