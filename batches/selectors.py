"""Reads of batches that pages, endpoints and sweeps share. Query counts are fixed here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, DateTimeField, Prefetch, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from batches.domain import BatchStatus
from batches.domain.growth import (
    CountPoint,
    Projection,
    cumulative_population_doublings,
    project_ready_day,
    projected_ready_date,
)
from batches.models import Batch, CultureStep, Dose, Finding, Flag


def batch_status_counts() -> list[tuple[BatchStatus, int]]:
    """How many batches are in each status, every status listed (one query)."""
    counts = dict(Batch.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return [(status, counts.get(status.value, 0)) for status in BatchStatus]


def batch_list(*, clinic_id: int | None = None) -> QuerySet[Batch]:
    """Batches newest first with what a list row shows; scoped to a clinic when given."""
    batches = Batch.objects.select_related("therapy__patient__clinic", "therapy__protocol").order_by(
        "-created_at"
    )
    if clinic_id is not None:
        batches = batches.filter(therapy__patient__clinic_id=clinic_id)
    return batches


def with_effective_steps(batches: QuerySet[Batch]) -> QuerySet[Batch]:
    """Prefetch each batch's effective (not amended) steps as ``effective_steps``: one more query."""
    steps = CultureStep.objects.filter(amended_by__isnull=True).order_by("performed_at", "id")
    return batches.prefetch_related(Prefetch("steps", queryset=steps, to_attr="effective_steps"))


# --- Growth ---------------------------------------------------------------------


@dataclass(frozen=True)
class Growth:
    culture_day: int | None
    cumulative_pd: float | None
    projection: Projection | None
    projected_ready_on: dt.date | None


_NOT_SEEDED = Growth(None, None, None, None)


def batch_growth(batch: Batch, steps: Iterable[CultureStep], today: dt.date | None = None) -> Growth:
    """Culture day, cumulative population doublings and the projected ready day of a batch.

    ``steps`` are the batch's effective steps in time order (see
    ``with_effective_steps``). Counts after a passage are scaled by the split
    ratios so far, so the series is the culture's total expansion; the
    target (cells per dose x doses) is scaled the same way.
    """
    steps = list(steps)
    seeding = next((s for s in steps if s.kind == "seeding"), None)
    if seeding is None:
        return _NOT_SEEDED
    seeded_on = timezone.localdate(seeding.performed_at)
    points, factor = [], 1.0
    for step in steps:
        if step.kind in ("cell_count", "passage", "harvest") and step.viable_cells:
            day = (step.performed_at - seeding.performed_at).total_seconds() / 86400
            points.append(CountPoint(day, step.viable_cells * factor))
        if step.kind == "passage" and step.viable_cells and step.seeded_cells:
            factor *= step.viable_cells / step.seeded_cells
    protocol = batch.therapy.protocol
    projection = project_ready_day(points, protocol.target_cells_per_dose * protocol.doses_per_batch * factor)
    harvest = next((s for s in steps if s.kind == "harvest"), None)
    ready_on = (
        timezone.localdate(harvest.performed_at) if harvest else projected_ready_date(seeded_on, projection)
    )
    end = timezone.localdate(harvest.performed_at) if harvest else (today or timezone.localdate())
    periods = _growth_periods(steps)
    return Growth(
        culture_day=(end - seeded_on).days,
        cumulative_pd=cumulative_population_doublings(periods) if periods else None,
        projection=projection,
        projected_ready_on=ready_on,
    )


