"""A clinic's webhook endpoints and the outbox of events waiting to reach them."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from batches.models import Clinic
from core.audit import audited


class EventType(models.TextChoices):
    BATCH_RELEASED = "batch.released", _("Batch released")
    BATCH_QUARANTINED = "batch.quarantined", _("Batch quarantined")
    BATCH_REJECTED = "batch.rejected", _("Batch rejected")
    BATCH_PROJECTION_CHANGED = "batch.projection_changed", _("Projected ready date changed")
    DOSE_EXPIRING = "dose.expiring", _("Dose expiring")
    INFUSION_SCHEDULED = "infusion.scheduled", _("Infusion scheduled")
    INFUSION_CANCELLED = "infusion.cancelled", _("Infusion cancelled")


# Where a clinic's data goes is regulated configuration: every change is in the audit
# trail, the secret's change recorded but never its value. Endpoints are deactivated, not deleted.
@audited(mask=("secret", "previous_secret"))
class WebhookEndpoint(models.Model):
    """A URL of a clinic's system that receives the events it subscribed to, signed with ``secret``.

    The secret (``whsec_`` + base64 of 32 random bytes, the Standard Webhooks
    form) is shown once when it is generated or rotated; signing needs it in
    clear, so it is stored, but no API or admin page shows it again.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=500, verbose_name=_("URL"))
    secret = models.CharField(max_length=100, editable=False)
    events = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices),
        verbose_name=_("events"),
        help_text=_("The event types this endpoint receives."),
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    description = models.CharField(max_length=200, blank=True, default="", verbose_name=_("description"))
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # After a rotation deliveries carry both signatures for a while (the spec allows several),
    # so the clinic can switch its receiver to the new secret without losing events.
    previous_secret = models.CharField(max_length=100, blank=True, default="", editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["clinic_id", "created_at", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return f"{self.clinic.code}: {self.url}"


class OutboxEvent(models.Model):
    """One event for one endpoint: written in the transaction of the change it reports.

    ``id`` is the ``webhook-id`` of every delivery attempt, so a receiver can
    drop duplicates (delivery is at least once). ``key`` names the fact
    reported (``batch.released:<din>:<decision>``): with the endpoint it is
    unique, so an emit replayed by a retried task or by two sweeps at once
    adds nothing.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="outbox_events")
    type = models.CharField(max_length=40, choices=EventType.choices)
    key = models.CharField(max_length=200)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    retry_until = models.DateTimeField(help_text=_("After this, a failed attempt marks the event failed."))
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "key"], name="outbox_one_event_per_endpoint_key"),
        ]
        indexes = [
            # The drain's question: which pending events are due?
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outbox_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
