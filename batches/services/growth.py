"""The stored growth projection: rewritten with every culture step, and backfilled set-based.

``selectors.batch_growth`` is the one growth computation; ``GrowthProjection``
stores its answer so the sweeps, lists and clinic systems read one row per
batch instead of refitting every culture.

Where the stored projection changes, ``batches.signals.projection_changed`` is
sent inside the writing transaction (``batch``, ``previous``/``current`` as
``ProjectionDates``, ``revision``, and ``change``: the ``ProjectionChange``): its
receiver in ``compliance.webhook_events`` writes the outbox row of the
``batch.projection_changed`` webhook, which commits or rolls back with the step.
``ProjectionChange.moved_by_a_day`` says whether the ready date or either end of
its interval moved by a day or more.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import astuple, dataclass

from django.db import connection, transaction
from django.utils import timezone

from batches.models import Batch, CultureStep, GrowthProjection
from batches.selectors import Growth, batch_growth
from batches.signals import ProjectionDates, projection_changed

BACKFILL_CHUNK = 2000


@dataclass(frozen=True)
class ProjectionValues:
    """The stored columns of a projection (all but ``computed_at``)."""

    ready_day: float | None
    low_day: float | None
    high_day: float | None
    doubling_time_days: float | None
    reason: str
    reached: bool
    projected_ready_on: dt.date | None
    ready_low_on: dt.date | None
    ready_high_on: dt.date | None

    @classmethod
    def of(cls, growth: Growth) -> ProjectionValues:
        p = growth.projection
        low_on, high_on = growth.projected_ready_between or (None, None)
        return cls(
            ready_day=p.ready_day if p else None,
            low_day=p.low if p else None,
            high_day=p.high if p else None,
            doubling_time_days=p.doubling_time_days if p else None,
            reason=p.reason if p else "not seeded",
            reached=p.reached if p else False,
            projected_ready_on=growth.projected_ready_on,
            ready_low_on=low_on,
            ready_high_on=high_on,
        )

    @property
    def dates(self) -> ProjectionDates:
        return ProjectionDates(self.projected_ready_on, self.ready_low_on, self.ready_high_on)

    @classmethod
    def stored(cls, row: GrowthProjection) -> ProjectionValues:
        return cls(*(getattr(row, name) for name in cls.__dataclass_fields__))


@dataclass(frozen=True)
class ProjectionChange:
    batch_id: int
    old: ProjectionValues | None
    new: ProjectionValues

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def moved_by_a_day(self) -> bool:
        """The ready date or an end of its interval moved by a day or more (or appeared or vanished)."""
        old = self.old or ProjectionValues(*([None] * 6), None, None, None)
        pairs = [
            (old.projected_ready_on, self.new.projected_ready_on),
            (old.ready_low_on, self.new.ready_low_on),
            (old.ready_high_on, self.new.ready_high_on),
        ]
        return any((a is None) != (b is None) or (a and b and abs((a - b).days) >= 1) for a, b in pairs)


def growth_projection_refresh(*, batch: Batch, now: dt.datetime | None = None) -> ProjectionChange:
    """Recompute and store the projection of ``batch``; returns the old and the new values.

    Call inside the transaction of the step write, with the batch row locked
    (``step_record``, ``step_amend`` do): the steps are read after the lock,
    so two writers of one batch store the projection of all their steps. The
    caller has checked the actor's role; this only derives figures.
    """
    steps = CultureStep.objects.filter(batch_id=batch.pk, amended_by__isnull=True).order_by(
        "performed_at", "id"
    )
    new = ProjectionValues.of(batch_growth(batch, steps))
    row = GrowthProjection.objects.filter(batch_id=batch.pk).first()
    change = ProjectionChange(batch.pk, ProjectionValues.stored(row) if row else None, new)
    if change.changed or row is None:
        stored_at = now or timezone.now()
        GrowthProjection.objects.update_or_create(
            batch_id=batch.pk, defaults={**new.__dict__, "computed_at": stored_at}
        )
        projection_changed.send(
            sender=GrowthProjection,
            batch=batch,
            previous=change.old.dates if change.old else None,
            current=new.dates,
            revision=stored_at.isoformat(),
            change=change,
        )
    return change


_UPSERT = """
INSERT INTO batches_growthprojection (batch_id, ready_day, low_day, high_day, doubling_time_days, reason, reached,
    projected_ready_on, ready_low_on, ready_high_on, computed_at)
SELECT *, %(now)s FROM unnest(%(batch)s::bigint[], %(ready)s::float8[], %(low)s::float8[], %(high)s::float8[],
    %(doubling)s::float8[], %(reason)s::text[], %(reached)s::bool[], %(on)s::date[], %(low_on)s::date[],
    %(high_on)s::date[])
ON CONFLICT (batch_id) DO UPDATE SET ready_day = excluded.ready_day, low_day = excluded.low_day,
    high_day = excluded.high_day, doubling_time_days = excluded.doubling_time_days, reason = excluded.reason,
    reached = excluded.reached, projected_ready_on = excluded.projected_ready_on,
    ready_low_on = excluded.ready_low_on, ready_high_on = excluded.ready_high_on, computed_at = excluded.computed_at
"""


def growth_projection_backfill(
    *, batch_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Store the projection of every batch (or of ``batch_ids``): three statements per chunk of batches.

    For installations that predate the stored projection, and after a model
    or priors change. Sends no ``projection_changed``: a backfill is not news.
    Returns how many batches it wrote.
    """
    now = now or timezone.now()
    batches = Batch.objects.select_related("therapy__protocol").order_by("pk")
    if batch_ids is not None:
        batches = batches.filter(pk__in=list(batch_ids))
    ids = list(batches.values_list("pk", flat=True))
    written = 0
    for start in range(0, len(ids), BACKFILL_CHUNK):
        chunk = ids[start : start + BACKFILL_CHUNK]
        steps: dict[int, list[CultureStep]] = defaultdict(list)
        effective = CultureStep.objects.filter(batch_id__in=chunk, amended_by__isnull=True)
        for step in effective.order_by("batch_id", "performed_at", "id"):
            steps[step.batch_id].append(step)
        rows = [
            (b.pk, ProjectionValues.of(batch_growth(b, steps[b.pk]))) for b in batches.filter(pk__in=chunk)
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_UPSERT, _columns(rows, now))
        written += len(rows)
    return written


def _columns(rows: list[tuple[int, ProjectionValues]], now: dt.datetime) -> dict[str, object]:
    columns = list(zip(*(astuple(values) for _, values in rows), strict=True)) or [()] * 9
    names = ["ready", "low", "high", "doubling", "reason", "reached", "on", "low_on", "high_on"]
    return {
        "batch": [pk for pk, _ in rows],
        "now": now,
        **{n: list(c) for n, c in zip(names, columns, strict=True)},
    }
