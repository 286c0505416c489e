"""Reads of endpoints and events, scoped by the caller's clinic in the interface."""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.models import OutboxEvent, WebhookEndpoint


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.select_related("clinic").order_by("created_at", "id")


def event_list() -> QuerySet[OutboxEvent]:
    """Newest first, with the endpoint (and its clinic) each row shows."""
    return OutboxEvent.objects.select_related("endpoint__clinic").order_by("-created_at", "id")
