"""The growth chart: total expanded cells (log scale) against culture day, as server-side SVG.

One renderer for the batch page and the batch record PDF, readable without
JavaScript: counts are points, passages are dashed verticals, the target is a
horizontal line and the projection runs from the latest count to the target,
inside its uncertainty band when the projection carries one (``low``/``high``
culture days) and as a plain dashed line otherwise. The SVG has a ``<title>``
and a ``<desc>`` that says in words what the picture shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from batches.domain.growth import CountPoint, Projection

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 44
COUNTED = ("cell_count", "passage", "harvest")


@dataclass(frozen=True)
class Series:
    """What the chart plots, from a batch's effective steps (see ``batches.selectors.batch_growth``)."""

    points: list[CountPoint]
    passage_days: list[float]
    target_cells: float | None


def growth_series(steps: Iterable[Any], target_per_batch: float | None) -> Series:
    """Counts as total expansion: counts after a passage are scaled by the split ratios so far.

    The same scaling ``batch_growth`` applies, so the target (scaled alike) and
    the projection are on the same axis as the points.
    """
    steps = list(steps)
    seeding = next((s for s in steps if s.kind == "seeding"), None)
    if seeding is None:
        return Series([], [], None)
    points, passages, factor = [], [], 1.0
    for step in steps:
        day = (step.performed_at - seeding.performed_at).total_seconds() / 86400
        if step.kind in COUNTED and step.viable_cells:
            points.append(CountPoint(day, step.viable_cells * factor))
        if step.kind == "passage":
            passages.append(day)
            if step.viable_cells and step.seeded_cells:
                factor *= step.viable_cells / step.seeded_cells
    target = target_per_batch * factor if target_per_batch else None
    return Series(points, passages, target)


@dataclass
class _Scale:
    day_max: float
    log_min: int
    log_max: int

    def x(self, day: float) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * day / self.day_max, 1)

    def y(self, cells: float) -> float:
        span = self.log_max - self.log_min
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (self.log_max - math.log10(cells)) / span, 1)


@dataclass
class Chart:
    """Geometry the template draws; every coordinate already in SVG units."""

    title: str
    description: str
    points: list[dict[str, Any]] = field(default_factory=list)
    passages: list[dict[str, Any]] = field(default_factory=list)
    x_ticks: list[dict[str, Any]] = field(default_factory=list)
    y_ticks: list[dict[str, Any]] = field(default_factory=list)
    target_y: float | None = None
    projection: dict[str, Any] | None = None
    band: str = ""  # SVG polygon points of the uncertainty band
    empty: bool = False


def _scale(series: Series, projection: Projection | None, days_hint: float) -> _Scale:
    ends = [p.day for p in series.points] + series.passage_days + [days_hint]
    for attr in ("ready_day", "high"):
        value = getattr(projection, attr, None) if projection else None
        if value is not None and math.isfinite(value):
            ends.append(min(float(value), days_hint * 3))
    cells = [p.cells for p in series.points] + ([series.target_cells] if series.target_cells else [])
    log_min = math.floor(math.log10(min(cells))) if cells else 5
    log_max = math.ceil(math.log10(max(cells))) if cells else 9
    return _Scale(max(ends) * 1.05 or 1.0, log_min, max(log_max, log_min + 1))


def _ticks(scale: _Scale) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    step = max(1, math.ceil(scale.day_max / 10))
    x_ticks = [{"x": scale.x(d), "label": str(d)} for d in range(0, int(scale.day_max) + 1, step)]
    y_ticks = [
        {"y": scale.y(10.0**e), "label": f"10^{e}", "exponent": e}
        for e in range(scale.log_min, scale.log_max + 1)
    ]
    return x_ticks, y_ticks


