"""Which culture step may be logged when, what it needs, and where it moves the batch.

Pure rules: the services feed in plain values and act on the blockers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from batches.domain.lifecycle import BatchStatus
from core.clock import in_future
from core.errors import Blocker

S = BatchStatus


@dataclass(frozen=True)
class StepRule:
    allowed_in: frozenset[BatchStatus]
    moves_to: BatchStatus | None
    required: tuple[str, ...]


STEP_RULES: dict[str, StepRule] = {
    "receipt": StepRule(frozenset({S.AWAITING_RECEIPT}), S.RECEIVED, ("temperature_c", "seal_intact")),
    "seeding": StepRule(frozenset({S.RECEIVED}), S.IN_CULTURE, ("seeded_cells", "medium_lot")),
    "feeding": StepRule(frozenset({S.IN_CULTURE}), None, ("medium_lot",)),
    "passage": StepRule(frozenset({S.IN_CULTURE}), None, ("viable_cells", "seeded_cells", "viability_pct")),
    "cell_count": StepRule(frozenset({S.IN_CULTURE}), None, ("viable_cells", "viability_pct")),
    "harvest": StepRule(frozenset({S.IN_CULTURE}), S.HARVESTED, ("viable_cells", "viability_pct")),
    "formulation": StepRule(
        frozenset({S.HARVESTED}), S.PENDING_RELEASE, ("doses", "cells_per_dose", "volume_ml_per_dose")
    ),
}
STEP_KINDS = tuple(STEP_RULES)


def check_step(kind: str, status: BatchStatus, values: dict[str, object]) -> list[Blocker]:
    """Every reason a ``kind`` step with ``values`` cannot be logged on a batch in ``status``."""
    rule = STEP_RULES.get(kind)
    if rule is None:
        return [Blocker("unknown_step", f"'{kind}' is not a step; use one of: {', '.join(STEP_KINDS)}.")]
    blockers = []
    if status not in rule.allowed_in:
        allowed = " or ".join(s.label.lower() for s in rule.allowed_in)
        blockers.append(
            Blocker("wrong_state", f"A {kind} step needs the batch {allowed}; it is {status.label.lower()}.")
        )
    missing = [name for name in rule.required if values.get(name) in (None, "")]
    if missing:
        blockers.append(Blocker("missing_field", f"A {kind} step needs: {', '.join(missing)}."))
    return blockers


def check_performed_at(
    performed_at: dt.datetime, now: dt.datetime, earliest: dt.datetime | None
) -> list[Blocker]:
    """A step happens in the past (never the future) and not before the batch's previous step."""
    blockers = []
    if in_future(performed_at, now):  # tolerates small clock drift between devices
        blockers.append(Blocker("future_time", "The step time lies in the future."))
    if earliest is not None and performed_at < earliest:
        blockers.append(
            Blocker(
                "before_previous_step",
                f"The step time is before the batch's previous step ({earliest:%Y-%m-%d %H:%M}).",
            )
        )
    return blockers


@dataclass(frozen=True)
class DoseLimits:
    min_cells_per_dose: int
    max_cells_per_dose: int
    max_cells_per_kg: int | None
    doses_per_batch: int


def check_formulation(
    *,
    doses: int,
    cells_per_dose: int,
    harvested_cells: int | None,
    weight_kg: Decimal | float,
    limits: DoseLimits,
) -> list[Blocker]:
    """The formulated doses respect the protocol's dose range, the patient's cells/kg cap and the harvest."""
    blockers = []
    if not 1 <= doses <= limits.doses_per_batch:
        blockers.append(
            Blocker(
                "dose_count", f"{doses} doses requested; the protocol allows 1 to {limits.doses_per_batch}."
            )
        )
    if not limits.min_cells_per_dose <= cells_per_dose <= limits.max_cells_per_dose:
        blockers.append(
            Blocker(
                "dose_out_of_range",
                f"{cells_per_dose:.3g} cells per dose is outside the protocol's range "
                f"{limits.min_cells_per_dose:.3g}-{limits.max_cells_per_dose:.3g}.",
            )
        )
    if limits.max_cells_per_kg is not None:
        cap = int(limits.max_cells_per_kg * Decimal(str(weight_kg)))
        if cells_per_dose > cap:
            blockers.append(
                Blocker(
                    "dose_over_cap",
                    f"{cells_per_dose:.3g} cells per dose exceeds this patient's cap of {cap:.3g} "
                    f"({limits.max_cells_per_kg:.3g} cells/kg x {weight_kg} kg).",
                )
            )
    if harvested_cells is not None and doses * cells_per_dose > harvested_cells:
        blockers.append(
            Blocker(
                "not_enough_cells",
                f"{doses} x {cells_per_dose:.3g} cells needs more than the {harvested_cells:.3g} harvested.",
            )
        )
    return blockers


def check_serum(*, serum_kind: str, serum_therapy: str, batch_therapy: str) -> list[Blocker]:
    """Autologous serum must be peripheral blood drawn for the same therapy."""
    blockers = []
    if serum_kind != "peripheral_blood":
        blockers.append(Blocker("serum_not_blood", "The serum collection is not a peripheral-blood draw."))
    if serum_therapy != batch_therapy:
        blockers.append(
            Blocker(
                "serum_not_autologous",
                f"The serum comes from therapy {serum_therapy}, not this batch's therapy {batch_therapy}: "
                "autologous serum only.",
            )
        )
    return blockers


def check_temperature(temperature_c: Decimal | None, low: Decimal, high: Decimal) -> str | None:
    """Words for an out-of-range temperature, or None when within [low, high] (or not measured)."""
    if temperature_c is None or low <= temperature_c <= high:
        return None
    return f"{temperature_c} °C is outside the protocol's range {low}-{high} °C."
