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
from core.i18n import N_, term

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
# The step kinds as refusals name them ("A seeding step needs ..."), for the catalogue.
STEP_WORDS = (
    N_("receipt"), N_("seeding"), N_("feeding"), N_("passage"), N_("cell_count"), N_("harvest"), N_("formulation"),
)  # fmt: skip


def check_step(kind: str, status: BatchStatus, values: dict[str, object]) -> list[Blocker]:
    """Every reason a ``kind`` step with ``values`` cannot be logged on a batch in ``status``."""
    rule = STEP_RULES.get(kind)
    if rule is None:
        return [
            Blocker(
                "unknown_step",
                N_("'%(kind)s' is not a step; use one of: %(kinds)s."),
                {"kind": kind, "kinds": ", ".join(STEP_KINDS)},
            )
        ]
    blockers = []
    if status not in rule.allowed_in:
        allowed = [term(w) for w in sorted(s.words for s in rule.allowed_in)]
        blockers.append(
            Blocker(
                "wrong_state",
                N_("A %(kind)s step needs the batch %(allowed)s; it is %(status)s."),
                {"kind": term(kind), "allowed": allowed, "status": term(status.words)},
            )
        )
    missing = [name for name in rule.required if values.get(name) in (None, "")]
    if missing:
        blockers.append(
            Blocker(
                "missing_field",
                N_("A %(kind)s step needs: %(fields)s."),
                {"kind": term(kind), "fields": ", ".join(missing)},
            )
        )
    return blockers


def check_performed_at(
    performed_at: dt.datetime, now: dt.datetime, earliest: dt.datetime | None
) -> list[Blocker]:
    """A step happens in the past (never the future) and not before the batch's previous step."""
    blockers = []
    if in_future(performed_at, now):  # tolerates small clock drift between devices
        blockers.append(Blocker("future_time", N_("The step time lies in the future.")))
    if earliest is not None and performed_at < earliest:
        blockers.append(
            Blocker(
                "before_previous_step",
                N_("The step time is before the batch's previous step (%(earliest)s)."),
                {"earliest": f"{earliest:%Y-%m-%d %H:%M}"},
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
                "dose_count",
                N_("%(doses)s doses requested; the protocol allows 1 to %(most)s."),
                {"doses": doses, "most": limits.doses_per_batch},
            )
        )
    if not limits.min_cells_per_dose <= cells_per_dose <= limits.max_cells_per_dose:
        blockers.append(
            Blocker(
                "dose_out_of_range",
                N_("%(cells)s cells per dose is outside the protocol's range %(low)s-%(high)s."),
                {
                    "cells": f"{cells_per_dose:.3g}",
                    "low": f"{limits.min_cells_per_dose:.3g}",
                    "high": f"{limits.max_cells_per_dose:.3g}",
                },
            )
        )
    if limits.max_cells_per_kg is not None:
        cap = int(limits.max_cells_per_kg * Decimal(str(weight_kg)))
        if cells_per_dose > cap:
            blockers.append(
                Blocker(
                    "dose_over_cap",
                    N_(
                        "%(cells)s cells per dose exceeds this patient's cap of %(cap)s "
                        "(%(per_kg)s cells/kg x %(weight)s kg)."
                    ),
                    {
                        "cells": f"{cells_per_dose:.3g}",
                        "cap": f"{cap:.3g}",
                        "per_kg": f"{limits.max_cells_per_kg:.3g}",
                        "weight": str(weight_kg),
                    },
                )
            )
    if harvested_cells is not None and doses * cells_per_dose > harvested_cells:
        blockers.append(
            Blocker(
                "not_enough_cells",
                N_("%(doses)s x %(cells)s cells needs more than the %(harvested)s harvested."),
                {"doses": doses, "cells": f"{cells_per_dose:.3g}", "harvested": f"{harvested_cells:.3g}"},
            )
        )
    return blockers


def check_serum(*, serum_kind: str, serum_therapy: str, batch_therapy: str) -> list[Blocker]:
    """Autologous serum must be peripheral blood drawn for the same therapy."""
    blockers = []
    if serum_kind != "peripheral_blood":
        blockers.append(
            Blocker("serum_not_blood", N_("The serum collection is not a peripheral-blood draw."))
        )
    if serum_therapy != batch_therapy:
        blockers.append(
            Blocker(
                "serum_not_autologous",
                N_(
                    "The serum comes from therapy %(serum_therapy)s, not this batch's therapy %(therapy)s: "
                    "autologous serum only."
                ),
                {"serum_therapy": serum_therapy, "therapy": batch_therapy},
            )
        )
    return blockers


def check_temperature(temperature_c: Decimal | None, low: Decimal, high: Decimal) -> str | None:
    """Words for an out-of-range temperature, or None when within [low, high] (or not measured)."""
    if temperature_c is None or low <= temperature_c <= high:
        return None
    return f"{temperature_c} °C is outside the protocol's range {low}-{high} °C."