def _growth_periods(steps: list[CultureStep]) -> list[tuple[int, int]]:
    """``(cells seeded, cells counted at its end)`` of each period of growth, up to the latest count.

    A period starts when cells are seeded (seeding, or the re-seeding of a
    passage) and ends when they are harvested (passage, harvest); the open
    period ends at its latest count. A passage's own viable/seeded pair is its
    split ratio, not growth: pairing those gave 0.00 wherever all cells were re-seeded.
    """
    periods: list[tuple[int, int]] = []
    seeded: int | None = None
    counted: int | None = None
    for step in steps:
        if step.kind == "seeding":
            seeded, counted = step.seeded_cells, None
        elif seeded and step.viable_cells and step.kind in ("passage", "harvest"):
            periods.append((seeded, step.viable_cells))
            seeded, counted = (step.seeded_cells if step.kind == "passage" else None), None
        elif seeded and step.viable_cells and step.kind == "cell_count":
            counted = step.viable_cells
    if seeded and counted:
        periods.append((seeded, counted))
    return periods


# --- Timeline -------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "step", "custody" or "finding"
    record: Any


def batch_timeline(batch: Batch) -> list[TimelineEntry]:
    """Steps (amended ones too), custody transfers and findings of a batch in time order.

    Three queries whatever the length of the history.
    """
    steps = batch.steps.select_related("performed_by", "serum_collection", "amends").order_by(
        "performed_at", "id"
    )
    transfers = batch.custody_transfers.select_related("from_location", "to_location", "performed_by")
    findings = batch.findings.select_related("recorded_by", "assessed_by")
    entries = [TimelineEntry(s.performed_at, "step", s) for s in steps]
    entries += [TimelineEntry(t.performed_at, "custody", t) for t in transfers]
    entries += [TimelineEntry(f.occurred_at, "finding", f) for f in findings]
    return sorted(entries, key=lambda e: e.at)


# --- Worklists ------------------------------------------------------------------


# One definition of the culture clocks, for these worklists and for the sweeps
# (``monitoring.sweeps``): which effective steps start a clock, and which
# protocol column (in days) it runs for. Plain SQL, so the sweeps' set-based
# queries and these querysets are the same expressions.
SEEDED = ("seeding",)
FED = ("feeding", "seeding", "passage")  # a seeding or passage puts fresh medium on the cells
RECEIVED = ("receipt",)
CULTURE_LIMIT = "max_culture_days"
FEEDING_INTERVAL = "feeding_interval_days"
SEEDING_LIMIT = "max_days_receipt_to_seeding"


def last_step_select(kinds: tuple[str, ...], batch_id: str) -> str:
    """SQL ``SELECT`` of one row, ``at``: the latest effective (not amended) step of ``kinds`` of ``batch_id``."""
    quoted = ", ".join(f"'{kind}'" for kind in kinds)
    return (
        f"SELECT max(s.performed_at) AS at FROM batches_culturestep s WHERE s.batch_id = {batch_id}"  # noqa: S608 - this module's constants only
        f" AND s.kind IN ({quoted})"
        " AND NOT EXISTS (SELECT 1 FROM batches_culturestep a WHERE a.amends_id = s.id)"
    )


def last_step_at_sql(kinds: tuple[str, ...], batch_id: str) -> str:
    """``last_step_select`` as a scalar subquery."""
    return f"({last_step_select(kinds, batch_id)})"


def deadline_sql(started_at: str, protocol: str, days_column: str) -> str:
    """SQL for ``started_at`` plus the protocol's ``days_column`` days (``protocol`` is its alias)."""
    return f"({started_at} + {protocol}.{days_column} * interval '1 day')"


_B, _P = '"batches_batch"."id"', '"batches_processingprotocol"'  # the ORM's aliases below


def _clock(kinds: tuple[str, ...]) -> RawSQL:
    return RawSQL(last_step_at_sql(kinds, _B), (), output_field=DateTimeField())  # noqa: S611 - constants only


def _deadline(kinds: tuple[str, ...], days_column: str) -> RawSQL:
    sql = deadline_sql(last_step_at_sql(kinds, _B), _P, days_column)
    return RawSQL(sql, (), output_field=DateTimeField())  # noqa: S611 - constants only


def _in_culture() -> QuerySet[Batch]:
    return Batch.objects.filter(status=BatchStatus.IN_CULTURE).select_related(
        "therapy__patient__clinic", "therapy__protocol"
    )


