"""Timeline, worklists and growth figures: right answers in a fixed number of queries."""

import datetime as dt
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from batches.domain.growth import CountPoint, priors_for, project_ready_day
from batches.models import Batch, CultureStep
from batches.selectors import (
    batch_growth,
    batch_timeline,
    with_effective_steps,
    worklist_awaiting_seeding,
    worklist_culture_overdue,
    worklist_feeding_due,
)
from batches.services import step_amend
from tests.batches.conftest import DAY, HOUR, log
from tests.factories import coordinator_of

pytestmark = pytest.mark.django_db


def add_counts(batch, technician, n: int) -> None:
    """n cell counts (bulk-created: the service path is tested elsewhere)."""
    start = timezone.now() - 18 * HOUR
    CultureStep.objects.bulk_create(
        CultureStep(
            batch=batch, kind="cell_count", performed_at=start + dt.timedelta(minutes=i), performed_by=technician,
            scanned_identifier="x", viable_cells=20_000_000 + i, viability_pct=90,
        )
        for i in range(n)
    )  # fmt: skip


def timeline_queries(batch) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        entries = batch_timeline(Batch.objects.get(pk=batch.pk))
    return len(queries), len(entries)


def test_timeline_query_count_does_not_grow_with_history(in_culture, technician):
    add_counts(in_culture, technician, 1)
    small_queries, small_entries = timeline_queries(in_culture)
    add_counts(in_culture, technician, 199)
    large_queries, large_entries = timeline_queries(in_culture)

    # batch; steps (+performer, serum, amends); custody (+locations, performer); findings (+people)
    assert small_queries == large_queries == 4
    assert large_entries - small_entries == 199


def test_timeline_is_in_time_order_and_shows_amended_steps(in_culture, technician):
    count = log(
        in_culture,
        "cell_count",
        technician,
        viable_cells=1_000_000,
        viability_pct=90,
        performed_at=timezone.now() - 10 * HOUR,
    )
    step_amend(step=count, actor=technician, reason="typo", viable_cells=10_000_000)

    entries = batch_timeline(in_culture)

    assert [e.at for e in entries] == sorted(e.at for e in entries)
    kinds = [e.record.kind for e in entries if e.kind == "step"]
    assert kinds == ["receipt", "seeding", "cell_count", "cell_count"]


def _grow(batch, technician, seeded_at, counts):
    """Back-date seeding and log counts at (day, cells)."""
    CultureStep.objects.filter(batch=batch, kind__in=["receipt", "seeding"]).update(performed_at=seeded_at)
    for day, cells in counts:
        CultureStep.objects.create(
            batch=batch, kind="cell_count", performed_at=seeded_at + dt.timedelta(days=day), performed_by=technician,
            scanned_identifier="x", viable_cells=cells, viability_pct=92,
        )  # fmt: skip


def test_growth_projects_the_day_the_target_dose_is_reached(in_culture, technician):
    seeded_at = timezone.now() - 8 * DAY
    # Doubling every 2 days from 1e6 on day 2: the 1e8 target is 6.64 doublings after day 8.
    _grow(in_culture, technician, seeded_at, [(2, 1_000_000), (4, 2_000_000), (6, 4_000_000), (8, 8_000_000)])

    batch = with_effective_steps(Batch.objects.select_related("therapy__protocol")).get(pk=in_culture.pk)
    growth = batch_growth(batch, batch.effective_steps)

    assert growth.culture_day == 8
    expected = project_ready_day(
        [CountPoint(d, c, 0) for d, c in [(2, 1e6), (4, 2e6), (6, 4e6), (8, 8e6)]],
        1e8,
        priors_for("SCI-SUBACUTE-IV"),
    )
    assert growth.projection.ready_day == pytest.approx(expected.ready_day)
    # Later than the straight line (day 15.3): the flasks must be split on the way.
    assert growth.projection.ready_day > 8 + 2 * 3.6439
    seeded_on = timezone.localdate(seeded_at)
    low, high = growth.projected_ready_between
    assert low <= growth.projected_ready_on <= high
    assert growth.projected_ready_on == seeded_on + dt.timedelta(days=math.ceil(expected.ready_day))
    assert high == seeded_on + dt.timedelta(days=math.ceil(expected.high))


def test_growth_scales_counts_after_a_passage(in_culture, technician):
    seeded_at = timezone.now() - 6 * DAY
    _grow(in_culture, technician, seeded_at, [(2, 10_000_000)])
    CultureStep.objects.create(
        batch=in_culture, kind="passage", performed_at=seeded_at + 4 * DAY, performed_by=technician, scanned_identifier="x",
        viable_cells=20_000_000, seeded_cells=5_000_000, viability_pct=92, passage_number=1,
    )  # fmt: skip
    _grow(in_culture, technician, seeded_at, [(6, 10_000_000)])  # 1e7 actual = 4e7 equivalent

    growth = batch_growth(
        in_culture, in_culture.steps.filter(amended_by__isnull=True).order_by("performed_at")
    )

    # Seeded 2e7, harvested 2e7 at the passage (0 doublings), re-seeded 5e6, counted 1e7 (1 doubling).
    assert growth.cumulative_pd == pytest.approx(1.0)
    # The series is scaled by the split ratio (x4) and the passage starts a second growth period.
    series = [CountPoint(2, 1e7, 0), CountPoint(4, 2e7, 0, None, 2e7), CountPoint(6, 4e7, 1)]
    expected = project_ready_day(series, 4e8, priors_for("SCI-SUBACUTE-IV"))
    assert growth.projection == expected


def test_no_projection_from_a_single_count(in_culture, technician):
    _grow(in_culture, technician, timezone.now() - 2 * DAY, [(1, 5_000_000)])
    growth = batch_growth(in_culture, in_culture.steps.all())
    assert growth.projected_ready_on is None
    assert growth.projection.reason


def test_worklists(in_culture, batch, therapy, technician):
    from batches.services import collection_create

    waiting = collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=timezone.now() - 5 * HOUR,
        volume_ml=30,
        actor=coordinator_of(therapy.patient.clinic),
    ).batch
    log(waiting, "receipt", technician, temperature_c=10, seal_intact=True)
    assert list(worklist_awaiting_seeding()) == [waiting]

    # Seeded 19 h ago, feeding every 3 days: not due today; due once seeded 3 days ago.
    assert in_culture not in worklist_feeding_due()
    CultureStep.objects.filter(batch=in_culture).update(performed_at=timezone.now() - 3 * DAY)
    assert list(worklist_feeding_due()) == [in_culture]

    assert in_culture not in worklist_culture_overdue()
    CultureStep.objects.filter(batch=in_culture).update(performed_at=timezone.now() - 29 * DAY)
    assert list(worklist_culture_overdue()) == [in_culture]


def test_worklists_take_one_query_however_many_batches(in_culture, technician):
    with CaptureQueriesContext(connection) as queries:
        list(worklist_feeding_due()), list(worklist_awaiting_seeding()), list(worklist_culture_overdue())
    assert len(queries) == 3
