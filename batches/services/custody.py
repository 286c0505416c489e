"""Chain of custody: continuous hand-overs, with gaps and excursions kept as findings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from batches.domain.lifecycle import TERMINAL, BatchStatus
from batches.domain.steps import check_performed_at, check_temperature
from batches.models import Batch, CustodyTransfer, Finding, Location
from batches.services.identity import scan_verify
from core.audit import audit_context
from core.errors import Blocker, DomainError
from core.i18n import N_, term
from core.roles import Role, require_role


def custody_transfer(
    *,
    batch: Batch,
    to_location: Location,
    seal_intact: bool,
    scanned_identifier: str,
    actor: Any,
    temperature_c: Decimal | None = None,
    from_location: Location | None = None,
    from_holder: str = "",
    to_holder: str = "",
    performed_at: dt.datetime | None = None,
    notes: str = "",
) -> CustodyTransfer:
    """Record a hand-over of the batch to ``to_location``.

    The chain's *from* is the previous transfer's *to*. A caller that states
    a different ``from_location`` has found the item somewhere the chain does
    not say: the transfer is still recorded (the item is where it is) with a
    custody-gap finding. A temperature outside the protocol's transport range
    or a broken seal is recorded as a finding too. Findings block release
    until QA assesses them. Technicians only (NotPermitted).
    """
    require_role(actor, Role.TECHNICIAN, action=N_("record custody transfers"))
    read = scan_verify(
        batch=batch, scanned_identifier=scanned_identifier, action="custody transfer", actor=actor
    )
    now = timezone.now()
    performed_at = performed_at or now
    with transaction.atomic(), audit_context(actor=actor, reason="custody transfer"):
        locked = (
            Batch.objects.select_for_update(no_key=True, of=("self",))
            .select_related("therapy__protocol")
            .get(pk=batch.pk)
        )
        previous = locked.custody_transfers.select_related("to_location").order_by("-sequence").first()
        _refuse_if_invalid(locked, to_location, performed_at, now, previous)
        transfer = CustodyTransfer.objects.create(
            batch=locked,
            sequence=(previous.sequence + 1) if previous else 1,
            from_location=previous.to_location if previous else from_location,
            to_location=to_location,
            from_holder=from_holder or (previous.to_holder if previous else ""),
            to_holder=to_holder,
            temperature_c=temperature_c,
            seal_intact=seal_intact,
            scanned_identifier=read.text,  # normalised: what was read, in the form that fits the column
            performed_at=performed_at,
            performed_by=actor if getattr(actor, "pk", None) else None,
            notes=notes,
        )
        for kind, detail in _findings(locked, transfer, previous, from_location):
            Finding.objects.create(
                batch=locked, kind=kind, detail=detail, occurred_at=performed_at,
                recorded_by=transfer.performed_by, custody_transfer=transfer,
            )  # fmt: skip
    return transfer


def _refuse_if_invalid(
    batch: Batch,
    to_location: Location,
    performed_at: dt.datetime,
    now: dt.datetime,
    previous: CustodyTransfer | None,
) -> None:
    blockers = check_performed_at(performed_at, now, previous.performed_at if previous else None)
    if BatchStatus(batch.status) in TERMINAL:
        blockers.append(
            Blocker(
                "wrong_state",
                N_("The batch is %(status)s: no more transfers."),
                {"status": term(BatchStatus(batch.status).words)},
            )
        )
    if not to_location.active:
        blockers.append(
            Blocker(
                "inactive_location",
                N_("Location %(location)s is not in use."),
                {"location": to_location.code},
            )
        )
    if previous and previous.to_location_id == to_location.pk:
        blockers.append(
            Blocker(
                "same_location", N_("The batch is already at %(location)s."), {"location": to_location.code}
            )
        )
    if blockers:
        raise DomainError(blockers)


def _findings(
    batch: Batch, transfer: CustodyTransfer, previous: CustodyTransfer | None, stated_from: Location | None
) -> list[tuple[str, str]]:
    protocol = batch.therapy.protocol
    found = []
    if previous and stated_from is not None and stated_from.pk != previous.to_location_id:
        found.append(
            (
                Finding.Kind.CUSTODY_GAP,
                f"Transfer #{transfer.sequence} picked the item up at {stated_from.code}, but the chain "
                f"left it at {previous.to_location.code}.",
            )
        )
    excursion = check_temperature(
        transfer.temperature_c, protocol.transport_temp_min_c, protocol.transport_temp_max_c
    )
    if excursion:
        found.append((Finding.Kind.TEMPERATURE_EXCURSION, f"Transfer #{transfer.sequence}: {excursion}"))
    if not transfer.seal_intact:
        found.append((Finding.Kind.SEAL_BROKEN, f"Transfer #{transfer.sequence}: seal not intact."))
    return found
