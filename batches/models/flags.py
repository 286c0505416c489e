"""Flags raised by the background sweeps, and the notifications they send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from batches.models.core import Batch
from core.audit import audited

USER = settings.AUTH_USER_MODEL


# ``last_seen_at`` moves at every sweep; recording it would flood the trail with
# no GMP content. Opening, severity, detail, acknowledgement and resolution are recorded.
@audited(skip=("last_seen_at",))
class Flag(models.Model):
    """A condition a sweep found on a batch. At most one open flag per batch and kind.

    Opened, kept (``last_seen_at``) and resolved only by the sweeps; people
    acknowledge it. A flag whose condition returns later is a new row.
    """

    class Kind(models.TextChoices):
        CULTURE_DUE_SOON = "culture_due_soon", _("Culture maximum within 2 days")
        CULTURE_OVERDUE = "culture_overdue", _("Culture past its maximum without harvest")
        FEEDING_OVERDUE = "feeding_overdue", _("No feeding within the feeding interval")
        SEEDING_OVERDUE = "seeding_overdue", _("Received but not seeded in time")
        CULTURE_AT_RISK = "culture_at_risk", _("Projected to miss the target dose")
        QC_LATE = "qc_late", _("QC result past its turnaround")
        DOSE_EXPIRING = "dose_expiring", _("Dose expiring with no infusion scheduled")
        INDICATION_WINDOW = "indication_window", _("Infusion window closes before the projected ready day")

    class Severity(models.TextChoices):
        INFO = "info", _("Info")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    detail = models.TextField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the flag is open.")
    acknowledged_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        ordering = ["-first_seen_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "kind"],
                condition=models.Q(resolved_at__isnull=True),
                name="flag_one_open_per_batch_kind",
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "batch"],
                condition=models.Q(resolved_at__isnull=True),
                name="flag_open_kind_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.kind} ({self.severity})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Notification(models.Model):
    """One message to one user about a flag that opened or escalated; the web UI lists unread ones."""

    class Event(models.TextChoices):
        OPENED = "opened", _("Opened")
        ESCALATED = "escalated", _("Escalated")

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="notifications")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=10, choices=Event.choices)
    severity = models.CharField(max_length=10, choices=Flag.Severity.choices)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "id"]
        constraints = [
            # A flag that stays open (or falls back and rises again) never notifies twice at one severity.
            models.UniqueConstraint(
                fields=["flag", "user", "severity"], name="notification_once_per_severity"
            )
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: flag {self.flag_id} {self.event}"
