"""The expansion model behind the ready-day projection: lag, confluence, passage slowdown.

Pure numerics (numpy, scipy): no ORM, no clock. ``batches.domain.growth`` is
the public face; the model, its parameters and its sources are described there.

A culture is a chain of *growth periods*. Period 0 starts at seeding; each
split (a count with ``seeded_cells_after_split``) starts the next one from the
cells re-seeded. In one period the cells follow a logistic curve towards the
period's carrying capacity ``K`` (a confluent flask set):

* period 0 (primary culture): ``N(t) = K0 / (1 + exp(-r0 (t - m)))``: the
  seeded mononuclear cells are not the cells that grow, so the curve is placed
  by its half-confluence day ``m`` instead of its seeding;
* period i >= 1: no growth for ``lag`` days after the split, then
  ``N(t) = C S / (1 + (C - 1) exp(-r_i (t - split - lag)))`` with ``S`` the cells
  re-seeded and ``C`` the fold from seeding density to confluence;
* ``ln r_i = ln r0 - slowdown * passage + eta_i`` (passage-to-passage slowdown,
  with a small random effect per period).

Parameters ``theta`` = (ln r0, slowdown, lag, ln C, ln K0, m, eta_1..eta_n) are
fitted by maximum a posteriori (``scipy.optimize.least_squares`` on the log
counts, the confluence readings and the priors as extra residuals), so a
culture with few counts stays at its protocol's priors and one with many is
fitted on its own. The posterior is approximated by a normal distribution
(the Laplace approximation: the inverse of JᵀJ at the optimum); draws of it are
run forward with the lab's passaging policy (split at ``passage_at``
confluence) and new per-period variation, and the quantiles of the ready days
are the projection and its interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

LN2 = math.log(2)
# Draws of the posterior run forward; a fixed seed keeps the projection a pure function.
DRAWS = 400
SEED = 20_061_213
# Forward runs stop here: a culture that needs more passages or days than this is not going to be ready.
MAX_FUTURE_PASSAGES = 25
HORIZON_DAYS = 3650.0


@dataclass(frozen=True)
class GrowthPriors:
    """What a protocol's cultures usually do, before a culture's own counts say otherwise.

    The defaults are bone-marrow MSC in 10% serum medium at early passages
    (sources in ``batches.domain.growth``); a protocol with other cells or
    media gets its own object in ``PROTOCOL_PRIORS``. The spreads are wider
    than the simulated population's: that cost nothing on held-out cultures
    and keeps the interval more honest where a facility's cultures differ
    from the priors (bench/projection.py, set ``shifted``).
    """

    doubling_days: float = 2.1  # exponential-phase doubling time of the primary culture
    doubling_log_sd: float = 0.3
    passage_slowdown: float = 0.18  # ln(growth rate) lost per passage: doubling time x1.2 per passage
    passage_slowdown_sd: float = 0.12
    passage_rate_sd: float = 0.06  # one period's growth rate around the trend (ln units)
    lag_days: float = 1.0  # no growth after a split while the cells attach and spread
    lag_sd: float = 0.5
    reseed_fold: float = 10.0  # confluent cells per cell re-seeded (seeding vs confluent density)
    reseed_fold_log_sd: float = 0.15
    primary_half_confluence_day: float = 8.5  # primary colonies cover half the flask
    primary_half_confluence_sd: float = 1.8
    passage_at: float = 0.825  # confluence at which the lab splits
    passage_at_sd: float = 0.045
    look_every_days: float = 1.0  # the flasks are looked at daily: a split comes up to a day after passage_at
    count_cv: float = 0.125  # hemocytometer / automated counter
    confluence_sd: float = 0.08  # confluence read by eye, as a fraction
    # Calibration: the posterior and the forward variation are widened by this factor so
    # the 80% interval covers about 80% of simulated cultures (bench/projection.py).
    spread: float = 0.95


DEFAULT_PRIORS = GrowthPriors()
PROTOCOL_PRIORS: dict[str, GrowthPriors] = {
    "SCI-SUBACUTE-IV": DEFAULT_PRIORS,
    "SCI-CHRONIC-IT": DEFAULT_PRIORS,
}


def priors_for(protocol_code: str) -> GrowthPriors:
    """The priors of a reference protocol; the bone-marrow MSC defaults for any other."""
    return PROTOCOL_PRIORS.get(protocol_code, DEFAULT_PRIORS)


@dataclass(frozen=True)
class Series:
    """Counts split into growth periods (arrays, one entry per count or per period)."""

    day: np.ndarray
    ln_cells: np.ndarray
    confluence: np.ndarray  # fraction, NaN where not read
    period: np.ndarray  # growth period of each count (a split count ends its period)
    starts: np.ndarray  # day each period starts (0 for the primary culture)
    seeded: np.ndarray  # cells re-seeded at the start of each period (NaN for period 0)
    passage: np.ndarray  # passage number of each period


_A, _G, _LAG, _C, _K0, _M = range(6)


def _rates(theta: np.ndarray, series: Series) -> np.ndarray:
    eta = np.concatenate([[0.0], theta[6:]])
    return np.exp(theta[_A] - theta[_G] * series.passage + eta)


def _curve(theta: np.ndarray, series: Series, day: np.ndarray, period: np.ndarray):
    """ln N and confluence (N / K) of the model at ``day`` in ``period``."""
    r = _rates(theta, series)[period]
    fold = math.exp(theta[_C])
    primary = period == 0
    x = np.where(primary, -r * (day - theta[_M]), 0.0)
    grown = np.maximum(day - series.starts[period] - theta[_LAG], 0.0)
    x = np.where(primary, x, math.log(fold - 1) - r * grown)
    ln_k = np.where(primary, theta[_K0], theta[_C] + np.log(np.where(primary, 1.0, series.seeded[period])))
    ln_u = -np.logaddexp(0.0, x)
    return ln_k + ln_u, np.exp(ln_u)


def _prior(priors: GrowthPriors, series: Series) -> tuple[np.ndarray, np.ndarray]:
    periods = len(series.starts)
    primary = series.ln_cells[series.period == 0]
    # ln K0 is placed by the half-confluence day; this weak prior only keeps it finite.
    k0 = (primary.max() if primary.size else 15.0) + 1.0
    mean = [
        math.log(LN2 / priors.doubling_days), priors.passage_slowdown, priors.lag_days,
        math.log(priors.reseed_fold), k0, priors.primary_half_confluence_day,
    ]  # fmt: skip
    sd = [
        priors.doubling_log_sd, priors.passage_slowdown_sd, priors.lag_sd,
        priors.reseed_fold_log_sd, 3.0, priors.primary_half_confluence_sd,
    ]  # fmt: skip
    return (
        np.array(mean + [0.0] * (periods - 1)),
        np.array(sd + [priors.passage_rate_sd] * (periods - 1)),
    )


@dataclass(frozen=True)
class Fit:
    theta: np.ndarray
    covariance: np.ndarray


def fit(series: Series, priors: GrowthPriors) -> Fit:
    """Maximum a posteriori parameters and their Laplace covariance."""
    mean, sd = _prior(priors, series)
    sigma_count = math.log1p(priors.count_cv)
    read = ~np.isnan(series.confluence)

    def residuals(theta: np.ndarray) -> np.ndarray:
        ln_n, u = _curve(theta, series, series.day, series.period)
        return np.concatenate(
            [
                (series.ln_cells - ln_n) / sigma_count,
                (series.confluence[read] - u[read]) / priors.confluence_sd,
                (theta - mean) / sd,
            ]
        )

    lower = np.full(mean.size, -np.inf)
    upper = np.full(mean.size, np.inf)
    lower[_LAG], upper[_LAG] = 0.0, 5.0
    lower[_C], upper[_C] = math.log(1.5), math.log(200.0)
    lower[_A], upper[_A] = math.log(LN2 / 60), math.log(LN2 / 0.2)
    start = np.clip(mean, lower + 1e-9, upper - 1e-9)
    result = least_squares(residuals, start, bounds=(lower, upper), method="trf", x_scale="jac")
    jac = result.jac
    covariance = np.linalg.pinv(jac.T @ jac)
    return Fit(result.x, covariance)


def current_rate(result: Fit, series: Series) -> float:
    """Growth rate (per day, natural log) of the latest period at the fitted parameters."""
    return float(_rates(result.theta, series)[-1])


def _time_to(u: np.ndarray, theta: np.ndarray, r: np.ndarray, start: float, primary: bool) -> np.ndarray:
    """Day the period's confluence reaches ``u`` (per draw)."""
    logit = np.log(u) - np.log1p(-u)
    if primary:
        return theta[:, _M] + logit / r
    fold = np.exp(theta[:, _C])
    return start + theta[:, _LAG] + np.maximum(np.log(fold - 1) + logit, 0.0) / r


