"""Storing, moving and removing frozen units by scanning both the unit and the position."""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from batches.models import Batch, Location
from core.audit import audit_context
from core.clock import in_future
from core.errors import Blocker, DomainError, NotPermitted
from core.i18n import N_
from core.roles import Role, require_role
from storage.models import Container, DoseUnit, Placement, Position
from storage.services.custody import custody_record
from storage.services.identity import position_from_scan, unit_scan_verify

POSITION_TAKEN = Blocker("position_occupied", N_("The position already holds a unit."))
UNIT_PLACED = Blocker("unit_already_stored", N_("The unit is already in a position."))


def container_create(
    *,
    code: str,
    name: str,
    kind: str,
    capacity: int,
    actor: Any,
    parent: Container | None = None,
    temp_min_c: Decimal | None = None,
    temp_max_c: Decimal | None = None,
    location: Location | None = None,
    rows: int | None = None,
    columns: int | None = None,
) -> Container:
    """A container under ``parent``; a box gets its ``rows`` x ``columns`` positions (A1, A2...). Admins and technicians."""
    require_role(actor, Role.ADMIN, Role.TECHNICIAN, action=N_("set up storage"))
    blockers = _container_blockers(kind, capacity, parent, rows, columns)
    if blockers:
        raise DomainError(blockers)
    with transaction.atomic(), audit_context(actor=actor, reason="storage container created"):
        container = Container.objects.create(
            code=code.strip().upper(), name=name, kind=kind, parent=parent, capacity=capacity,
            temp_min_c=temp_min_c, temp_max_c=temp_max_c, location=location, rows=rows, columns=columns,
        )  # fmt: skip
        if container.is_storage_unit or parent is not None:
            container.storage_unit = container if container.is_storage_unit else parent.storage_unit  # type: ignore[union-attr]
            container.save(update_fields=["storage_unit"])
        if kind == Container.Kind.BOX:
            Position.objects.bulk_create(
                Position(box=container, storage_unit=container.storage_unit, label=f"{string.ascii_uppercase[r]}{c + 1}",
                         code=f"{container.code}-{string.ascii_uppercase[r]}{c + 1}", row=r + 1, column=c + 1)
                for r in range(rows or 0)
                for c in range(columns or 0)
            )  # fmt: skip
    return container


def _container_blockers(
    kind: str, capacity: int, parent: Container | None, rows: int | None, columns: int | None
) -> list[Blocker]:
    blockers = []
    if kind in Container.STORAGE_UNITS and (parent is None or parent.kind != Container.Kind.SITE):
        blockers.append(Blocker("container_parent", N_("A tank or freezer stands at a site.")))
    elif kind not in (Container.Kind.SITE, *Container.STORAGE_UNITS) and (
        parent is None or parent.storage_unit_id is None
    ):
        blockers.append(
            Blocker("container_parent", N_("Racks, canisters and boxes are inside a tank or freezer."))
        )
    if parent is not None and parent.children.count() >= parent.capacity:
        blockers.append(Blocker("container_full", N_("%(code)s is full."), {"code": parent.code}))
    if kind == Container.Kind.BOX and not (rows and columns and rows <= 26 and rows * columns == capacity):
        blockers.append(
            Blocker("box_grid", N_("A box has rows (at most 26) x columns positions, equal to its capacity."))
        )
    return blockers


def unit_store(
    *,
    unit: DoseUnit,
    scanned_unit: str,
    scanned_position: str,
    actor: Any,
    stored_at: dt.datetime | None = None,
) -> Placement:
    """Put a frozen unit into a free position, by scanning both. Technicians only.

    Locks the batch, the unit and the position, then decides; the partial unique
    indexes refuse a second unit in the position (or the unit in a second one)
    even if two requests passed the check: of concurrent stores exactly one wins.
    A thawed, shipped or discarded unit is refused: it never goes back.
    """
    require_role(actor, Role.TECHNICIAN, action=N_("store units"))
    read = unit_scan_verify(unit=unit, scanned=scanned_unit, action="store", actor=actor)
    position = position_from_scan(scanned=scanned_position, action="store", actor=actor)
    now = timezone.now()
    stored_at = stored_at or now
    with transaction.atomic(), audit_context(actor=actor, reason="unit stored"):
        batch = Batch.objects.select_for_update(no_key=True).get(pk=unit.batch_id)
        locked = DoseUnit.objects.select_for_update(no_key=True).get(pk=unit.pk)
        Position.objects.select_for_update(no_key=True).get(pk=position.pk)
        blockers = _store_blockers(locked, position, stored_at, now)
        if blockers:
            raise DomainError(blockers)
        placement = _place(locked, position, stored_at, actor, read.text, position.code)
        DoseUnit.objects.filter(pk=locked.pk).update(status=DoseUnit.Status.STORED)
        custody_record(
            batch=batch, unit=locked, to_location=position.storage_unit.location, scanned=read.text, performed_at=stored_at,
            actor=actor, notes=f"Unit {locked.code} stored at {position.code}.",
        )  # fmt: skip
    return placement


