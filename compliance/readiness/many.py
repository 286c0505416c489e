"""Readiness of many batches for one page, in a fixed number of queries.

``readiness_report`` costs no query when the batch was loaded with its current
stored facts. A list page first brings stale or missing facts up to date for all
its rows at once (``refresh_stored_facts``: set-based) and re-attaches them, so
the page costs the same whether it shows one batch or two hundred, warm or cold.
"""

from __future__ import annotations

from collections.abc import Iterable

from batches.models import Batch, BatchFacts
from compliance.readiness import ReadinessReport, readiness_report
from compliance.readiness.bulk import refresh_stored_facts


def _current(batch: Batch) -> bool:
    if not Batch.stored_facts.is_cached(batch):
        return False
    try:
        return batch.stored_facts.version == batch.facts_version
    except BatchFacts.DoesNotExist:
        return False


def with_current_facts(batches: Iterable[Batch]) -> list[Batch]:
    """The batches (loaded with ``stored_facts``) with current facts attached: two queries when any is stale."""
    batches = list(batches)
    stale = [batch.pk for batch in batches if not _current(batch)]
    if stale:
        refresh_stored_facts(stale)
        fresh = {row.batch_id: row for row in BatchFacts.objects.filter(batch_id__in=stale)}
        for batch in batches:
            if batch.pk in fresh:
                Batch.stored_facts.related.set_cached_value(batch, fresh[batch.pk])
    return batches


def readiness_reports(batches: Iterable[Batch]) -> dict[int, ReadinessReport]:
    """``readiness_report`` of each batch, by batch id (batches loaded with ``therapy`` and ``stored_facts``)."""
    return {batch.pk: readiness_report(batch) for batch in with_current_facts(batches)}


__all__ = ["readiness_reports", "with_current_facts"]
