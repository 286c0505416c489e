"""QC specifications: is a result within its specification, and what are the limits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.errors import Blocker
from core.i18n import N_

QUALITATIVE = {"sterility": ("no_growth", "growth"), "mycoplasma": ("negative", "positive")}
QUANTITATIVE = (
    "endotoxin",
    "viability",
    "viable_cell_count",
    "cd73",
    "cd90",
    "cd105",
    "cd34",
    "cd45",
    "hla_dr",
)
TESTS = (*QUALITATIVE, *QUANTITATIVE)
# A failed safety test is a critical deviation; any other out-of-specification result a major one.
CRITICAL_TESTS = {"sterility", "mycoplasma", "endotoxin"}


@dataclass(frozen=True)
class DoseFacts:
    """What a spec may depend on: the formulated doses and the patient."""

    doses: int | None
    cells_per_dose: int | None
    volume_ml_per_dose: Decimal | None
    weight_kg: Decimal
    min_cells_per_dose: int
    max_cells_per_dose: int
    max_cells_per_kg: int | None


@dataclass(frozen=True)
class Evaluation:
    within_spec: bool
    specification: dict[str, Any]  # the spec with its computed limit, kept with the result
    detail: str


def find_spec(specs: list[dict[str, Any]], test: str) -> dict[str, Any] | None:
    return next((spec for spec in specs if spec["test"] == test), None)


def check_input(test: str, value: Decimal | None, result: str, spec: dict[str, Any] | None) -> list[Blocker]:
    """Every reason a result cannot be recorded as given."""
    if test not in TESTS:
        return [
            Blocker(
                "unknown_test",
                N_("'%(test)s' is not a QC test; use one of: %(tests)s."),
                {"test": test, "tests": ", ".join(TESTS)},
            )
        ]
    if spec is None:
        return [
            Blocker("test_not_required", N_("The protocol does not specify a %(test)s test."), {"test": test})
        ]
    if test in QUALITATIVE:
        if result not in QUALITATIVE[test]:
            return [
                Blocker(
                    "invalid_result",
                    N_("%(test)s result must be one of: %(results)s."),
                    {"test": test, "results": ", ".join(QUALITATIVE[test])},
                )
            ]
        return []
    if value is None:
        return [Blocker("invalid_result", N_("%(test)s needs a numeric value."), {"test": test})]
    if value < 0 or (test not in ("endotoxin", "viable_cell_count") and value > 100):
        return [
            Blocker(
                "invalid_result",
                N_("%(value)s is not a possible %(test)s value."),
                {"value": str(value), "test": test},
            )
        ]
    return []


def endotoxin_limit(k_eu_per_kg: Decimal, weight_kg: Decimal, volume_ml: Decimal) -> Decimal:
    """USP <85>: limit = K / M, with M the dose in mL per kg of body weight (EU/mL)."""
    return (k_eu_per_kg * weight_kg / volume_ml).quantize(Decimal("0.001"))


def evaluate(spec: dict[str, Any], value: Decimal | None, result: str, doses: DoseFacts) -> Evaluation:
    """Decide ``within_spec`` for a result already checked by ``check_input``."""
    kind = spec["kind"]
    if kind == "equals":
        ok = result == spec["expected"]
        return Evaluation(ok, dict(spec), f"{result} (required: {spec['expected']})")
    assert value is not None
    if kind == "min":
        limit = Decimal(str(spec["limit"]))
        return Evaluation(value >= limit, dict(spec), f"{value} (required >= {limit})")
    if kind == "max":
        limit = Decimal(str(spec["limit"]))
        return Evaluation(value <= limit, dict(spec), f"{value} (required <= {limit})")
    if kind == "endotoxin":
        limit = endotoxin_limit(
            Decimal(str(spec["k_eu_per_kg"])), doses.weight_kg, doses.volume_ml_per_dose or Decimal(1)
        )
        return Evaluation(
            value <= limit, {**spec, "limit": str(limit)}, f"{value} EU/mL (limit K/M = {limit} EU/mL)"
        )
    if kind == "dose_range":
        return _dose_range(spec, value, doses)
    raise ValueError(f"unknown specification kind {kind!r}")


def _dose_range(spec: dict[str, Any], value: Decimal, doses: DoseFacts) -> Evaluation:
    per_dose = value / (doses.doses or 1)
    high = Decimal(doses.max_cells_per_dose)
    if doses.max_cells_per_kg is not None:
        high = min(high, Decimal(doses.max_cells_per_kg) * doses.weight_kg)
    low = Decimal(doses.min_cells_per_dose)
    limits = {**spec, "min_per_dose": str(low), "max_per_dose": str(high.quantize(Decimal(1)))}
    return Evaluation(
        low <= per_dose <= high, limits, f"{per_dose:.3e} cells per dose (required {low:.3e}-{high:.3e})"
    )


def needs_formulation(spec: dict[str, Any]) -> bool:
    """Specs whose limit depends on the dose can only be evaluated after formulation."""
    return spec["kind"] in ("endotoxin", "dose_range")
