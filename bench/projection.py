"""Benchmark: how well the ready-day projection predicts simulated MSC expansions.

No database. For each simulated culture (``batches.domain.simulation``) and
each culture day 7, 10 and 14, the counts recorded up to that day are
projected and compared with the culture's true ready day. Reported per day:
median and 90th-percentile absolute error (days), bias (mean of projected -
true; negative = early), and how often the 80% interval [low, high] holds the
truth. The old straight-line fit (log cells over the latest five counts) is
scored on the same cultures as a floor.

    .venv/bin/python bench/projection.py                  # tuning seeds and both held-out sets
    .venv/bin/python bench/projection.py --cultures 500 --set heldout

Sets: ``tuning`` (seeds 0..n-1, the ones the priors and spread were tuned on),
``heldout`` (seeds 100000.., same population), ``shifted`` (seeds 200000..,
slower donors, stronger passage slowdown, longer lags, later splits).
Targets at day 10: median absolute error <= 1 day, coverage 75-85%.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from batches.domain.growth import CountPoint, project_ready_day
from batches.domain.simulation import simulate_culture

DAYS = (7, 10, 14)
SETS = {"tuning": (0, False), "heldout": (100_000, False), "shifted": (200_000, True)}


def old_projection(counts: list[CountPoint], target: float) -> float | None:
    """The function this replaces: a straight line through log2(cells) of the latest five counts."""
    points = sorted(counts, key=lambda p: p.day)[-5:]
    days, logs = [p.day for p in points], [math.log2(p.cells) for p in points]
    if len(set(days)) < 2:
        return None
    mean_d, mean_l = sum(days) / len(days), sum(logs) / len(logs)
    slope = sum((d - mean_d) * (y - mean_l) for d, y in zip(days, logs, strict=True)) / sum(
        (d - mean_d) ** 2 for d in days
    )
    if slope <= 1e-6:
        return None
    return points[-1].day + math.log2(target / points[-1].cells) / slope


def _scaled(counts: list[CountPoint]) -> list[CountPoint]:
    """Counts as the selector builds them: no passage or confluence for the old function."""
    return [CountPoint(p.day, p.cells) for p in counts]


def _summary(errors: list[float], covered: list[bool], missing: int) -> str:
    if not errors:
        return "no projections"
    absolute = sorted(abs(e) for e in errors)
    p90 = absolute[min(len(absolute) - 1, math.ceil(0.9 * len(absolute)) - 1)]
    coverage = f"{100 * sum(covered) / len(covered):5.1f}%" if covered else "    -"
    return (
        f"median |err| {statistics.median(absolute):5.2f} d  p90 |err| {p90:5.2f} d  "
        f"bias {statistics.fmean(errors):+5.2f} d  80% coverage {coverage}  (n={len(errors)}, none={missing})"
    )


def run(name: str, cultures: int) -> None:
    start, shifted = SETS[name]
    results: dict[int, dict[str, list]] = {d: {"new": [], "cov": [], "old": [], "miss": [0, 0]} for d in DAYS}
    widths: dict[int, list[float]] = {d: [] for d in DAYS}
    started = time.monotonic()
    for seed in range(start, start + cultures):
        culture = simulate_culture(seed, shifted=shifted)
        for day in DAYS:
            seen = [p for p in culture.counts if p.day <= day]
            if culture.ready_day <= day or not seen or not math.isfinite(culture.ready_day):
                continue
            projection = project_ready_day(seen, culture.target)
            r = results[day]
            if projection.ready_day is None:
                r["miss"][0] += 1
            else:
                r["new"].append(projection.ready_day - culture.ready_day)
                r["cov"].append(projection.low <= culture.ready_day <= projection.high)
                widths[day].append(projection.high - projection.low)
            old = old_projection(_scaled(seen), culture.target)
            if old is None:
                r["miss"][1] += 1
            else:
                r["old"].append(old - culture.ready_day)
    elapsed = time.monotonic() - started
    print(f"\n== {name}: {cultures} cultures (seeds {start}..{start + cultures - 1}), {elapsed:.1f} s")
    for day in DAYS:
        r = results[day]
        width = statistics.median(widths[day]) if widths[day] else math.nan
        print(f"day {day:2d} new: {_summary(r['new'], r['cov'], r['miss'][0])}  median width {width:.2f} d")
        print(f"day {day:2d} old: {_summary(r['old'], [], r['miss'][1])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cultures", type=int, default=300)
    parser.add_argument("--set", choices=[*SETS, "all"], default="all")
    args = parser.parse_args()
    for name in SETS if args.set == "all" else [args.set]:
        run(name, args.cultures)


if __name__ == "__main__":
    main()
