"""The sweeps' set-based growth read agrees with the Python reference on random culture histories.

``batches.domain.growth.project_ready_day`` fed by ``selectors.batch_growth`` (the
batch page, the API, readiness facts) is the reference; the sweeps read the same
series in one SQL statement for every culture (``sweeps._growth_rows``). Real
PostgreSQL, histories drawn by hypothesis: counts and passages on any days (the
same day twice too), corrections of either.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batches.domain.growth import GrowthInputError, Projection, project_ready_day
from batches.models import Batch, CultureStep
from batches.selectors import batch_growth, with_effective_steps
from monitoring import sweeps

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


def _python(batch: Batch) -> Projection | None:
    full = with_effective_steps(Batch.objects.select_related("therapy__protocol").filter(pk=batch.pk)).get()
    try:
        return batch_growth(full, full.effective_steps).projection
    except GrowthInputError:
        return None


def _sql(batch: Batch) -> tuple[Projection | None, float]:
    """The sweeps' projection, and how far (relatively) its latest count is from the target."""
    (culture,) = sweeps._growth_rows(sweeps._params(timezone.now(), batch.pk))
    target = culture.row[3] * culture.row[7]
    latest = max(culture.points, key=lambda p: p.day).cells if culture.points else 0
    try:
        return project_ready_day(culture.points, target), abs(latest - target) / target
    except GrowthInputError:
        return None, 1.0


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9))


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=HISTORIES)
def test_sweep_growth_sql_projects_what_the_python_reference_projects(in_culture, technician, history):
    seeded_at = in_culture.steps.get(kind="seeding").performed_at
    with transaction.atomic():
        _log(in_culture, seeded_at, history, technician.pk)
        python, (sql, off_target) = _python(in_culture), _sql(in_culture)
        transaction.set_rollback(True)

    assert (python is None) == (sql is None)
    if python is not None and off_target < 1e-12:
        # A count exactly on the target: the split ratios are a product in Python and
        # exp(sum(ln)) in SQL, a rounding apart, so "reached" may differ. Nothing else may.
        return
    if python is not None:
        assert (sql.reason, sql.reached) == (python.reason, python.reached)
        assert _close(sql.ready_day, python.ready_day)
        assert _close(sql.doubling_time_days, python.doubling_time_days)
