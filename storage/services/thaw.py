"""Thaw at the clinic or the bedside: once per unit, and the post-thaw window starts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from batches.models import Batch
from core.audit import audit_context
from core.clock import in_future
from core.errors import Blocker, DomainError
from core.i18n import N_
from core.roles import Role, require_own_clinic, require_role
from storage.models import DoseUnit, Placement, Thaw
from storage.services.identity import unit_from_scan

THAWERS = (Role.TECHNICIAN, Role.COORDINATOR, Role.QA)
DEFAULT_METHOD = "37 °C water bath"
ALREADY_THAWED = Blocker("already_thawed", N_("This unit has already been thawed."))


def unit_thaw(
    *,
    dose_id: str,
    scanned_identifier: str,
    actor: Any,
    thawed_at: dt.datetime | None = None,
    method: str = DEFAULT_METHOD,
    viability_pct: Decimal | None = None,
) -> Thaw:
    """Record the thaw of the scanned unit of dose ``dose_id``: time, method, performer, optional viability.

    The unit must be out of storage (removed with verification, or shipped);
    a unit is thawed once (a one-to-one row) and never stored again. From now
    the protocol's post-thaw window counts (readiness: ``thaw_window_passed``).
    Technicians, coordinators (own clinic) and QA.
    """
    require_role(actor, *THAWERS, action=N_("record thaws"))
    unit, read = unit_from_scan(scanned=scanned_identifier, action="thaw", actor=actor, dose_id=dose_id)
    now = timezone.now()
    thawed_at = thawed_at or now
    with transaction.atomic(), audit_context(actor=actor, reason="unit thawed"):
        batch = (
            Batch.objects.select_for_update(no_key=True, of=("self",))
            .select_related("therapy__patient")
            .get(pk=unit.batch_id)
        )
        require_own_clinic(actor, batch.therapy.patient.clinic_id, action=N_("record thaws"))
        locked = DoseUnit.objects.select_for_update(no_key=True).get(pk=unit.pk)
        _refuse_if_invalid(locked, thawed_at, now, method, viability_pct)
        try:
            with transaction.atomic():
                thaw = Thaw.objects.create(
                    unit=locked, thawed_at=thawed_at, method=method.strip(), performed_by=actor,
                    scanned_identifier=read.text, viability_pct=viability_pct,
                )  # fmt: skip
        except IntegrityError as error:
            raise DomainError([ALREADY_THAWED]) from error
        DoseUnit.objects.filter(pk=locked.pk).update(status=DoseUnit.Status.THAWED)
    return thaw


def _refuse_if_invalid(
    unit: DoseUnit, at: dt.datetime, now: dt.datetime, method: str, viability: Decimal | None
) -> None:
    blockers = []
    if unit.status == DoseUnit.Status.THAWED or Thaw.objects.filter(unit=unit).exists():
        blockers.append(ALREADY_THAWED)
    elif Placement.objects.filter(unit=unit, removed_at__isnull=True).exists():
        blockers.append(Blocker("still_stored", N_("Unit %(code)s is still in storage: remove it with verification first."),
                                {"code": unit.code}))  # fmt: skip
    elif unit.status == DoseUnit.Status.DISCARDED:
        blockers.append(
            Blocker("unit_discarded", N_("Unit %(code)s has been discarded."), {"code": unit.code})
        )
    if in_future(at, now):
        blockers.append(Blocker("future_time", N_("The thaw time lies in the future.")))
    elif at < unit.cryopreservation.freeze_ended_at:
        blockers.append(Blocker("before_freeze", N_("The thaw is before the unit was frozen.")))
    if not method.strip():
        blockers.append(Blocker("method_required", N_("Name the thaw method.")))
    if viability is not None and not 0 <= viability <= 100:
        blockers.append(Blocker("viability_range", N_("Viability is a percentage from 0 to 100.")))
    if blockers:
        raise DomainError(blockers)