def _describe(series: Series, projection: Projection | None) -> str:
    if not series.points:
        return _("No cell count yet.")
    latest = series.points[-1]
    text = _("%(n)s counts; latest %(cells)s cells on culture day %(day)s.") % {
        "n": len(series.points),
        "cells": f"{latest.cells:,.0f}",
        "day": f"{latest.day:.1f}",
    }
    if series.passage_days:
        text += " " + _("Passages on days %(days)s.") % {
            "days": ", ".join(f"{d:.1f}" for d in series.passage_days)
        }
    if projection and projection.reached:
        text += " " + _("The dose target is reached.")
    elif projection and projection.ready_day is not None:
        text += " " + _("Projected to reach the dose target on culture day %(day)s.") % {
            "day": f"{projection.ready_day:.1f}"
        }
        low, high = getattr(projection, "low", None), getattr(projection, "high", None)
        if low is not None and high is not None:
            text += " " + _("Uncertainty: day %(low)s to %(high)s.") % {
                "low": f"{low:.1f}",
                "high": f"{high:.1f}",
            }
    elif projection and projection.reason:
        text += " " + _("No projection: %(reason)s.") % {"reason": _(projection.reason)}
    return text


def growth_chart(series: Series, projection: Projection | None, *, days_hint: float = 21) -> Chart:
    """The chart's geometry: log10 cells against culture day; ``days_hint`` widens an early culture's axis."""
    chart = Chart(
        title=_("Growth: total expanded cells by culture day"), description=_describe(series, projection)
    )
    if not series.points:
        chart.empty = True
        return chart
    scale = _scale(series, projection, days_hint)
    chart.x_ticks, chart.y_ticks = _ticks(scale)
    chart.points = [
        {"x": scale.x(p.day), "y": scale.y(p.cells), "label": f"{p.cells:,.0f} ({p.day:.1f})"}
        for p in series.points
    ]
    chart.passages = [{"x": scale.x(d), "label": f"P{i + 1}"} for i, d in enumerate(series.passage_days)]
    if series.target_cells:
        chart.target_y = scale.y(series.target_cells)
    _add_projection(chart, scale, series, projection)
    return chart


def _add_projection(chart: Chart, scale: _Scale, series: Series, projection: Projection | None) -> None:
    if projection is None or projection.ready_day is None or projection.reached or not series.target_cells:
        return
    latest = series.points[-1]
    end_day = min(projection.ready_day, scale.day_max)
    chart.projection = {
        "x1": scale.x(latest.day),
        "y1": scale.y(latest.cells),
        "x2": scale.x(end_day),
        "y2": scale.y(series.target_cells),
    }
    low, high = getattr(projection, "low", None), getattr(projection, "high", None)
    if low is not None and high is not None:
        start = f"{scale.x(latest.day)},{scale.y(latest.cells)}"
        target_y = scale.y(series.target_cells)
        chart.band = (
            f"{start} {scale.x(min(float(low), scale.day_max))},{target_y} "
            f"{scale.x(min(float(high), scale.day_max))},{target_y}"
        )


def render_svg(chart: Chart, *, element_id: str = "growth-chart") -> SafeString:
    """The chart as an inline ``<svg>`` element (page and PDF)."""
    context = {"chart": chart, "id": element_id, "width": WIDTH, "height": HEIGHT, "plot_left": LEFT,
               "plot_right": WIDTH - RIGHT, "plot_top": TOP, "plot_bottom": HEIGHT - BOTTOM}  # fmt: skip
    return SafeString(render_to_string("documents/growth_chart.svg", context))


def batch_chart_svg(batch: Any, steps: Iterable[Any], projection: Projection | None) -> SafeString:
    """The growth chart of ``batch`` from its effective steps and its projection."""
    protocol = batch.therapy.protocol
    series = growth_series(steps, protocol.target_cells_per_dose * protocol.doses_per_batch)
    chart = growth_chart(series, projection, days_hint=protocol.expected_culture_days)
    return render_svg(chart, element_id=f"growth-chart-{batch.din}")
