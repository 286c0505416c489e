"""The stored growth projection is what the Python reference computes, on random culture histories.

``selectors.batch_growth`` (fed by the batch's effective steps) is the one
growth computation; ``GrowthProjection`` rows store its answer, written with
each step (``step_record``/``step_amend``) or set-based by the backfill, and
the sweeps read those rows. Real PostgreSQL, histories drawn by hypothesis:
counts and passages on any days (the same day twice too), corrections of
either, written straight to the table and then backfilled.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batches.domain.growth import GrowthInputError
from batches.models import Batch, CultureStep, GrowthProjection
from batches.selectors import batch_growth, with_effective_steps
from batches.services import growth_projection_backfill
from batches.services.growth import ProjectionChange, ProjectionValues, projection_changed
from tests.batches.conftest import DAY, log

CELLS = st.integers(min_value=100_000, max_value=2_000_000_000)
STEP = st.tuples(
    st.sampled_from(["cell_count", "cell_count", "passage", "feeding"]),
    st.floats(min_value=0, max_value=30, allow_nan=False).map(lambda d: round(d, 3)),
    CELLS,  # viable cells
    CELLS,  # seeded cells of a passage
    st.one_of(st.none(), CELLS),  # a correction's viable cells, if corrected
)
HISTORIES = st.lists(STEP, max_size=9)


def _log(batch: Batch, seeded_at: dt.datetime, history: list[tuple], actor_id: int) -> None:
    for kind, day, viable, seeded, corrected in history:
        values = {} if kind == "feeding" else {"viable_cells": viable}
        if kind == "passage":
            values["seeded_cells"] = seeded
        at = seeded_at + dt.timedelta(days=day)
        step = CultureStep.objects.create(
            batch=batch, kind=kind, performed_at=at, performed_by_id=actor_id, scanned_identifier=batch.din,
            **values,
        )  # fmt: skip
        if corrected is not None and kind != "feeding":
            CultureStep.objects.create(
                batch=batch, kind=kind, performed_at=at, performed_by_id=actor_id, scanned_identifier=batch.din,
                amends=step, amendment_reason="recount", **{**values, "viable_cells": corrected},
            )  # fmt: skip


def _python(batch: Batch) -> ProjectionValues | None:
    full = with_effective_steps(Batch.objects.select_related("therapy__protocol").filter(pk=batch.pk)).get()
    try:
        return ProjectionValues.of(batch_growth(full, full.effective_steps))
    except GrowthInputError:
        return None


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=HISTORIES)
def test_backfilled_projection_is_the_python_reference(in_culture, technician, history):
    seeded_at = in_culture.steps.get(kind="seeding").performed_at
    with transaction.atomic():
        _log(in_culture, seeded_at, history, technician.pk)
        python = _python(in_culture)
        if python is not None:
            growth_projection_backfill(batch_ids=[in_culture.pk])
            stored = ProjectionValues.stored(GrowthProjection.objects.get(batch=in_culture))
        transaction.set_rollback(True)

    if python is not None:
        assert stored == python


@pytest.mark.django_db
def test_logging_a_count_stores_the_projection_in_the_same_write(in_culture, technician):
    seeded_at = timezone.now() - 7 * DAY
    CultureStep.objects.filter(batch=in_culture, kind__in=["receipt", "seeding"]).update(
        performed_at=seeded_at
    )
    for day, cells in [(3, 2_000_000), (6, 4_000_000)]:
        log(in_culture, "cell_count", technician, viable_cells=cells, viability_pct=92, confluence_pct=30,
            performed_at=seeded_at + day * DAY)  # fmt: skip

    stored = GrowthProjection.objects.get(batch=in_culture)
    assert ProjectionValues.stored(stored) == _python(in_culture)
    assert stored.ready_low_on <= stored.projected_ready_on <= stored.ready_high_on
    assert stored.projected_ready_on > timezone.localdate(seeded_at + 6 * DAY)


@pytest.mark.django_db
def test_a_count_that_moves_the_projection_signals_the_old_and_the_new(in_culture, technician):
    seeded_at = timezone.now() - 9 * DAY
    CultureStep.objects.filter(batch=in_culture, kind__in=["receipt", "seeding"]).update(
        performed_at=seeded_at
    )
    for day, cells in [(3, 2_000_000), (6, 4_000_000)]:
        log(in_culture, "cell_count", technician, viable_cells=cells, viability_pct=92, confluence_pct=30,
            performed_at=seeded_at + day * DAY)  # fmt: skip
    changes: list[ProjectionChange] = []

    def receive(sender, change, **kwargs):
        changes.append(change)

    projection_changed.connect(receive)
    try:
        # Growth stalls: the ready date moves out by days.
        log(in_culture, "cell_count", technician, viable_cells=4_100_000, viability_pct=92, confluence_pct=30,
            performed_at=seeded_at + 8.5 * DAY)  # fmt: skip
    finally:
        projection_changed.disconnect(receive)

    (change,) = changes
    assert change.batch_id == in_culture.pk and change.old is not None
    assert change.new == ProjectionValues.stored(GrowthProjection.objects.get(batch=in_culture))
    assert change.moved_by_a_day