def worklist_feeding_due(now: dt.datetime | None = None) -> QuerySet[Batch]:
    """Batches in culture whose last feeding (or seeding) is a feeding interval old by the end of today.

    One query: the clock is the sweeps' (``last_step_at_sql``), the interval a column of the protocol.
    """
    end_of_today = timezone.localtime(now or timezone.now()).replace(hour=23, minute=59, second=59)
    return (
        _in_culture()
        .annotate(last_fed_at=_clock(FED), feeding_due_at=_deadline(FED, FEEDING_INTERVAL))
        .filter(feeding_due_at__lte=end_of_today)
        .order_by("feeding_due_at")
    )


def worklist_awaiting_seeding() -> QuerySet[Batch]:
    """Received batches not yet seeded, longest waiting first."""
    return (
        Batch.objects.filter(status=BatchStatus.RECEIVED)
        .select_related("therapy__patient__clinic", "therapy__protocol")
        .annotate(received_at=_clock(RECEIVED))
        .order_by("received_at")
    )


def worklist_culture_overdue(now: dt.datetime | None = None) -> QuerySet[Batch]:
    """Batches in culture past the protocol's maximum culture days (the sweeps' ``culture_overdue``)."""
    now = now or timezone.now()
    return (
        _in_culture()
        .annotate(seeded_at=_clock(SEEDED), overdue_at=_deadline(SEEDED, CULTURE_LIMIT))
        .filter(overdue_at__lt=now)
        .order_by("seeded_at")
    )


def open_findings(batch: Batch) -> QuerySet[Finding]:
    """Findings of the batch that QA has not assessed yet."""
    return batch.findings.filter(assessed_at__isnull=True)


def effective_steps(batch: Batch) -> list[CultureStep]:
    """The batch's steps as they stand after corrections, in time order."""
    return list(batch.steps.filter(amended_by__isnull=True).order_by("performed_at", "id"))


__all__ = [
    "Growth",
    "TimelineEntry",
    "batch_growth",
    "batch_list",
    "batch_status_counts",
    "batch_timeline",
    "effective_steps",
    "open_findings",
    "with_effective_steps",
    "worklist_awaiting_seeding",
    "worklist_culture_overdue",
    "worklist_feeding_due",
]


# --- API ------------------------------------------------------------------------


def batch_detail_list(*, clinic_id: int | None = None) -> QuerySet[Batch]:
    """``batch_list`` plus what a batch's full view shows, for any number of rows in four more queries.

    Prefetched: effective steps (``effective_steps``), doses in number order,
    and open flags (``open_flags``, newest first).
    """
    open_flags = Flag.objects.filter(resolved_at__isnull=True).order_by("-first_seen_at", "id")
    return with_effective_steps(batch_list(clinic_id=clinic_id)).prefetch_related(
        Prefetch("doses", queryset=Dose.objects.order_by("number")),
        Prefetch("flags", queryset=open_flags, to_attr="open_flags"),
    )


def with_growth(batches: Iterable[Batch], today: dt.date | None = None) -> list[Batch]:
    """Attach ``growth`` (``batch_growth``) to batches fetched with their effective steps; no query."""
    batches = list(batches)
    for batch in batches:
        batch.growth = batch_growth(batch, batch.effective_steps, today)  # type: ignore[attr-defined]
    return batches


__all__ += ["batch_detail_list", "with_growth"]


# --- Web UI ---------------------------------------------------------------------

# Imported here so this section stays an append to the module.
from django.db.models import Case, Q, When  # noqa: E402

from batches.models import Location, Notification  # noqa: E402


