"""Culture steps: receipt to formulation. Each drives the state machine; corrections are amendments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from batches.domain.lifecycle import BatchStatus
from batches.domain.steps import (
    STEP_RULES,
    DoseLimits,
    check_formulation,
    check_performed_at,
    check_serum,
    check_step,
    check_temperature,
)
from batches.models import Batch, Collection, CultureStep, Dose, Finding
from batches.services.growth import growth_projection_refresh
from batches.services.identity import scan_verify
from batches.services.lifecycle import batch_transition
from core import scan
from core.audit import audit_context
from core.clock import in_future
from core.errors import Blocker, DomainError
from core.i18n import N_, nested
from core.roles import Role, require_role

# Values a step may carry, besides when/who/what-was-scanned.
STEP_FIELDS = (
    "temperature_c", "seal_intact", "medium_lot", "seeded_cells", "viable_cells", "viability_pct",
    "confluence_pct", "doses", "cells_per_dose", "volume_ml_per_dose", "equipment", "notes",
)  # fmt: skip
# The step before which a step of each kind cannot have happened.
_EARLIEST_AFTER = {
    "seeding": "receipt",
    "feeding": "seeding",
    "passage": "seeding",
    "cell_count": "seeding",
    "harvest": "seeding",
    "formulation": "harvest",
}


def step_record(
    *,
    batch: Batch,
    kind: str,
    actor: Any,
    scanned_identifier: str,
    performed_at: dt.datetime | None = None,
    serum_din: str | None = None,
    **values: Any,
) -> CultureStep:
    """Log a culture step on the batch the scan names, and move the batch on where the step does.

    Refused (DomainError, nothing changed) in the wrong state, with missing
    values, at a future time, with serum that is not this therapy's blood,
    or with doses outside the protocol or over the patient's cells/kg cap.
    Field values out of range raise ValidationError. Technicians only (NotPermitted).
    """
    require_role(actor, Role.TECHNICIAN, action=N_("log culture steps"))
    unknown = set(values) - set(STEP_FIELDS)
    if unknown:
        raise TypeError(f"unknown step values: {', '.join(sorted(unknown))}")
    values = _decimals(values)
    read = scan_verify(batch=batch, scanned_identifier=scanned_identifier, action=f"{kind} step", actor=actor)
    now = timezone.now()
    performed_at = performed_at or now
    with transaction.atomic(), audit_context(actor=actor, reason=f"{kind} step logged"):
        locked = (
            Batch.objects.select_for_update(no_key=True, of=("self",))
            .select_related("collection", "therapy__protocol", "therapy__patient")
            .get(pk=batch.pk)
        )
        serum, blockers = _resolve_serum(serum_din)
        blockers += check_step(kind, BatchStatus(locked.status), values)
        blockers += check_performed_at(performed_at, now, _earliest(locked, kind))
        blockers += _kind_blockers(locked, kind, values, serum, serum_din)
        if blockers:
            raise DomainError(blockers)
        step = CultureStep(
            batch=locked, kind=kind, performed_at=performed_at, performed_by=actor,
            scanned_identifier=read.text, serum_collection=serum,
            passage_number=_next_passage(locked) if kind == "passage" else None, **values,
        )  # fmt: skip
        step.full_clean()
        step.save()
        _after_step(locked, step, actor)
        growth_projection_refresh(batch=locked, now=now)
    batch.refresh_from_db()
    return step


def step_amend(*, step: CultureStep, actor: Any, reason: str, **values: Any) -> CultureStep:
    """Correct a logged step: a new step with the new values that ``amends`` the original.

    The original is never edited and stays visible (and in the audit trail).
    A formulation is not amended: its doses exist; reject and re-formulate.
    Technicians and QA only (NotPermitted).
    """
    require_role(actor, Role.TECHNICIAN, Role.QA, action=N_("correct culture steps"))
    if not reason.strip():
        raise DomainError([Blocker("reason_required", N_("A correction needs a reason."))])
    unknown = set(values) - {*STEP_FIELDS, "performed_at"}
    if unknown:
        raise TypeError(f"unknown step values: {', '.join(sorted(unknown))}")
    values = _decimals(values)
    with transaction.atomic(), audit_context(actor=actor, reason=reason):
        # The batch row first (as every write of the batch), then the step.
        locked = (
            Batch.objects.select_for_update(no_key=True, of=("self",))
            .select_related("therapy__protocol")
            .get(pk=step.batch_id)
        )
        original = CultureStep.objects.select_for_update(no_key=True).get(pk=step.pk)
        blockers = []
        if CultureStep.objects.filter(amends=original).exists():
            blockers.append(
                Blocker("already_amended", N_("This step was already corrected; correct the latest version."))
            )
        if original.kind == "formulation":
            blockers.append(
                Blocker("not_amendable", N_("A formulation cannot be corrected once its doses exist."))
            )
        if values.get("performed_at") and in_future(values["performed_at"], timezone.now()):
            blockers.append(Blocker("future_time", N_("The step time lies in the future.")))
        if blockers:
            raise DomainError(blockers)
        amendment = CultureStep.objects.get(pk=original.pk)
        amendment.pk = amendment.id = None
        amendment.performed_by = actor
        amendment.amends = original
        amendment.amendment_reason = reason
        for name, value in values.items():
            setattr(amendment, name, value)
        amendment.full_clean()
        amendment.save()
        growth_projection_refresh(batch=locked)
    return amendment


def _decimals(values: dict[str, Any]) -> dict[str, Any]:
    """Floats as typed (92.4, not 92.400000000000006): decimal columns keep what the person entered."""
    return {
        name: Decimal(str(value)) if isinstance(value, float) else value for name, value in values.items()
    }


def _resolve_serum(serum_din: str | None) -> tuple[Collection | None, list[Blocker]]:
    """The serum collection a DIN (with or without K) names, or why there is none."""
    if not serum_din:
        return None, []
    try:
        din = scan.parse_din(serum_din).din
    except scan.ScanError as error:
        return None, [
            Blocker(
                "invalid_identifier",
                N_("Serum collection: %(problem)s"),
                {"problem": nested(error.detail, error.params)},
            )
        ]
    serum = Collection.objects.select_related("therapy").filter(din=din).first()
    if serum is None:
        return None, [Blocker("unknown_serum", N_("No collection with DIN %(din)s."), {"din": din})]
    return serum, []


def _earliest(batch: Batch, kind: str) -> dt.datetime | None:
    if kind == "receipt":
        return batch.collection.collected_at
    anchor = _EARLIEST_AFTER.get(kind)
    step = batch.steps.filter(kind=anchor, amended_by__isnull=True).order_by("-performed_at").first()
    return step.performed_at if step else None


def _kind_blockers(
    batch: Batch, kind: str, values: dict[str, Any], serum: Collection | None, serum_din: str | None
) -> list[Blocker]:
    protocol = batch.therapy.protocol
    blockers: list[Blocker] = []
    if kind == "seeding" and protocol.uses_autologous_serum and not serum_din:
        blockers.append(
            Blocker(
                "missing_field",
                N_("Protocol %(protocol)s uses autologous serum: give serum_collection."),
                {"protocol": protocol.code},
            )
        )
    if serum is not None:
        blockers += check_serum(
            serum_kind=serum.kind, serum_therapy=serum.therapy.coi, batch_therapy=batch.therapy.coi
        )
    if kind == "formulation" and values.get("doses") and values.get("cells_per_dose"):
        harvest = (
            batch.steps.filter(kind="harvest", amended_by__isnull=True).order_by("-performed_at").first()
        )
        blockers += check_formulation(
            doses=int(values["doses"]),
            cells_per_dose=int(values["cells_per_dose"]),
            harvested_cells=harvest.viable_cells if harvest else None,
            weight_kg=batch.therapy.patient.weight_kg,
            limits=DoseLimits(
                protocol.min_cells_per_dose, protocol.max_cells_per_dose, protocol.max_cells_per_kg,
                protocol.doses_per_batch,
            ),
        )  # fmt: skip
    return blockers


def _next_passage(batch: Batch) -> int:
    return batch.steps.filter(kind="passage", amended_by__isnull=True).count() + 1


def _after_step(batch: Batch, step: CultureStep, actor: Any) -> None:
    """Findings of intake, doses of formulation, and the status the step leads to."""
    if step.kind == "receipt":
        for kind, detail in _receipt_findings(batch, step):
            Finding.objects.create(
                batch=batch,
                kind=kind,
                detail=detail,
                occurred_at=step.performed_at,
                recorded_by=actor,
                step=step,
            )
    if step.kind == "formulation":
        Dose.objects.bulk_create(
            Dose(batch=batch, number=n, cells=step.cells_per_dose, volume_ml=step.volume_ml_per_dose)
            for n in range(1, step.doses + 1)
        )
    target = STEP_RULES[step.kind].moves_to
    if target is not None:
        batch_transition(
            batch=batch, to=target, actor=actor, reason=f"{step.kind} step", at=step.performed_at
        )


def _receipt_findings(batch: Batch, step: CultureStep) -> list[tuple[str, str]]:
    protocol = batch.therapy.protocol
    found = []
    excursion = check_temperature(
        Decimal(step.temperature_c), protocol.transport_temp_min_c, protocol.transport_temp_max_c
    )
    if excursion:
        found.append((Finding.Kind.TEMPERATURE_EXCURSION, f"At receipt: {excursion}"))
    if not step.seal_intact:
        found.append((Finding.Kind.SEAL_BROKEN, "At receipt: seal not intact."))
    hours = (step.performed_at - batch.collection.collected_at).total_seconds() / 3600
    if hours > protocol.max_hours_collection_to_receipt:
        found.append(
            (
                Finding.Kind.LATE_RECEIPT,
                f"Received {hours:.0f} h after collection; the protocol allows {protocol.max_hours_collection_to_receipt} h.",
            )
        )
    return found
