"""The transactional outbox: an event row is written in the transaction of the change it reports.

The service that changes a batch or an infusion calls ``emit`` inside its own
transaction, with a payload it built (DIN, COI, new state, readiness summary,
link). ``emit`` fans the event out to the clinic's active endpoints that
subscribed to its type: one ``OutboxEvent`` per endpoint. If the transaction
rolls back, no event exists; if it commits, the event exists whatever happens
to Redis or the receiver afterwards, and the drain (``delivery``) sends it.

After commit a drain task is enqueued, as an optimisation only: with the
broker down the beat entry's periodic drain still finds the row.

``(endpoint, key)`` is unique and the insert is ``ON CONFLICT DO NOTHING``:
an emit replayed (a retried task, two sweeps at once) adds nothing.

Lock order (``core.audit``): the insert comes after the emitter's audited
writes and takes no row lock beyond the foreign-key check on the endpoint at
commit (FOR KEY SHARE), which endpoint edits (FOR NO KEY UPDATE) do not block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone

from webhooks.models import EventType, OutboxEvent, WebhookEndpoint
from webhooks.tasks import enqueue_drain


def retry_window() -> dt.timedelta:
    """How long an event is retried (read at call time: tests override the setting)."""
    return dt.timedelta(seconds=settings.WEBHOOKS_RETRY_WINDOW)


def emit(
    *,
    clinic_id: int,
    type: str,
    key: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    now: dt.datetime | None = None,
) -> None:
    """Queue event ``type`` about ``data`` for every endpoint of ``clinic_id`` that wants it.

    ``key`` names the fact (unique per endpoint). ``data`` must be the
    clinic's own data only: endpoints are chosen by ``clinic_id`` here, and
    nothing else is added. It may be a function, called only when some
    endpoint wants the event (a clinic without webhooks costs one query).
    """
    if type not in EventType.values:
        raise ValueError(f"unknown webhook event type {type!r}")
    now = now or timezone.now()
    endpoints = list(
        WebhookEndpoint.objects.filter(clinic_id=clinic_id, active=True, events__contains=[type]).only("id")
    )
    if not endpoints:
        return
    data = data() if callable(data) else data
    events = [
        OutboxEvent(
            endpoint=endpoint,
            type=type,
            key=key[:200],
            payload={"type": type, "timestamp": now.isoformat(), "data": data},
            created_at=now,
            next_attempt_at=now,
            retry_until=now + retry_window(),
        )
        for endpoint in endpoints
    ]
    OutboxEvent.objects.bulk_create(events, ignore_conflicts=True)
    enqueue_drain()


__all__ = ["emit"]
