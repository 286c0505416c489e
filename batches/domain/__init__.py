"""Pure rules of the batches app: no ORM, no request, no clock (time is passed in).

* ``lifecycle``: batch statuses and the transition table.
* ``eligibility``: eligibility for a therapy and the harvest and infusion windows.
* ``growth``: population doublings, doubling time and the projected ready day.
"""

from batches.domain.eligibility import (
    Eligibility,
    PatientFacts,
    ProtocolRules,
    day_after_injury,
    eligibility,
    in_harvest_window,
    in_infusion_window,
    infusion_window_dates,
)
from batches.domain.growth import (
    CountPoint,
    GrowthInputError,
    GrowthPriors,
    Projection,
    cumulative_population_doublings,
    doubling_time_hours,
    population_doublings,
    project_ready_day,
    projected_ready_date,
    validate_count,
)
from batches.domain.lifecycle import TERMINAL, TRANSITIONS, BatchStatus, check_transition, quarantine_exit

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "BatchStatus",
    "CountPoint",
    "Eligibility",
    "GrowthInputError",
    "GrowthPriors",
    "PatientFacts",
    "Projection",
    "ProtocolRules",
    "check_transition",
    "cumulative_population_doublings",
    "day_after_injury",
    "doubling_time_hours",
    "eligibility",
    "in_harvest_window",
    "in_infusion_window",
    "infusion_window_dates",
    "population_doublings",
    "project_ready_day",
    "projected_ready_date",
    "quarantine_exit",
    "validate_count",
]
