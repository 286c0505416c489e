"""The worklists of QC and QA: tests due and late, the results against the specification, open
deviations and findings, batches awaiting release or re-review. Each is a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, DateTimeField, Prefetch, Q, QuerySet, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from batches.domain import BatchStatus
from batches.models import Batch, Finding
from batches.selectors import last_step_at_sql
from compliance.models import Deviation, QcResult

# QC samples are taken from the harvested cells: the turnaround clock starts at harvest
# (the ``qc_late`` sweep's definition).
QC_STATES = (BatchStatus.HARVESTED, BatchStatus.PENDING_RELEASE, BatchStatus.QUARANTINED)
_HARVEST_SQL = last_step_at_sql(("harvest",), '"batches_batch"."id"')
_HARVESTED_AT = RawSQL(_HARVEST_SQL, (), output_field=DateTimeField())  # noqa: S611 - constants only


@dataclass(frozen=True)
class QcDue:
    """A required test of a batch with no result yet, and when its turnaround runs out."""

    batch: Batch
    test: str
    spec: dict[str, Any]
    due_at: dt.datetime | None
    late: bool


def qc_worklist(now: dt.datetime | None = None) -> list[QcDue]:
    """Required tests without a result on harvested batches, late ones first, then by due time.

    Two queries whatever the number of batches: the batches (with their harvest
    time) and their results.
    """
    now = now or timezone.now()
    batches = (
        Batch.objects.filter(status__in=QC_STATES)
        .select_related("therapy__patient__clinic", "therapy__protocol")
        .annotate(harvested_at=_HARVESTED_AT)
        .prefetch_related(Prefetch("qc_results", QcResult.objects.only("batch_id", "test")))
    )
    rows = []
    for batch in batches:
        harvested_at = batch.harvested_at  # type: ignore[attr-defined]
        if harvested_at is None:  # quarantined while still in culture: nothing to sample yet
            continue
        done = {result.test for result in batch.qc_results.all()}
        for spec in batch.therapy.protocol.qc_specifications:
            if spec["test"] in done:
                continue
            days = spec.get("turnaround_days")
            due_at = harvested_at + dt.timedelta(days=days) if days is not None else None
            rows.append(QcDue(batch, spec["test"], spec, due_at, due_at is not None and due_at < now))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(rows, key=lambda r: (not r.late, r.due_at or far, r.batch.din, r.test))


def qc_results_table(batch: Batch) -> list[tuple[dict[str, Any], list[QcResult]]]:
    """Each specification of the batch's protocol with its results, oldest first (one query).

    Every result keeps the specification it was judged against and the
    deviation an out-of-specification result opened.
    """
    results: dict[str, list[QcResult]] = {}
    for result in (
        QcResult.objects.filter(batch=batch)
        .select_related("tested_by", "deviation")
        .order_by("tested_at", "id")
    ):
        results.setdefault(result.test, []).append(result)
    return [(spec, results.get(spec["test"], [])) for spec in batch.therapy.protocol.qc_specifications]


_SEVERITY_RANK = Case(
    When(severity=Deviation.Severity.CRITICAL, then=0),
    When(severity=Deviation.Severity.MAJOR, then=1),
    default=2,
)


def deviation_open_list() -> QuerySet[Deviation]:
    """Open deviations of every batch, most severe and oldest first, with batch and opener (one query)."""
    return (
        Deviation.objects.filter(status=Deviation.Status.OPEN)
        .select_related("batch__therapy__patient", "opened_by", "investigated_by")
        .order_by(_SEVERITY_RANK, "opened_at")
    )


def finding_open_list() -> QuerySet[Finding]:
    """Custody and identity findings awaiting QA's assessment, oldest first, with their batch (one query)."""
    return (
        Finding.objects.filter(assessed_at__isnull=True)
        .select_related("batch__therapy__patient")
        .order_by("occurred_at", "id")
    )


def batch_release_worklist() -> QuerySet[Batch]:
    """Batches waiting for QA: pending release, and released ones whose stored facts say the release
    signature no longer holds (re-review). One query; the facts are the readiness cache's."""
    return (
        Batch.objects.filter(
            Q(status=BatchStatus.PENDING_RELEASE)
            | Q(status=BatchStatus.RELEASED, stored_facts__facts__release_signature_valid=False)
        )
        .select_related("therapy__patient__clinic", "therapy__protocol")
        .order_by("status_changed_at", "id")
    )
