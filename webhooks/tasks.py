"""The Celery side of delivery: a drain task, enqueued after commit and run by beat.

Enqueuing after an emit only makes delivery prompt. The beat entry
(``webhooks-drain`` in ``CELERY_BEAT_SCHEDULE``) drains periodically, so an
event written while Redis was down is delivered once it is back: the outbox
row, not the broker message, is what must not be lost.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.db import OperationalError, transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


@shared_task(
    name="webhooks.drain",
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=240,
    time_limit=300,
)
def drain(self: Task) -> dict[str, Any]:
    """Deliver every due outbox event (safe to run twice or concurrently)."""
    from webhooks.delivery import drain as drain_due

    result = drain_due()
    return {"delivered": result.delivered, "retried": result.retried, "failed": result.failed}


def _send() -> None:
    try:
        drain.apply_async()
    except BrokerError:
        logger.warning("broker unavailable: webhooks.drain not enqueued; the beat drain delivers later")


def enqueue_drain() -> None:
    """Drain once the current transaction commits; a broker outage is logged, never raised."""
    transaction.on_commit(_send)
