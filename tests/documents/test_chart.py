"""The growth chart: log-scale SVG of counts, passages, target and projection (band when known)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from xml.etree import ElementTree

import pytest
from django.urls import reverse

from batches.domain.growth import CountPoint, Projection
from batches.models import Batch
from documents.charts import Series, growth_chart, growth_series, render_svg
from tests.builders import Staff
from tests.web.conftest import login

SVG = "{http://www.w3.org/2000/svg}"
SERIES = Series([CountPoint(0.4, 2e7), CountPoint(3.0, 6e7), CountPoint(6.0, 1.5e8)], [3.0], 4e8)


@dataclass(frozen=True)
class BandProjection(Projection):
    """A projection with the uncertainty band that issue 13 adds (``low``/``high`` culture days)."""

    low: float | None = None
    high: float | None = None


def _parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 - our own output


def test_counts_are_points_on_a_log_scale_with_passages_target_and_projection_line() -> None:
    root = _parse(render_svg(growth_chart(SERIES, Projection(9.0, 1.5))))
    circles = root.findall(f".//{SVG}g[@class='counts']/{SVG}circle")
    assert len(circles) == 3
    ys = [float(c.get("cy")) for c in circles]
    # Log scale: 2e7 -> 6e7 (x3) and 6e7 -> 1.5e8 (x2.5) are nearly equal steps up.
    assert ys[0] > ys[1] > ys[2] and abs((ys[0] - ys[1]) - (ys[1] - ys[2])) < 0.35 * (ys[0] - ys[1])
    assert [t.text for t in root.findall(f".//{SVG}g[@class='y-ticks']/{SVG}text")] == ["10"] * 3
    assert len(root.findall(f".//{SVG}g[@class='passage']")) == 1
    assert root.find(f".//{SVG}g[@class='target']") is not None
    assert root.find(f".//{SVG}line[@class='projection']") is not None
    assert root.find(f".//{SVG}polygon[@class='band']") is None  # no band without low/high
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text.startswith("Growth")
    desc = root.find(f"{SVG}desc").text
    assert "3 counts" in desc and "day 9.0" in desc and "Passages on days 3.0" in desc


def test_uncertainty_band_is_drawn_when_the_projection_has_one() -> None:
    root = _parse(render_svg(growth_chart(SERIES, BandProjection(9.0, 1.5, low=8.0, high=11.0))))
    band = root.find(f".//{SVG}polygon[@class='band']")
    assert band is not None and len(band.get("points").split()) == 3
    assert "day 8.0 to 11.0" in root.find(f"{SVG}desc").text


def test_reached_target_draws_no_projection_and_says_so() -> None:
    svg = render_svg(growth_chart(SERIES, Projection(6.0, 1.5, reached=True)))
    assert 'class="projection"' not in svg and "The dose target is reached." in svg


def test_no_counts_is_a_chart_that_says_so() -> None:
    svg = render_svg(growth_chart(Series([], [], None), None))
    assert "No cell count yet." in svg and "<circle" not in svg


class _Step:
    def __init__(self, kind: str, day: float, viable: int | None = None, seeded: int | None = None) -> None:
        self.kind, self.viable_cells, self.seeded_cells = kind, viable, seeded
        self.performed_at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC) + dt.timedelta(days=day)


def test_counts_after_a_passage_are_scaled_to_total_expansion() -> None:
    steps = [_Step("seeding", 0, seeded=1_000_000), _Step("cell_count", 3, viable=4_000_000),
             _Step("passage", 4, viable=8_000_000, seeded=2_000_000), _Step("cell_count", 7, viable=6_000_000)]  # fmt: skip
    series = growth_series(steps, 1e8)
    assert [p.cells for p in series.points] == [4e6, 8e6, 24e6]  # 6e6 x split ratio 4
    assert series.passage_days == [4.0] and series.target_cells == 4e8


@pytest.mark.django_db
def test_batch_page_shows_the_chart_and_the_document_links(client, released: Batch, staff: Staff) -> None:  # type: ignore[no-untyped-def]
    login(client, staff.tech)
    page = client.get(reverse("batches:detail", args=[released.din])).content.decode()
    assert re.search(r'<svg[^>]+class="growth-chart"', page) and "<desc" in page
    for name in (
        "batch-record",
        "batch-certificate",
        "batch-labels-pdf",
        "batch-labels-zpl",
        "batch-timeline-csv",
    ):
        assert reverse(f"documents_api:{name}", args=[released.din]) in page
    response = client.get(reverse("documents_api:batch-record", args=[released.din]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    from documents.models import DocumentDownload

    assert DocumentDownload.objects.get().channel == "web"


@pytest.mark.django_db
def test_coordinator_sees_only_the_certificate_and_timeline(client, released: Batch) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import coordinator_of

    login(client, coordinator_of(released.therapy.patient.clinic))
    page = client.get(reverse("batches:detail", args=[released.din])).content.decode()
    assert reverse("documents_api:batch-certificate", args=[released.din]) in page
    assert reverse("documents_api:batch-record", args=[released.din]) not in page
