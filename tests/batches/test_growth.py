"""Growth maths: population doublings, doubling time, projected ready day. Pure, no database."""

from __future__ import annotations

import math
import statistics
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batches.domain import (
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
from batches.domain.simulation import simulate_culture
from bench.projection import old_projection

# Population doublings and doubling time


def test_population_doublings_of_a_fourfold_expansion_is_two() -> None:
    assert population_doublings(1_000_000, 4_000_000) == 2.0


def test_population_doublings_accepts_decimals() -> None:
    assert population_doublings(Decimal("1e6"), Decimal("8e6")) == pytest.approx(3.0)


def test_population_doublings_is_negative_when_cells_are_lost() -> None:
    assert population_doublings(4_000_000, 1_000_000) == -2.0


@pytest.mark.parametrize(
    ("cells_in", "cells_out"), [(0, 1e6), (1e6, 0), (-5, 1e6), (1e6, -1), (math.nan, 1e6)]
)
def test_population_doublings_refuses_counts_that_cannot_be_real(cells_in: float, cells_out: float) -> None:
    with pytest.raises(GrowthInputError, match="must be a positive number of cells"):
        population_doublings(cells_in, cells_out)


def test_cumulative_population_doublings_adds_the_passages() -> None:
    passages = [(1e5, 8e5), (5e5, 2e6), (1e6, 4e6)]

    assert cumulative_population_doublings(passages) == pytest.approx(3 + 2 + 2)


def test_cumulative_population_doublings_of_no_passages_is_zero() -> None:
    assert cumulative_population_doublings([]) == 0.0


def test_cumulative_population_doublings_refuses_a_zero_count() -> None:
    with pytest.raises(GrowthInputError):
        cumulative_population_doublings([(1e5, 8e5), (5e5, 0)])


def test_doubling_time_hours() -> None:
    assert doubling_time_hours(1e6, 8e6, 72) == pytest.approx(24.0)


@pytest.mark.parametrize("cells_out", [1e6, 5e5])
def test_doubling_time_is_none_without_growth(cells_out: float) -> None:
    assert doubling_time_hours(1e6, cells_out, 72) is None


@pytest.mark.parametrize("hours", [0, -24])
def test_doubling_time_refuses_no_elapsed_time(hours: float) -> None:
    with pytest.raises(GrowthInputError, match="more than 0 hours"):
        doubling_time_hours(1e6, 4e6, hours)


def test_doubling_time_refuses_zero_cells() -> None:
    with pytest.raises(GrowthInputError):
        doubling_time_hours(0, 4e6, 24)


# Validating a count


def test_validate_count_accepts_a_real_count() -> None:
    validate_count(2_500_000, viability_pct=Decimal("92.5"), confluence_pct=80)
    validate_count(1, viability_pct=0, confluence_pct=100)


@pytest.mark.parametrize(
    ("cells", "viability", "confluence", "message"),
    [
        (0, 90, 50, "viable cell count"),
        (-10, None, None, "viable cell count"),
        (1e6, 100.5, None, "viability must be between 0 and 100%"),
        (1e6, -1, None, "viability"),
        (1e6, None, 101, "confluence must be between 0 and 100%"),
        (1e6, None, -0.1, "confluence"),
    ],
)
def test_validate_count_refuses_impossible_values(
    cells: float, viability: float | None, confluence: float | None, message: str
) -> None:
    with pytest.raises(GrowthInputError, match=message):
        validate_count(cells, viability_pct=viability, confluence_pct=confluence)


# Projection


def exponential(c0: float, doubling_days: float, days: list[float]) -> list[CountPoint]:
    return [CountPoint(day=d, cells=c0 * 2 ** (d / doubling_days)) for d in days]


def test_projection_is_later_than_the_straight_line_and_inside_its_interval() -> None:
    # 1e6 cells doubling every 2 days: a straight line says 2 * log2(100) = 13.3 days,
    # but the flasks fill up and must be split, and each split costs a lag.
    counts = exponential(1e6, 2.0, [0, 3, 6, 9])

    projection = project_ready_day(counts, 1e8)

    assert projection.ready_day > 2 * math.log2(100) + 1
    assert projection.low < projection.ready_day < projection.high
    assert projection.reason == ""
    assert not projection.reached


def test_a_split_restarts_growth_after_a_lag() -> None:
    # Right after a split the cells wait about a day before growing again.
    split = [CountPoint(7, 4e6, 0, 50), CountPoint(10, 8e6, 0, 85, seeded_cells_after_split=8e6)]

    with_lag = project_ready_day(split, 1.6e7)  # one doubling of the re-seeded cells
    no_lag = project_ready_day(split, 1.6e7, GrowthPriors(lag_days=0.0, lag_sd=0.01))

    assert with_lag.ready_day > no_lag.ready_day + 0.5
    assert no_lag.ready_day > 10 + 1


def test_projection_sorts_counts_by_day() -> None:
    counts = exponential(1e6, 1.5, [6, 0, 3])

    assert project_ready_day(counts, 1e8) == project_ready_day(sorted(counts, key=lambda p: p.day), 1e8)


def test_target_already_reached_is_ready_on_the_latest_count_day() -> None:
    counts = exponential(1e6, 1.0, [0, 2, 4])

    projection = project_ready_day(counts, 1e7)

    assert projection == Projection(
        ready_day=4.0, doubling_time_days=pytest.approx(1.0), reached=True, low=4.0, high=4.0
    )


def test_one_count_gives_no_projection() -> None:
    projection = project_ready_day([CountPoint(3, 1e6)], 1e8)

    assert projection.ready_day is None
    assert projection.reason == "only one count"


def test_no_counts_gives_no_projection() -> None:
    assert project_ready_day([], 1e8).reason == "no counts"


@pytest.mark.parametrize("cells", [[1e6, 1e6, 1e6], [4e6, 2e6, 1e6], [1e6, 3e6, 1e6]])
def test_flat_or_falling_counts_give_no_projection(cells: list[float]) -> None:
    counts = [CountPoint(day, c) for day, c in enumerate(cells)]

    projection = project_ready_day(counts, 1e8)

    assert projection == Projection(ready_day=None, doubling_time_days=None, reason="no growth")


@pytest.mark.parametrize(
    "counts",
    [
        [CountPoint(0, 1e6), CountPoint(2, 0)],
        [CountPoint(0, 1e6), CountPoint(2, -4e6)],
        [CountPoint(-1, 1e6), CountPoint(2, 4e6)],
        [CountPoint(0, 1e6), CountPoint(math.inf, 4e6)],
    ],
)
def test_projection_refuses_counts_that_cannot_be_real(counts: list[CountPoint]) -> None:
    with pytest.raises(GrowthInputError):
        project_ready_day(counts, 1e8)


def test_projection_refuses_a_zero_target() -> None:
    with pytest.raises(GrowthInputError):
        project_ready_day(exponential(1e6, 1.0, [0, 1]), 0)


def test_projected_ready_date_rounds_up() -> None:
    assert projected_ready_date(date(2025, 3, 1), Projection(12.2, 1.5)) == date(2025, 3, 14)
    assert projected_ready_date(date(2025, 3, 1), Projection(12.0, 1.5)) == date(2025, 3, 13)


def test_projected_ready_date_without_projection() -> None:
    assert projected_ready_date(date(2025, 3, 1), Projection(None, None, "no growth")) is None


def test_projected_ready_date_past_the_calendar_is_none() -> None:
    assert projected_ready_date(date(2025, 3, 1), Projection(1e12, 1e6)) is None


# Properties


def test_projection_on_simulated_cultures_beats_the_straight_line_and_its_interval_is_honest() -> None:
    # Held-out simulated cultures (bench/projection.py tunes on seeds 0..299), scored at day 10.
    errors, old_errors, covered = [], [], []
    for seed in range(300_000, 300_080):
        culture = simulate_culture(seed)
        seen = [p for p in culture.counts if p.day <= 10]
        projection = project_ready_day(seen, culture.target)
        assert projection.low <= projection.ready_day <= projection.high
        assert projection.ready_day >= max(p.day for p in seen)
        errors.append(abs(projection.ready_day - culture.ready_day))
        old_errors.append(
            abs(
                old_projection([CountPoint(p.day, p.cells) for p in seen], culture.target) - culture.ready_day
            )
        )
        covered.append(projection.low <= culture.ready_day <= projection.high)

    assert statistics.median(errors) < statistics.median(old_errors) / 2
    assert 0.65 <= sum(covered) / len(covered) <= 0.95


@given(n=st.integers(min_value=1, max_value=10**9), k=st.integers(min_value=0, max_value=40))
def test_population_doublings_of_n_to_n_times_two_to_the_k_is_k(n: int, k: int) -> None:
    assert population_doublings(n, n * 2**k) == pytest.approx(k)


@given(
    counts=st.lists(
        st.builds(
            CountPoint,
            day=st.floats(min_value=0, max_value=365, allow_nan=False),
            cells=st.one_of(
                st.integers(min_value=1, max_value=10**15),
                st.floats(min_value=1, max_value=1e15, allow_nan=False),
            ),
        ),
        max_size=12,
    ),
    target=st.floats(min_value=1, max_value=1e15, allow_nan=False),
)
@settings(max_examples=60, deadline=None)
def test_projection_never_raises_for_positive_counts(counts: list[CountPoint], target: float) -> None:
    projection = project_ready_day(counts, target)

    assert (projection.ready_day is None) == bool(projection.reason)
    if projection.ready_day is not None and not projection.reached:
        assert projection.ready_day >= max(p.day for p in counts)
        assert projection.low <= projection.ready_day <= projection.high
