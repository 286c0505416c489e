"""Every move of a frozen unit is custody: one transfer of its batch, continuing the chain."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from batches.models import Batch, CustodyTransfer, Location
from storage.models import DoseUnit, UnitCustody


def custody_record(
    *,
    batch: Batch,
    unit: DoseUnit,
    to_location: Location,
    scanned: str,
    performed_at: dt.datetime,
    actor: Any,
    notes: str,
    temperature_c: Decimal | None = None,
    to_holder: str = "",
) -> CustodyTransfer:
    """Append a transfer to the batch's chain (``from`` = the previous ``to``). The caller holds the batch lock.

    Unlike ``batches.services.custody_transfer`` a move inside one location is
    recorded too (a unit moved between positions of one tank): ``notes`` names
    the unit and the position, and a ``UnitCustody`` row links the unit, so the
    chain says where each unit went. These transfers are distribution, not
    manufacture: they are not part of the release-signed record
    (``compliance.records``), so a release survives the move to the clinic.
    """
    previous = batch.custody_transfers.order_by("-sequence").first()
    transfer = CustodyTransfer.objects.create(
        batch=batch,
        sequence=(previous.sequence + 1) if previous else 1,
        from_location_id=previous.to_location_id if previous else None,
        to_location=to_location,
        from_holder=previous.to_holder if previous else "",
        to_holder=to_holder,
        temperature_c=temperature_c,
        seal_intact=True,
        scanned_identifier=scanned[:20],
        performed_at=performed_at,
        performed_by=actor if getattr(actor, "pk", None) else None,
        notes=notes,
    )
    UnitCustody.objects.create(custody_transfer=transfer, unit=unit)
    return transfer
