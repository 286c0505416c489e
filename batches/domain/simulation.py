"""A simulator of bone-marrow MSC expansions, to validate the ready-day projection (``bench/projection.py``).

Pure and seeded: the same seed gives the same culture. Each culture draws its
own biology, is grown by the lab's routine (look daily, split near confluence,
count every few days and at each split) and reports what the lab would have
recorded: noisy counts and confluence readings. Its true ready day is the
first moment the true total expansion reaches the target.

Kinetics and where the ranges come from (ranges, not fitted values):

* Doubling time 1.5-3 days at early passages, rising with passage
  (Bonab et al. 2006, BMC Cell Biol 7:14, "Aging of mesenchymal stem cell in
  vitro"; Wagner et al. 2008, PLoS One 3:e2213, "Replicative senescence of
  mesenchymal stem cells: a continuous and organized process"): a culture's
  primary doubling time is log-normal around 2.1 days, and each passage
  multiplies it by 1.05-1.35.
* Lag after each seeding about a day, then log phase, then a stationary phase
  near confluence (Colter et al. 2000, PNAS 97:3213; Sekiya et al. 2002,
  Stem Cells 20:530): 0.4-1.6 days without growth after a split, logistic
  growth towards the flasks' carrying capacity.
* Seeding density a tenth or so of confluent density (e.g. 3,000-5,000
  cells/cm² seeded vs ~40,000 confluent): the fold is log-normal around 10
  per culture, and the lab seeds the *counted* cells at its density, so the
  new capacity follows the count. Primary colonies cover half the flask on day 6.5-10.5 and the
  first passage falls around days 9-14, as in routine BM-MSC culture.
* Counting error: CV 10-15% for hemocytometer and automated counters
  (Cadena-Herrera et al. 2015, Biotechnol Rep 7:9, "Validation of three
  viable-cell counting methods"); the count at a split, which sets the
  seeding, is done in duplicate and averaged; confluence is read by eye to
  +/-5-10 points.
* Growth rate of each period around the culture's trend: +/-6% (our choice;
  this is the part no count before the split can foresee).

``shifted=True`` draws a held-out population the projection was not tuned on:
slower donors (doubling around 2.6 days), a stronger passage slowdown, longer
lags, and a lab that splits later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from batches.domain.growth import CountPoint


@dataclass(frozen=True)
class SimulatedCulture:
    counts: list[CountPoint]  # everything the lab recorded, in day order
    target: float
    ready_day: float  # the truth the projection is scored against
    doubling_days: float  # the culture's primary doubling time (for the report)


@dataclass
class _Biology:
    rate: float  # primary growth rate, per day (natural log)
    slowdown: float  # ln(rate) lost per passage
    lag: tuple[float, float]  # uniform range of the lag after a split
    split_at: float
    count_cv: float
    fold: float  # confluent density / seeding density: the donor's cell size and the lab's SOP


def _biology(rng: np.random.Generator, shifted: bool) -> _Biology:
    doubling = float(np.clip(rng.lognormal(math.log(2.6 if shifted else 2.1), 0.22), 1.3, 4.5))
    per_passage = rng.uniform(1.15, 1.5) if shifted else rng.uniform(1.05, 1.35)
    return _Biology(
        rate=math.log(2) / doubling,
        slowdown=math.log(per_passage),
        lag=(0.8, 2.0) if shifted else (0.4, 1.6),
        split_at=rng.uniform(0.82, 0.95) if shifted else rng.uniform(0.75, 0.9),
        count_cv=rng.uniform(0.10, 0.15),
        fold=10 * rng.lognormal(0, 0.15),
    )


def simulate_culture(
    seed: int, *, target: float = 1e8, shifted: bool = False, step: float = 0.02
) -> SimulatedCulture:
    """One culture from seeding until well past its target (time step ``step`` days)."""
    rng = np.random.default_rng(seed)
    bio = _biology(rng, shifted)
    capacity = 2e7 * rng.lognormal(0, 0.3)  # primary culture's confluent yield
    half_day = rng.uniform(6.5, 10.5)
    cells = capacity / (1 + math.exp(bio.rate * half_day))  # effective growing cells at day 0
    passage, rate, lag_until = 0, bio.rate * math.exp(rng.normal(0, 0.05)), 0.0
    counts: list[CountPoint] = []
    next_count = rng.uniform(2.5, 4.0)  # with the first medium change
    next_look = 1.0
    ready_day: float | None = None
    day = 0.0
    while day < 120 and (ready_day is None or day < ready_day + 1):
        if day >= lag_until:
            cells += rate * cells * (1 - cells / capacity) * step
        day += step
        if ready_day is None and cells >= target:
            ready_day = day
        confluence = cells / capacity
        if day >= next_look:  # the daily look at the flasks
            next_look += 1.0
            if confluence >= bio.split_at:
                # The split count decides the seeding: done in duplicate and averaged, as SOPs ask.
                seen = (_count(rng, cells, bio.count_cv) + _count(rng, cells, bio.count_cv)) / 2
                counts.append(CountPoint(day, seen, passage, _read(rng, confluence), seen))
                # The lab seeds the counted cells at its seeding density: the new flask area,
                # hence the capacity, follows the count, not the true number.
                passage, capacity = passage + 1, bio.fold * seen
                rate = bio.rate * math.exp(-bio.slowdown * passage + rng.normal(0, 0.06))
                lag_until = day + rng.uniform(*bio.lag)
                next_count = day + rng.uniform(2.5, 3.5)
                continue
        if day >= next_count:
            counts.append(CountPoint(day, _count(rng, cells, bio.count_cv), passage, _read(rng, confluence)))
            next_count += rng.uniform(2.5, 3.5)
    return SimulatedCulture(
        counts, target, ready_day if ready_day is not None else math.inf, math.log(2) / bio.rate
    )


def _count(rng: np.random.Generator, cells: float, cv: float) -> float:
    return float(round(cells * math.exp(rng.normal(0, cv))))


def _read(rng: np.random.Generator, confluence: float) -> float:
    """Confluence by eye: to the nearest 5 points, +/-7 points of error."""
    return float(np.clip(round((confluence * 100 + rng.normal(0, 7)) / 5) * 5, 5, 100))