def forward(result: Fit, series: Series, target: float, priors: GrowthPriors) -> np.ndarray:
    """Ready days of ``DRAWS`` posterior draws run forward (``inf`` where never ready)."""
    rng = np.random.default_rng(SEED)
    spread = priors.spread
    theta = rng.multivariate_normal(result.theta, result.covariance * spread**2, DRAWS, method="eigh")
    theta[:, _LAG] = np.maximum(theta[:, _LAG], 0.0)
    theta[:, _C] = np.maximum(theta[:, _C], math.log(1.5))
    latest_day = float(series.day.max())
    last = len(series.starts) - 1
    eta = theta[:, 5 + last] if last else 0.0
    r = np.exp(theta[:, _A] - theta[:, _G] * series.passage[last] + eta)
    primary = last == 0
    ln_k = theta[:, _K0] if primary else theta[:, _C] + math.log(series.seeded[last])
    ready = np.full(DRAWS, np.inf)
    split_at = np.clip(rng.normal(priors.passage_at, priors.passage_at_sd * spread, DRAWS), 0.5, 0.98)
    u_target = np.exp(math.log(target) - ln_k)
    here = u_target < split_at
    ready[here] = np.maximum(
        _time_to(np.minimum(u_target, split_at), theta, r, series.starts[last], primary)[here], latest_day
    )
    # The others are split when the flasks reach ``split_at``, then grow period after period.
    crossed = _time_to(split_at, theta, r, series.starts[last], primary)
    day = np.maximum(crossed + rng.uniform(0, priors.look_every_days, DRAWS), latest_day)
    cells = np.exp(ln_k) * _confluence_at(day, theta, r, series.starts[last], primary)
    passage = series.passage[last]
    for _ in range(MAX_FUTURE_PASSAGES):
        todo = ~np.isfinite(ready) & (day < HORIZON_DAYS)
        if not todo.any():
            break
        passage += 1
        r = np.exp(
            theta[:, _A] - theta[:, _G] * passage + rng.normal(0, priors.passage_rate_sd * spread, DRAWS)
        )
        lag = np.maximum(theta[:, _LAG] + rng.normal(0, priors.lag_sd * 0.5 * spread, DRAWS), 0.0)
        # The capacity follows the cells counted at the split: the fold is the culture's.
        fold = np.maximum(np.exp(theta[:, _C]), 1.5)
        split_at = np.clip(rng.normal(priors.passage_at, priors.passage_at_sd * spread, DRAWS), 0.5, 0.98)
        capacity = fold * cells
        u_target = target / capacity
        logit = np.log(np.minimum(u_target, split_at)) - np.log1p(-np.minimum(u_target, split_at))
        grow = np.maximum(np.log(fold - 1) + logit, 0.0) / r
        done = todo & (u_target < split_at)
        ready[done] = (day + lag + grow)[done]
        # The split comes at the next look: the cells grow on meanwhile.
        delay = rng.uniform(0, priors.look_every_days, DRAWS)
        split_logit = np.log(split_at) - np.log1p(-split_at) + r * delay
        day = np.where(todo & ~done, day + lag + grow + delay, day)
        cells = np.where(todo & ~done, capacity / (1 + np.exp(-split_logit)), cells)
    return ready