def _place(
    unit: DoseUnit, position: Position, at: dt.datetime, actor: Any, scanned: str, code: str
) -> Placement:
    try:
        with transaction.atomic():  # the indexes speak even if a lock was bypassed
            return Placement.objects.create(
                unit=unit, position=position, storage_unit=position.storage_unit, stored_at=at, stored_by=actor,
                scanned_unit=scanned, scanned_position=code,
            )  # fmt: skip
    except IntegrityError as error:
        name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "")
        if name == "position_holds_one_unit":
            raise DomainError([POSITION_TAKEN]) from error
        if name == "unit_in_one_position":
            raise DomainError([UNIT_PLACED]) from error
        raise


def _store_blockers(unit: DoseUnit, position: Position, at: dt.datetime, now: dt.datetime) -> list[Blocker]:
    blockers = []
    if unit.status == DoseUnit.Status.THAWED or _thawed(unit):
        blockers.append(
            Blocker(
                "unit_thawed",
                N_("Unit %(code)s has been thawed: it is never stored again."),
                {"code": unit.code},
            )
        )
    elif unit.status in (DoseUnit.Status.SHIPPED, DoseUnit.Status.DISCARDED):
        blockers.append(Blocker("unit_gone", N_("Unit %(code)s has left storage for good (%(status)s)."),
                                {"code": unit.code, "status": unit.get_status_display().lower()}))  # fmt: skip
    elif unit.status == DoseUnit.Status.STORED:
        blockers.append(UNIT_PLACED)
    if Placement.objects.filter(position=position, removed_at__isnull=True).exists():
        blockers.append(POSITION_TAKEN)
    if not position.storage_unit.active:
        blockers.append(
            Blocker("inactive_storage", N_("%(code)s is not in use."), {"code": position.storage_unit.code})
        )
    if in_future(at, now):
        blockers.append(Blocker("future_time", N_("The storage time lies in the future.")))
    return blockers


def _thawed(unit: DoseUnit) -> bool:
    from storage.models import Thaw

    return Thaw.objects.filter(unit=unit).exists()


def unit_move(
    *,
    unit: DoseUnit,
    scanned_unit: str,
    scanned_position: str,
    actor: Any,
    moved_at: dt.datetime | None = None,
) -> Placement:
    """Move a stored unit to another free position (ends the old placement, starts a new one). Technicians only."""
    require_role(actor, Role.TECHNICIAN, action=N_("move units"))
    read = unit_scan_verify(unit=unit, scanned=scanned_unit, action="move", actor=actor)
    position = position_from_scan(scanned=scanned_position, action="move", actor=actor)
    now = timezone.now()
    moved_at = moved_at or now
    with transaction.atomic(), audit_context(actor=actor, reason="unit moved"):
        batch = Batch.objects.select_for_update(no_key=True).get(pk=unit.batch_id)
        locked = DoseUnit.objects.select_for_update(no_key=True).get(pk=unit.pk)
        Position.objects.select_for_update(no_key=True).get(pk=position.pk)
        current = _current(locked)
        blockers = (
            []
            if current
            else [Blocker("not_stored", N_("Unit %(code)s is not in a position."), {"code": locked.code})]
        )
        if current and current.position_id == position.pk:
            blockers.append(
                Blocker("same_position", N_("The unit is already at %(code)s."), {"code": position.code})
            )
        if current and moved_at < current.stored_at:
            blockers.append(Blocker("before_stored", N_("The move is before the unit was stored.")))
        blockers += [b for b in _store_blockers(locked, position, moved_at, now) if b is not UNIT_PLACED]
        if blockers:
            raise DomainError(blockers)
        _end(current, moved_at, actor, Placement.Purpose.MOVE)  # type: ignore[arg-type]
        placement = _place(locked, position, moved_at, actor, read.text, position.code)
        custody_record(
            batch=batch, unit=locked, to_location=position.storage_unit.location, scanned=read.text, performed_at=moved_at,
            actor=actor, notes=f"Unit {locked.code} moved from {current.position.code} to {position.code}.",  # type: ignore[union-attr]
        )  # fmt: skip
    return placement


