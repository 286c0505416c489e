"""Reads of batches that pages and endpoints share."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from batches.domain import BatchStatus
from batches.models import Batch


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
