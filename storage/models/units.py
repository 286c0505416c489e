"""The frozen product: the cryopreservation of a batch and the units (bags, vials) of each dose."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from batches.models import Batch, Dose
from core.audit import audited
from core.isbt128 import check_character

USER = settings.AUTH_USER_MODEL


@audited
class Cryopreservation(models.Model):
    """The freeze of a formulated batch: one per batch. Shelf life counts from ``freeze_ended_at``."""

    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, related_name="cryopreservation")
    freeze_started_at = models.DateTimeField()
    freeze_ended_at = models.DateTimeField()
    freezer = models.CharField(max_length=64, help_text="Controlled-rate freezer identifier.")
    program = models.CharField(max_length=64, help_text="Freezing program name or number.")
    cryoprotectant = models.CharField(max_length=64, help_text="e.g. DMSO 10%.")
    cryoprotectant_lot = models.CharField(max_length=64)
    scanned_identifier = models.CharField(max_length=20)
    performed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(freeze_started_at__lt=models.F("freeze_ended_at")),
                name="freeze_start_before_end",
            )
        ]

    def __str__(self) -> str:
        return f"freeze of {self.batch_id} ended {self.freeze_ended_at:%Y-%m-%d %H:%M}"


@audited
class DoseUnit(models.Model):
    """One bag or vial of a dose: its identifier is the dose identifier plus a unit suffix (A, B...)."""

    class Kind(models.TextChoices):
        BAG = "bag", "Bag"
        VIAL = "vial", "Vial"

    class Status(models.TextChoices):
        FROZEN = "frozen", "Frozen, not in storage"
        STORED = "stored", "In storage"
        SHIPPED = "shipped", "Shipped"
        THAWED = "thawed", "Thawed"
        DISCARDED = "discarded", "Discarded"

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="dose_units")
    dose = models.ForeignKey(Dose, on_delete=models.PROTECT, related_name="units")
    cryopreservation = models.ForeignKey(Cryopreservation, on_delete=models.PROTECT, related_name="units")
    suffix = models.CharField(max_length=1)
    code = models.CharField(max_length=20, unique=True)  # DIN-n-A: the dose identifier and the suffix
    kind = models.CharField(max_length=10, choices=Kind.choices)
    fill_volume_ml = models.DecimalField(
        max_digits=6, decimal_places=1, validators=[MinValueValidator(0.1), MaxValueValidator(9999)]
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FROZEN)

    class Meta:
        ordering = ["dose", "suffix"]
        constraints = [
            models.UniqueConstraint(fields=["dose", "suffix"], name="unit_suffix_unique_per_dose"),
            models.CheckConstraint(condition=models.Q(suffix__regex=r"^[A-Z]$"), name="unit_suffix_letter"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def label(self) -> str:
        """The eye-readable label: DIN with its check character, dose number, unit suffix."""
        din, number, suffix = self.code.split("-")
        return f"{din}{check_character(din)}-{number}-{suffix}"
