"""Lab records of a batch: custody transfers, culture steps and findings."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from batches.models.core import Batch, Collection, Location
from core.audit import audited

USER = settings.AUTH_USER_MODEL
PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


@audited
class CustodyTransfer(models.Model):
    """One hand-over of the physical item; ``from_location`` is the previous ``to_location``."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="custody_transfers")
    sequence = models.PositiveIntegerField()
    from_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    from_holder = models.CharField(max_length=200, blank=True)
    to_holder = models.CharField(max_length=200, blank=True)
    temperature_c = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    seal_intact = models.BooleanField()
    scanned_identifier = models.CharField(max_length=20)
    performed_at = models.DateTimeField()
    performed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    notes = models.TextField(blank=True)

    class Meta:
        verbose_name = _("custody transfer")
        verbose_name_plural = _("custody transfers")
        ordering = ["batch", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "sequence"], name="custody_sequence_unique_per_batch")
        ]

    def __str__(self) -> str:
        return f"{self.batch.din} custody #{self.sequence} -> {self.to_location.code}"


@audited
class CultureStep(models.Model):
    """One logged step of processing. Never edited: a correction is a new step that ``amends`` it.

    Only the fields of its kind are filled (see ``batches.domain.steps``).
    """

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        SEEDING = "seeding", _("Seeding")
        FEEDING = "feeding", _("Feeding (media change)")
        PASSAGE = "passage", _("Passage")
        CELL_COUNT = "cell_count", _("Cell count")
        HARVEST = "harvest", _("Harvest")
        FORMULATION = "formulation", _("Formulation")

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    performed_at = models.DateTimeField()
    performed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    scanned_identifier = models.CharField(max_length=20)
    equipment = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    amends = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="amended_by"
    )
    amendment_reason = models.TextField(blank=True)
    # Kind-specific values.
    temperature_c = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    seal_intact = models.BooleanField(null=True, blank=True)
    medium_lot = models.CharField(max_length=64, blank=True)
    serum_collection = models.ForeignKey(
        Collection, null=True, blank=True, on_delete=models.PROTECT, related_name="serum_uses"
    )
    passage_number = models.PositiveIntegerField(null=True, blank=True)
    seeded_cells = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    viable_cells = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    viability_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    confluence_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    doses = models.PositiveIntegerField(null=True, blank=True)
    cells_per_dose = models.BigIntegerField(null=True, blank=True)
    volume_ml_per_dose = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)

    class Meta:
        verbose_name = _("culture step")
        verbose_name_plural = _("culture steps")
        ordering = ["performed_at", "id"]
        indexes = [models.Index(fields=["batch", "kind", "performed_at"], name="step_batch_kind_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amends__isnull=True) | ~models.Q(amendment_reason=""),
                name="step_amendment_needs_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.batch.din} {self.kind} at {self.performed_at:%Y-%m-%d %H:%M}"


@audited
class Finding(models.Model):
    """Something QA must assess before release: custody gap, excursion, identity failure..."""

    class Kind(models.TextChoices):
        IDENTITY_MISMATCH = "identity_mismatch", _("Identity check failed")
        CUSTODY_GAP = "custody_gap", _("Custody gap")
        TEMPERATURE_EXCURSION = "temperature_excursion", _("Temperature excursion")
        SEAL_BROKEN = "seal_broken", _("Seal not intact")
        LATE_RECEIPT = "late_receipt", _("Received later than the protocol allows")

    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.PROTECT, related_name="findings")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    detail = models.TextField()
    occurred_at = models.DateTimeField()
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scanned_identifier = models.CharField(max_length=40, blank=True)
    custody_transfer = models.ForeignKey(
        CustodyTransfer, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    step = models.ForeignKey(
        CultureStep, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    assessment = models.TextField(blank=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.detail[:60]}"

    @property
    def is_open(self) -> bool:
        return self.assessed_at is None
