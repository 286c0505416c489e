"""The cryopreservation step after formulation: the freeze, and one identified unit per bag or vial."""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from batches.domain import BatchStatus
from batches.models import Batch, Dose
from batches.services import scan_verify
from core.audit import audit_context
from core.clock import in_future
from core.errors import Blocker, DomainError
from core.i18n import N_
from core.roles import Role, require_role
from storage.models import Cryopreservation, DoseUnit

MAX_UNITS_PER_DOSE = 26  # suffixes A-Z


@dataclass(frozen=True)
class Freeze:
    started_at: dt.datetime
    ended_at: dt.datetime
    freezer: str
    program: str
    cryoprotectant: str
    cryoprotectant_lot: str


def cryopreservation_record(
    *,
    batch: Batch,
    freeze: Freeze,
    units_per_dose: int,
    unit_kind: str,
    fill_volume_ml: Decimal,
    scanned_identifier: str,
    actor: Any,
) -> Cryopreservation:
    """Record the freeze of a formulated batch and create its units: dose identifier + suffix (A, B...).

    Each dose's shelf life now counts from the end of the freeze, with the
    protocol's ``shelf_life_hours``. Once per batch (a one-to-one row), while the
    batch awaits release. Technicians only.
    """
    require_role(actor, Role.TECHNICIAN, action=N_("record cryopreservation"))
    read = scan_verify(
        batch=batch, scanned_identifier=scanned_identifier, action="cryopreservation", actor=actor
    )
    with transaction.atomic(), audit_context(actor=actor, reason="cryopreservation"):
        locked = (
            Batch.objects.select_for_update(no_key=True, of=("self",))
            .select_related("therapy__protocol")
            .get(pk=batch.pk)
        )
        doses = list(Dose.objects.select_for_update(no_key=True).filter(batch=locked).order_by("number"))
        _refuse_if_invalid(locked, doses, freeze, units_per_dose, unit_kind, fill_volume_ml)
        record = Cryopreservation.objects.create(
            batch=locked, freeze_started_at=freeze.started_at, freeze_ended_at=freeze.ended_at,
            freezer=freeze.freezer, program=freeze.program, cryoprotectant=freeze.cryoprotectant,
            cryoprotectant_lot=freeze.cryoprotectant_lot, scanned_identifier=read.text, performed_by=actor,
        )  # fmt: skip
        DoseUnit.objects.bulk_create(
            DoseUnit(batch=locked, dose=dose, cryopreservation=record, suffix=suffix, kind=unit_kind,
                     code=f"{locked.din}-{dose.number}-{suffix}", fill_volume_ml=fill_volume_ml)
            for dose in doses
            for suffix in string.ascii_uppercase[:units_per_dose]
        )  # fmt: skip
        expires = freeze.ended_at + dt.timedelta(hours=locked.therapy.protocol.shelf_life_hours)
        Dose.objects.filter(batch=locked).update(expires_at=expires)
    return record


def _refuse_if_invalid(
    batch: Batch, doses: list[Dose], freeze: Freeze, units: int, kind: str, volume: Decimal
) -> None:
    blockers = []
    if batch.status != BatchStatus.PENDING_RELEASE:
        blockers.append(Blocker("wrong_state", N_("Only a formulated batch awaiting release is frozen.")))
    if not doses:
        blockers.append(Blocker("no_doses", N_("The batch has not been formulated into doses.")))
    if Cryopreservation.objects.filter(batch=batch).exists():
        blockers.append(Blocker("already_frozen", N_("This batch's freeze is already recorded.")))
    if not freeze.started_at < freeze.ended_at:
        blockers.append(Blocker("freeze_times", N_("The freeze ends after it starts.")))
    if in_future(freeze.ended_at, timezone.now()):
        blockers.append(Blocker("future_time", N_("The freeze end lies in the future.")))
    for name in ("freezer", "program", "cryoprotectant", "cryoprotectant_lot"):
        if not getattr(freeze, name).strip():
            blockers.append(
                Blocker("required", N_("%(field)s is required."), {"field": name.replace("_", " ")})
            )
    if not 1 <= units <= MAX_UNITS_PER_DOSE:
        blockers.append(
            Blocker("units_per_dose", N_("Each dose fills 1 to %(max)s units."), {"max": MAX_UNITS_PER_DOSE})
        )
    if kind not in DoseUnit.Kind.values:
        blockers.append(Blocker("unit_kind", N_("A unit is a bag or a vial.")))
    if doses and not Decimal("0.1") <= volume * units <= doses[0].volume_ml:
        blockers.append(
            Blocker("fill_volume", N_("%(units)s units of %(volume)s mL do not fit a dose of %(dose)s mL."),
                    {"units": units, "volume": volume, "dose": doses[0].volume_ml})
        )  # fmt: skip
    if blockers:
        raise DomainError(blockers)
