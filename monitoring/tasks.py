"""Celery tasks of the batches app: thin interfaces that take ids and call the sweep services.

Every task is safe to run twice (the sweeps recompute from the database), so
``acks_late`` redelivery after a crash is harmless. Database hiccups are retried
with backoff. Enqueuing never fails a web request: if the broker is down the
error is logged and dropped, and the next scheduled sweep catches up.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from celery import Task, shared_task
from django.db import OperationalError, transaction
from kombu.exceptions import OperationalError as BrokerError

from monitoring import storage_sweeps, sweeps

logger = logging.getLogger(__name__)

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": 120,
    "time_limit": 180,
}


def _summary(results: list[sweeps.SweepResult]) -> dict[str, dict[str, int]]:
    return {
        r.kind: {
            "opened": len(r.opened),
            "escalated": len(r.escalated),
            "kept": r.kept,
            "resolved": r.resolved,
        }
        for r in results
    }


@shared_task(name="batches.sweep_all", **TASK_OPTIONS)
def sweep_all(self: Task) -> dict[str, Any]:
    """Every sweep once (the beat schedule's main entry)."""
    full = sweeps.sweep_all()
    # Storage: excursions, the units they hold, missing readings (monitoring/storage_sweeps.py).
    storage = storage_sweeps.sweep_storage()
    return {
        "flags": _summary(full.flags),
        "doses_expired": full.expiry.doses_expired,
        "storage": asdict(storage),
    }


@shared_task(name="batches.sweep_culture", **TASK_OPTIONS)
def sweep_culture(self: Task) -> dict[str, Any]:
    """The lab's sweeps: culture length, feeding, seeding, at risk, indication window."""
    return _summary(sweeps.sweep_culture())


@shared_task(name="batches.batch_flags_refresh", **TASK_OPTIONS)
def batch_flags_refresh(self: Task, batch_id: int) -> dict[str, Any]:
    """Recompute one batch's flags (enqueued after a change to the batch)."""
    return _summary(sweeps.batch_flags_refresh(batch_id=batch_id))


def send_safely(task: Task, *args: Any) -> bool:
    """Publish ``task`` now; a broker outage is logged, never raised. True when published."""
    try:
        task.apply_async(args=args)
    except BrokerError:
        logger.warning("broker unavailable: %s%r not enqueued; the next sweep catches up", task.name, args)
        return False
    return True


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """Publish ``task`` once the current transaction commits (nothing if it rolls back).

    Like ``task.delay_on_commit`` but a broker outage cannot break the commit
    hook, so the request that recorded the change still succeeds.
    """
    transaction.on_commit(lambda: send_safely(task, *args))


def enqueue_batch_refresh(batch_id: int) -> None:
    """Refresh the flags of batch ``batch_id`` after the current transaction commits."""
    enqueue_on_commit(batch_flags_refresh, batch_id)


# --- QC and expiry ------------------------------------------------------------


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
