"""The download log: who took which document of which batch, when. Append-only and audited."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import audited


@audited
class DocumentDownload(models.Model):
    """One document handed out (GMP: a record printed or exported is itself a recorded event).

    The audit trail triggers record every insert and refuse every delete; the
    service only ever inserts. ``actor_name`` keeps the name as it was, and
    ``clinic`` is set for a clinic system's token (which has no user).
    """

    class Document(models.TextChoices):
        BATCH_RECORD = "batch_record", _("Batch record (PDF)")
        CERTIFICATE = "certificate", _("Certificate of analysis (PDF)")
        LABELS_PDF = "labels_pdf", _("Label sheet (PDF)")
        LABELS_ZPL = "labels_zpl", _("Labels (ZPL)")
        BATCH_LIST_CSV = "batch_list_csv", _("Batch list (CSV)")
        TIMELINE_CSV = "timeline_csv", _("Batch timeline (CSV)")

    document = models.CharField(max_length=20, choices=Document.choices)
    batch = models.ForeignKey(
        "batches.Batch", null=True, blank=True, on_delete=models.PROTECT, related_name="downloads"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clinic = models.ForeignKey(
        "batches.Clinic", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, help_text="api or web")
    language = models.CharField(max_length=10)
    parameters = models.JSONField(default=dict, blank=True, help_text="Filters, label size...")
    downloaded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("document download")
        verbose_name_plural = _("document downloads")
        ordering = ["downloaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(clinic__isnull=False),
                name="download_has_an_actor",
            )
        ]

    def __str__(self) -> str:
        return f"{self.document} {self.batch_id or ''} by {self.actor_name} at {self.downloaded_at:%Y-%m-%d %H:%M}"
