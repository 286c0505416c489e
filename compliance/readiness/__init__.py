"""Readiness: can this dose be infused at time T? One answer everywhere.

* ``rules``: the pure function (no ORM, no clock) that returns every unmet condition.
* ``facts``: what it depends on, read afresh; ``batch_readiness`` is the fresh answer
  that scheduling and administration decide on inside their transaction.
* ``stored``: those facts stored per batch, keyed by ``facts_version``.
* ``versions``: the triggers that bump ``facts_version`` on every relevant write.

``readiness_report`` is the one read path of the API, the web UI and FHIR: the
stored facts when current (else read afresh and stored), then the same pure rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from batches.models import Batch
from compliance.readiness import rules
from compliance.readiness.facts import batch_readiness, batch_state_at
from compliance.readiness.stored import cached_batch_facts


@dataclass(frozen=True)
class ReadinessReport:
    """The answer at ``at`` with what every interface shows beside it."""

    din: str
    status: str
    at: dt.datetime
    answer: rules.Readiness
    projected_ready_on: dt.date | None
    projected_ready_between: tuple[dt.date, dt.date] | None = None


def readiness_report(batch: Batch, at: dt.datetime | None = None) -> ReadinessReport:
    """Readiness of ``batch`` at ``at`` (default now) for reads that decide nothing.

    ``batch`` is best loaded with ``stored_facts`` (``stored.readiness_batches``):
    then a current answer costs no query.
    """
    at = at or timezone.now()
    facts = cached_batch_facts(batch)
    answer = rules.readiness(batch_state_at(batch.status, facts, at), at)
    return ReadinessReport(
        batch.din, batch.status, at, answer, facts.projected_ready_on, facts.projected_ready_between
    )


__all__ = ["ReadinessReport", "batch_readiness", "readiness_report"]
