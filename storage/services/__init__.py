"""Every write of the storage app. Atomic, rule-checked, audited; each checks roles itself.

* ``cryo``: the cryopreservation step and the units of each dose.
* ``inventory``: containers; store, move, remove by scanning unit and position.
* ``readings``: storage temperatures by hand or from CSV.
* ``shipping``: dry-shipper shipments, departure and arrival.
* ``thaw``: the one thaw of a unit.

Removal from storage needs a verifier's signature: its way in is
``compliance.services.storage`` (signatures live in compliance).
"""

from storage.services.cryo import Freeze, cryopreservation_record
from storage.services.inventory import container_create, unit_move, unit_remove, unit_store
from storage.services.readings import reading_record, readings_import
from storage.services.shipping import shipment_arrive, shipment_depart
from storage.services.thaw import unit_thaw

__all__ = [
    "Freeze",
    "container_create",
    "cryopreservation_record",
    "reading_record",
    "readings_import",
    "shipment_arrive",
    "shipment_depart",
    "unit_move",
    "unit_remove",
    "unit_store",
    "unit_thaw",
]
