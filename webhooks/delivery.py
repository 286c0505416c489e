"""Deliver due outbox events: claim, sign (Standard Webhooks), send, then record or back off.

Claiming: a short transaction selects due pending events ``FOR UPDATE SKIP
LOCKED``, counts the attempt and moves ``next_attempt_at`` a lease ahead, then
commits; the HTTP calls happen outside any transaction. Concurrent drains
(several workers, beat and an on-commit task at once) therefore never claim
one event twice, and an event whose worker died is claimed again when its
lease runs out: delivery is at least once, never lost.

Every attempt is signed afresh (``webhook-timestamp`` is the attempt's time)
with the same ``webhook-id``: the event's id. A 2xx answer delivers; anything
else (an error status, a redirect, a refused connection, a timeout, a URL that
no longer passes ``safety``) is retried with exponential backoff and full
jitter until ``retry_until`` (``WEBHOOKS_RETRY_WINDOW``, 24 h, after the event
was written or redelivered by hand); the attempt at that time is the last, and
if it fails the event is marked failed. Failed events are listed to the clinic and in the
admin and can be redelivered by hand (``services.event_redeliver``).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import random
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from webhooks import transport
from webhooks.models import OutboxEvent
from webhooks.safety import UnsafeURL, check_url

logger = logging.getLogger(__name__)

# A claimed event is not claimed again before this: longer than one attempt can take.
LEASE = dt.timedelta(minutes=2)
CLAIM_BATCH = 50
USER_AGENT = "cell-lims-webhooks/1"


@dataclass(frozen=True)
class DrainResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def signed_request(
    event: OutboxEvent, secret: str, at: dt.datetime, *, also: str = ""
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt: ``webhook-id``, ``-timestamp``, ``-signature``.

    ``also``: a second secret (the one before a rotation) whose signature is sent too.
    """
    body = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
    at_utc = at.astimezone(dt.UTC)
    signatures = [
        Webhook(s).sign(msg_id=str(event.id), timestamp=at_utc, data=body) for s in (secret, also) if s
    ]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": str(event.id),
        "webhook-timestamp": str(int(at_utc.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
    return body.encode(), headers


def backoff(attempts: int) -> dt.timedelta:
    """Full jitter over an exponential ceiling: base * 2^(attempts-1), capped."""
    ceiling = min(settings.WEBHOOKS_BACKOFF_BASE * 2 ** max(attempts - 1, 0), settings.WEBHOOKS_BACKOFF_MAX)
    return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def claim_due(*, now: dt.datetime, limit: int = CLAIM_BATCH) -> list[OutboxEvent]:
    """Claim up to ``limit`` due events for this worker (one short transaction)."""
    with transaction.atomic():
        due = list(
            OutboxEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(status=OutboxEvent.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        for event in due:
            event.attempts += 1
            event.last_attempt_at = now
            event.next_attempt_at = now + LEASE
        OutboxEvent.objects.bulk_update(due, ["attempts", "last_attempt_at", "next_attempt_at"])
    return due


def attempt(event: OutboxEvent, *, now: dt.datetime) -> tuple[bool, int | None, str]:
    """Send one claimed event: (delivered, status code, error)."""
    endpoint = event.endpoint
    if not endpoint.active:
        return False, None, "The endpoint is deactivated."
    try:
        target = check_url(endpoint.url)  # again at delivery: DNS may have changed since registration
        overlap = endpoint.previous_secret_until is not None and now < endpoint.previous_secret_until
        body, headers = signed_request(
            event, endpoint.secret, now, also=endpoint.previous_secret if overlap else ""
        )
        response = transport.post(target, body, headers)
    except UnsafeURL as error:
        return False, None, f"Refused: {error}"
    except (OSError, ValueError, http.client.HTTPException) as error:
        return False, None, f"{type(error).__name__}: {error}"[:500]
    if 200 <= response.status < 300:
        return True, response.status, ""
    text = response.body[:300].decode("utf-8", "replace")
    return False, response.status, f"HTTP {response.status}: {text}"


def _record(event: OutboxEvent, delivered: bool, code: int | None, error: str, now: dt.datetime) -> str:
    """Store the outcome unless the event was claimed again meanwhile (compare-and-set on attempts)."""
    if delivered:
        changes = {"status": OutboxEvent.Status.DELIVERED, "delivered_at": now, "last_error": ""}
        outcome = "delivered"
    elif now >= event.retry_until:
        changes = {"status": OutboxEvent.Status.FAILED, "last_error": error}
        outcome = "failed"
    else:
        changes = {
            "next_attempt_at": min(now + backoff(event.attempts), event.retry_until),
            "last_error": error,
        }
        outcome = "retried"
    OutboxEvent.objects.filter(
        pk=event.pk, attempts=event.attempts, status=OutboxEvent.Status.PENDING
    ).update(last_status_code=code, **changes)
    return outcome


def drain(*, now: dt.datetime | None = None, rounds: int = 20) -> DrainResult:
    """Deliver what is due, batch after batch (at most ``rounds`` claims, so a task stays bounded)."""
    counts = {"delivered": 0, "retried": 0, "failed": 0}
    for _ in range(rounds):
        claimed = claim_due(now=now or timezone.now())
        for event in claimed:
            at = now or timezone.now()
            delivered, code, error = attempt(event, now=at)
            if error:
                logger.info("webhook %s to %s not delivered: %s", event.id, event.endpoint.url, error)
            counts[_record(event, delivered, code, error, at)] += 1
        if len(claimed) < CLAIM_BATCH:
            break
    return DrainResult(**counts)