def _confluence_at(day: float, theta: np.ndarray, r: np.ndarray, start: float, primary: bool) -> np.ndarray:
    if primary:
        return 1 / (1 + np.exp(-r * (day - theta[:, _M])))
    fold = np.exp(theta[:, _C])
    grown = np.maximum(day - start - theta[:, _LAG], 0.0)
    return 1 / (1 + (fold - 1) * np.exp(-r * grown))


def series_of(
    days: Sequence[float],
    cells: Sequence[float],
    passages: Sequence[int | None],
    confluences: Sequence[float | None],
    seeded_after: Sequence[float | None],
) -> Series:
    """Periods of counts in day order: a count with cells re-seeded after it ends its period."""
    period, starts, seeded, passage_of = [], [0.0], [math.nan], []
    current = 0
    first_passage = next((p for p in passages if p is not None), 0)
    passage_of.append(first_passage)
    for day, passage, after in zip(days, passages, seeded_after, strict=True):
        if passage is not None:
            passage_of[current] = passage
        period.append(current)
        if after:
            current += 1
            starts.append(day)
            seeded.append(float(after))
            passage_of.append(passage_of[current - 1] + 1)
    return Series(
        day=np.asarray(days, dtype=float),
        ln_cells=np.log(np.asarray(cells, dtype=float)),
        confluence=np.array([math.nan if c is None else c / 100 for c in confluences], dtype=float),
        period=np.asarray(period, dtype=int),
        starts=np.asarray(starts, dtype=float),
        seeded=np.asarray(seeded, dtype=float),
        passage=np.asarray(passage_of, dtype=float),
    )
