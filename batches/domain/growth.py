"""Pure growth maths for a culture: population doublings, doubling time, and the ready-day projection.

No ORM, no request, no clock. Cell numbers may be ints, floats or Decimals.

The projection (``project_ready_day``)
--------------------------------------
A straight line through log(cells) is systematically early for MSC: growth
slows after every seeding or passage (lag), as a flask nears confluence
(contact inhibition) and from one passage to the next (replicative ageing).
The model (``batches.domain.expansion``) has all three:

* each growth period (the primary culture, then each split) is a logistic
  curve towards the flasks' capacity: confluence readings (``confluence_pct``)
  place the curve on that capacity; after a split, nothing grows for a lag,
  and the capacity is the cells re-seeded times a fold (confluent / seeding
  density);
* the growth rate falls by a fixed fraction per passage, with a small
  random effect per period;
* the lab's routine runs the future: split at about 82% confluence at the
  next daily look, then lag, regrowth and so on until the target.

Parameters are fitted per culture by maximum a posteriori with the
protocol's priors (``GrowthPriors``, one small object per reference protocol
in ``PROTOCOL_PRIORS``): a culture with two counts is its protocol's typical
culture nudged by them, one with many counts and confluence readings is
fitted on its own. Posterior draws (Laplace approximation) run forward give
the ready day (median) and its 80% interval (``low``/``high``, the 10th and
90th percentiles). Deterministic: the draws use a fixed seed.

Contracts kept from the straight-line version: no counts, one count day,
no growth (the latest counts of the current period fall or double more
slowly than every 20 days while the flasks are not full) give ``None`` with
a reason; a target already reached gives the latest count's day.

Sources of the priors and of the simulator that validates them
(``batches.domain.simulation``, ``bench/projection.py``): doubling times of
1.5-3 days for bone-marrow MSC at early passages, rising with passage (Bonab
et al. 2006, BMC Cell Biol 7:14; Wagner et al. 2008, PLoS One 3:e2213); lag,
log and stationary phases after seeding (Colter et al. 2000, PNAS 97:3213;
Sekiya et al. 2002, Stem Cells 20:530); counting CV 10-15% (Cadena-Herrera et
al. 2015, Biotechnol Rep 7:9). Seeding vs confluent density (about 1:10),
the split confluence and the primary culture's half-confluence day are
routine-practice ranges, not published constants: a facility should refit
``PROTOCOL_PRIORS`` from its own batch records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from batches.domain import expansion
from batches.domain.expansion import DEFAULT_PRIORS, PROTOCOL_PRIORS, GrowthPriors, priors_for

Number = int | float | Decimal

# The "not growing" test and the reported doubling time of a reached target use the latest counts.
FIT_POINTS = 5
# Below this slope (doublings per day) the culture is treated as not growing:
# it would take longer than about 2,700 years to double once.
MIN_GROWTH_PER_DAY = 1e-6

# Counts of one growth period at least this far apart that double more slowly than this
# are a stalled culture (MSC double in 1.5-5 days until senescence), unless the flasks are full.
STALLED_DOUBLING_DAYS = 20.0
STALL_SPAN_DAYS = 1.0

NO_COUNTS = "no counts"
ONE_COUNT = "only one count"
NO_GROWTH = "no growth"


class GrowthInputError(ValueError):
    """A cell count, percentage or time that cannot be real."""


def _positive(value: Number, what: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise GrowthInputError(f"The {what} must be a positive number of cells, not {value}.")
    return number


def _percentage(value: Number | None, what: str) -> None:
    if value is not None and not 0 <= float(value) <= 100:
        raise GrowthInputError(f"The {what} must be between 0 and 100%, not {value}.")


def population_doublings(cells_in: Number, cells_out: Number) -> float:
    """Population doublings of one passage: ``log2(cells_out / cells_in)``."""
    seeded = _positive(cells_in, "seeded cell count")
    harvested = _positive(cells_out, "harvested cell count")
    return math.log2(harvested / seeded)


def cumulative_population_doublings(passages: Sequence[tuple[Number, Number]]) -> float:
    """Sum of the population doublings of ``(seeded, harvested)`` passages (0.0 for none)."""
    return sum((population_doublings(seeded, harvested) for seeded, harvested in passages), 0.0)


def doubling_time_hours(cells_in: Number, cells_out: Number, hours: Number) -> float | None:
    """Hours per population doubling over ``hours`` of culture; ``None`` when the cells did not grow."""
    if not float(hours) > 0:
        raise GrowthInputError(f"The culture time must be more than 0 hours, not {hours}.")
    doublings = population_doublings(cells_in, cells_out)
    return float(hours) / doublings if doublings > 0 else None


def validate_count(
    viable_cells: Number,
    viability_pct: Number | None = None,
    confluence_pct: Number | None = None,
) -> None:
    """Refuse a cell count that cannot be real: no cells, or a percentage outside 0-100."""
    _positive(viable_cells, "viable cell count")
    _percentage(viability_pct, "viability")
    _percentage(confluence_pct, "confluence")


@dataclass(frozen=True)
class CountPoint:
    """Total expanded cells on culture day ``day`` (counts times the split ratios so far).

    Optional, where the lab recorded them: ``passage`` of the flasks counted
    (0 for the primary culture), their ``confluence_pct``, and on the count of
    a passage the cells re-seeded right after it (``seeded_cells_after_split``,
    in the units of ``cells``): that starts a new growth period.
    """

    day: float
    cells: float
    passage: int | None = None
    confluence_pct: float | None = None
    seeded_cells_after_split: float | None = None


@dataclass(frozen=True)
class Projection:
    """When the culture reaches its target.

    ``ready_day`` is the culture day of readiness (the latest count's day when
    already reached) or ``None``, and then ``reason`` says why. ``low`` and
    ``high`` bound the 80% interval of the ready day (equal to it once reached).
    """

    ready_day: float | None
    doubling_time_days: float | None
    reason: str = ""
    reached: bool = False
    low: float | None = None
    high: float | None = None


def _checked(counts: Sequence[CountPoint]) -> list[CountPoint]:
    for point in counts:
        if not math.isfinite(float(point.day)) or point.day < 0:
            raise GrowthInputError(f"A culture day must be 0 or later, not {point.day}.")
        _positive(point.cells, f"cell count on day {point.day}")
        _percentage(point.confluence_pct, f"confluence on day {point.day}")
        if point.seeded_cells_after_split is not None:
            _positive(point.seeded_cells_after_split, f"re-seeded cell count on day {point.day}")
        if point.passage is not None and point.passage < 0:
            raise GrowthInputError(f"A passage number must be 0 or more, not {point.passage}.")
    return sorted(counts, key=lambda point: point.day)


def _slope(points: Sequence[CountPoint]) -> float | None:
    """Least-squares slope of log2(cells) against day (doublings per day); ``None`` without a day spread."""
    days = [float(p.day) for p in points]
    logs = [math.log2(float(p.cells)) for p in points]
    mean_day, mean_log = sum(days) / len(days), sum(logs) / len(logs)
    spread = sum((d - mean_day) ** 2 for d in days)
    if spread == 0:
        return None
    covariance = sum((d - mean_day) * (y - mean_log) for d, y in zip(days, logs, strict=True))
    return covariance / spread


def _doubling_time(points: Sequence[CountPoint]) -> float | None:
    slope = _slope(points)
    # An infinite slope only comes from days a rounding error apart: no usable rate.
    if slope is None or not MIN_GROWTH_PER_DAY < slope < math.inf:
        return None
    return 1 / slope


def _current_period(points: Sequence[CountPoint]) -> list[CountPoint]:
    """The counts since the latest split (a split count ends its own period)."""
    since = [i for i, p in enumerate(points) if p.seeded_cells_after_split]
    return list(points[since[-1] + 1 :]) if since else list(points)


def _not_growing(points: Sequence[CountPoint], priors: GrowthPriors) -> bool:
    """The latest counts of the current period fall or stall, and the flasks are not (known to be) full."""
    period = _current_period(points)[-FIT_POINTS:]
    if len({p.day for p in period}) < 2 or period[-1].day - period[0].day < STALL_SPAN_DAYS:
        return False
    doubling = _doubling_time(period)
    if doubling is not None and doubling < STALLED_DOUBLING_DAYS:
        return False
    confluence = period[-1].confluence_pct
    return confluence is None or float(confluence) < priors.passage_at * 100


def project_ready_day(
    counts: Sequence[CountPoint], target_cells: Number, priors: GrowthPriors = DEFAULT_PRIORS
) -> Projection:
    """Project the culture day on which the total expanded cells reach ``target_cells``, with its 80% interval.

    The expansion model (lag, confluence, passage slowdown; see the module
    docstring) is fitted to the counts with ``priors`` as its prior, and its
    posterior run forward: ``ready_day`` is the median, ``low``/``high`` the
    10th and 90th percentiles. A target already reached gives the latest
    count's day. Never raises for flat or falling data (``None`` with a
    reason); raises ``GrowthInputError`` for counts or days that cannot be real.
    """
    target = _positive(target_cells, "target cell count")
    points = _checked(counts)
    if not points:
        return Projection(None, None, NO_COUNTS)
    latest = points[-1]
    if float(latest.cells) >= target:
        day = float(latest.day)
        return Projection(day, _doubling_time(points[-FIT_POINTS:]), reached=True, low=day, high=day)
    if len({p.day for p in points}) < 2:
        return Projection(None, None, ONE_COUNT)
    if _not_growing(points, priors):
        return Projection(None, None, NO_GROWTH)
    series = expansion.series_of(
        [float(p.day) for p in points],
        [float(p.cells) for p in points],
        [p.passage for p in points],
        [None if p.confluence_pct is None else float(p.confluence_pct) for p in points],
        [None if p.seeded_cells_after_split is None else float(p.seeded_cells_after_split) for p in points],
    )
    fitted = expansion.fit(series, priors)
    ready = expansion.forward(fitted, series, target, priors)
    finite = ready[np.isfinite(ready)]
    if finite.size < ready.size / 2:
        return Projection(None, None, NO_GROWTH)
    # Draws that never get there count as the horizon (the latest day the model looks at).
    ready = np.minimum(ready, expansion.HORIZON_DAYS)
    low, median, high = (float(q) for q in np.quantile(ready, [0.1, 0.5, 0.9]))
    # The doubling time shown is the one the counts show (latest counts, straight line), as the
    # lab computes it; the model's intrinsic rate stands in only where they show none.
    observed = _doubling_time(points[-FIT_POINTS:])
    return Projection(
        ready_day=median,
        doubling_time_days=observed or math.log(2) / expansion.current_rate(fitted, series),
        low=low,
        high=high,
    )


def projected_ready_date(seeded_on: date, projection: Projection) -> date | None:
    """Calendar date of readiness: the seeding date plus the ready day rounded up, or ``None``."""
    if projection.ready_day is None:
        return None
    try:
        return seeded_on + timedelta(days=math.ceil(projection.ready_day))
    except OverflowError:
        # A culture that barely grows projects past the calendar: no useful date.
        return None


__all__ = [
    "DEFAULT_PRIORS",
    "NO_COUNTS",
    "NO_GROWTH",
    "ONE_COUNT",
    "PROTOCOL_PRIORS",
    "CountPoint",
    "GrowthInputError",
    "GrowthPriors",
    "Projection",
    "cumulative_population_doublings",
    "doubling_time_hours",
    "population_doublings",
    "priors_for",
    "project_ready_day",
    "projected_ready_date",
    "validate_count",
]