def batch_overview_list(*, clinic_id: int | None = None, status: str | None = None) -> QuerySet[Batch]:
    """``batch_list`` rows (optionally of one status) with ``open_flag_count`` and effective steps.

    One query for the rows (the count is a filtered aggregate) and one for the
    steps of the rows fetched, whatever their number; pass through ``with_growth``.
    """
    open_flags = Count("flags", filter=Q(flags__resolved_at__isnull=True))
    batches = with_effective_steps(batch_list(clinic_id=clinic_id)).annotate(open_flag_count=open_flags)
    return batches.filter(status=status) if status else batches


def batch_page(*, din: str, clinic_id: int | None = None) -> Batch | None:
    """The batch with DIN ``din`` as its page shows it (``growth`` attached), or None when not visible."""
    found = with_growth(with_effective_steps(batch_list(clinic_id=clinic_id)).filter(din=din))
    return found[0] if found else None


def flag_open_list(*, batch: Batch | None = None) -> QuerySet[Flag]:
    """Open flags (of one batch, or all), most severe and newest first, with their batch (one query)."""
    flags = Flag.objects.filter(resolved_at__isnull=True).select_related(
        "batch__therapy__patient__clinic", "acknowledged_by"
    )
    if batch is not None:
        flags = flags.filter(batch=batch)
    severity = Case(
        When(severity=Flag.Severity.CRITICAL, then=0), When(severity=Flag.Severity.WARNING, then=1), default=2
    )
    return flags.order_by(severity, "-first_seen_at", "id")


def notification_list(*, user_id: int) -> QuerySet[Notification]:
    """The user's notifications, newest first, with their flag and batch (one query)."""
    return (
        Notification.objects.filter(user_id=user_id)
        .select_related("flag__batch")
        .order_by("-created_at", "-id")
    )


def notification_unread_count(*, user_id: int) -> int:
    """How many of the user's notifications are unread (one COUNT on the inbox index)."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def location_active_list() -> QuerySet[Location]:
    """Locations in use, by code: where a batch can be handed over to."""
    return Location.objects.filter(active=True).order_by("code")


__all__ += [
    "batch_overview_list",
    "batch_page",
    "flag_open_list",
    "location_active_list",
    "notification_list",
    "notification_unread_count",
]


# --- The scan box: what a scanned label names ------------------------------------------


@dataclass(frozen=True)
class ScanTarget:
    """The batch a scanned label leads to, and what the label named (batch, dose or collection)."""

    batch: Batch
    kind: str  # "batch", "dose", "collection", "therapy"
    dose: Dose | None = None
    collection: Any = None


def scan_target(*, kind: str, din: str = "", dose_number: int | None = None, coi: str = "",
                clinic_id: int | None = None) -> ScanTarget | None:  # fmt: skip
    """The batch page a validated scan opens, within the clinic the user sees; None when nothing matches.

    A DIN names a batch, or a collection: a cell-source collection opens its batch,
    a serum collection the batch of its therapy that it was drawn for. A dose label
    opens its batch at the dose; a Chain of Identity identifier the therapy's latest batch.
    At most three queries.
    """
    from batches.models import Collection

    visible = batch_list(clinic_id=clinic_id)
    if kind == "dose":
        dose = Dose.objects.filter(batch__in=visible, batch__din=din, number=dose_number).select_related(
            "batch"
        )
        found = dose.first()
        return ScanTarget(found.batch, "dose", dose=found) if found else None
    if kind == "coi":
        batch = visible.filter(therapy__coi=coi).order_by("-created_at").first()
        return ScanTarget(batch, "therapy") if batch else None
    batch = visible.filter(din=din).first()
    if batch is not None:
        return ScanTarget(batch, "batch")
    collections = Collection.objects.filter(din=din)
    if clinic_id is not None:
        collections = collections.filter(therapy__patient__clinic_id=clinic_id)
    collection = collections.first()
    if collection is None:
        return None
    batch = visible.filter(therapy_id=collection.therapy_id).order_by("-created_at").first()
    return ScanTarget(batch, "collection", collection=collection) if batch else None


__all__ += ["ScanTarget", "scan_target"]
