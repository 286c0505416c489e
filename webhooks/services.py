"""Every write to endpoints, and redelivery by hand. A clinic manages its own.

Who: the clinic's system (its token), its coordinator, or an admin (any
clinic). The URL passes ``safety.check_url`` before it is stored: a refused
URL is a ValidationError on ``url`` (400 at the API) and nothing is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from batches.models import Clinic
from core.audit import audit_context
from core.roles import Role, require_own_clinic, require_role
from webhooks.models import EventType, OutboxEvent, WebhookEndpoint
from webhooks.outbox import retry_window
from webhooks.safety import UnsafeURL, check_url
from webhooks.tasks import enqueue_drain

MANAGERS = (Role.COORDINATOR, Role.ADMIN)
ROTATION_OVERLAP = dt.timedelta(hours=24)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _allowed(actor: Any, clinic_id: int, action: str) -> None:
    require_role(actor, *MANAGERS, action=action, clinic_system=True)
    require_own_clinic(actor, clinic_id, action=action)


def _clean_url(url: str) -> str:
    try:
        check_url(url)
    except UnsafeURL as error:
        raise ValidationError({"url": [str(error)]}) from error
    return url.strip()


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EventType.values]
    if unknown or not chosen:
        raise ValidationError(
            {"events": [_("Choose one or more of: %(types)s.") % {"types": ", ".join(EventType.values)}]}
        )
    return chosen


def endpoint_create(
    *, clinic: Clinic, url: str, events: Iterable[str], description: str = "", actor: Any = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint of ``clinic``; returns it and its secret (shown this once)."""
    _allowed(actor, clinic.pk, "manage webhooks")
    url, chosen = _clean_url(url), _clean_events(events)
    secret = new_secret()
    with transaction.atomic(), audit_context(actor=actor, reason="webhook endpoint registered"):
        endpoint = WebhookEndpoint.objects.create(
            clinic=clinic, url=url, events=chosen, description=description, secret=secret
        )
    return endpoint, secret


def endpoint_update(*, endpoint: WebhookEndpoint, actor: Any = None, **changes: Any) -> WebhookEndpoint:
    """Change the URL, events, description or active flag (re-checking the URL)."""
    _allowed(actor, endpoint.clinic_id, "manage webhooks")
    if "url" in changes:
        changes["url"] = _clean_url(changes["url"])
    if "events" in changes:
        changes["events"] = _clean_events(changes["events"])
    fields = [f for f in ("url", "events", "description", "active") if f in changes]
    with transaction.atomic(), audit_context(actor=actor, reason="webhook endpoint changed"):
        locked = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
        for name in fields:
            setattr(locked, name, changes[name])
        locked.save(update_fields=fields)
    return locked


def endpoint_deactivate(*, endpoint: WebhookEndpoint, actor: Any = None) -> WebhookEndpoint:
    """Stop sending to the endpoint (kept for the record; pending events are not sent)."""
    return endpoint_update(endpoint=endpoint, actor=actor, active=False)


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Any = None) -> tuple[WebhookEndpoint, str]:
    """A new secret, effective for the next attempt; returns it (shown this once).

    For ``ROTATION_OVERLAP`` deliveries are signed with the old secret too, so a
    receiver still verifying with it keeps accepting them until it is switched.
    """
    _allowed(actor, endpoint.clinic_id, "manage webhooks")
    secret = new_secret()
    with transaction.atomic(), audit_context(actor=actor, reason="webhook secret rotated"):
        locked = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
        now = timezone.now()
        locked.previous_secret, locked.previous_secret_until = locked.secret, now + ROTATION_OVERLAP
        locked.secret, locked.secret_rotated_at = secret, now
        locked.save(update_fields=["secret", "secret_rotated_at", "previous_secret", "previous_secret_until"])
    return locked, secret


def event_redeliver(*, event: OutboxEvent, actor: Any = None, now: dt.datetime | None = None) -> OutboxEvent:
    """Send the event again, with the same ``webhook-id``, retried for another window if it fails.

    A delivered event is sent again too (the receiver may have lost it); the
    receiver recognises it by its id.
    """
    _allowed(actor, event.endpoint.clinic_id, "redeliver webhooks")
    now = now or timezone.now()
    with transaction.atomic():
        OutboxEvent.objects.filter(pk=event.pk).update(
            status=OutboxEvent.Status.PENDING, next_attempt_at=now, retry_until=now + retry_window(),
            delivered_at=None,
        )  # fmt: skip
        enqueue_drain()
    event.refresh_from_db()
    return event
