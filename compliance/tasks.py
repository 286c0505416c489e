"""Celery tasks of the compliance side: late QC results and dose expiry.

Thin interfaces over ``batches.services.sweeps``; see ``batches.tasks`` for the
retry and outage policy they share.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from batches.services import sweeps
from batches.tasks import TASK_OPTIONS


@shared_task(name="compliance.sweep_qc_late", **TASK_OPTIONS)
def sweep_qc_late(self: Task) -> dict[str, int]:
    """Flag batches with a QC result outstanding past its turnaround."""
    result = sweeps.sweep_qc_late()
    return {"opened": len(result.opened), "kept": result.kept, "resolved": result.resolved}


@shared_task(name="compliance.sweep_expiry", **TASK_OPTIONS)
def sweep_expiry(self: Task) -> dict[str, Any]:
    """Expire doses past their shelf life, expire batches left with none, flag doses expiring soon."""
    expiry, expiring = sweeps.sweep_expiry()
    return {
        "doses_expired": expiry.doses_expired,
        "batches_expired": expiry.batches_expired,
        "expiring_opened": len(expiring.opened),
    }