def _current(unit: DoseUnit) -> Placement | None:
    return unit.placements.select_related("position").filter(removed_at__isnull=True).first()


def _end(placement: Placement, at: dt.datetime, actor: Any, purpose: str, verifier: Any = None,
         signature_id: UUID | None = None) -> None:  # fmt: skip
    Placement.objects.filter(pk=placement.pk).update(
        removed_at=at, removed_by=actor, removal_purpose=purpose, verified_by=verifier,
        verification_signature_id=signature_id,
    )  # fmt: skip


def unit_remove(
    *,
    unit: DoseUnit,
    scanned_unit: str,
    purpose: str,
    actor: Any,
    verified_by: Any,
    verification_signature_id: UUID | None,
    to_location: Location,
    removed_at: dt.datetime | None = None,
) -> Placement:
    """Take a unit out of storage for shipment or thaw, verified by a second person.

    ``compliance.services.storage.storage_removal`` is the way in: it
    re-authenticates the verifier and records the signature with meaning
    "verified", then calls this. Refused without a verifier, or when the
    verifier is the remover (a check constraint says so too). Technicians only.
    """
    require_role(actor, Role.TECHNICIAN, action=N_("remove units from storage"))
    if verified_by is None or verification_signature_id is None:
        raise NotPermitted(
            N_("Removal from storage needs a second person's verification."), code="verification_required"
        )
    if getattr(verified_by, "pk", None) == getattr(actor, "pk", None):
        raise NotPermitted(
            N_("The verifier must be another person than the one removing the unit."), code="segregation"
        )
    read = unit_scan_verify(unit=unit, scanned=scanned_unit, action="remove", actor=actor)
    now = timezone.now()
    removed_at = removed_at or now
    with transaction.atomic(), audit_context(actor=actor, reason=f"unit removed for {purpose}"):
        batch = Batch.objects.select_for_update(no_key=True).get(pk=unit.batch_id)
        locked = DoseUnit.objects.select_for_update(no_key=True).get(pk=unit.pk)
        current = _current(locked)
        blockers = _remove_blockers(locked, current, purpose, removed_at, now)
        if blockers:
            raise DomainError(blockers)
        _end(current, removed_at, actor, purpose, verified_by, verification_signature_id)  # type: ignore[arg-type]
        DoseUnit.objects.filter(pk=locked.pk).update(status=DoseUnit.Status.FROZEN)
        custody_record(
            batch=batch, unit=locked, to_location=to_location, scanned=read.text, performed_at=removed_at, actor=actor,
            notes=f"Unit {locked.code} removed from {current.position.code} for {purpose}, "  # type: ignore[union-attr]
                  f"verified by {verified_by.get_username()}.",
        )  # fmt: skip
        current.refresh_from_db()  # type: ignore[union-attr]
    return current  # type: ignore[return-value]


def _remove_blockers(
    unit: DoseUnit, current: Placement | None, purpose: str, at: dt.datetime, now: dt.datetime
) -> list[Blocker]:
    blockers = []
    if purpose not in (Placement.Purpose.SHIPMENT, Placement.Purpose.THAW):
        blockers.append(Blocker("removal_purpose", N_("A unit leaves storage for shipment or thaw.")))
    if current is None:
        blockers.append(Blocker("not_stored", N_("Unit %(code)s is not in a position."), {"code": unit.code}))
    elif at < current.stored_at:
        blockers.append(Blocker("before_stored", N_("The removal is before the unit was stored.")))
    if in_future(at, now):
        blockers.append(Blocker("future_time", N_("The removal time lies in the future.")))
    return blockers
