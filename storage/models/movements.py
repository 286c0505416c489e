"""Where each unit was, when, and who moved it: placements, shipments and thaws."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from batches.models import CustodyTransfer, Location
from core.audit import audited
from storage.models.containers import Container, Position
from storage.models.units import DoseUnit

USER = settings.AUTH_USER_MODEL
VERIFIED_REMOVALS = ("shipment", "thaw")


@audited
class Placement(models.Model):
    """A unit in a position from ``stored_at`` until ``removed_at``: the history of every position.

    Two partial unique indexes make the database the judge: a position holds
    at most one unit at a time, and a unit is in at most one position.
    A removal for shipment or thaw names a verifier other than the remover
    (a check constraint; the signature with meaning "verified" is in compliance).
    """

    class Purpose(models.TextChoices):
        MOVE = "move", "Moved to another position"
        SHIPMENT = "shipment", "Removed for shipment"
        THAW = "thaw", "Removed for thaw"

    unit = models.ForeignKey(DoseUnit, on_delete=models.PROTECT, related_name="placements")
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="placements")
    storage_unit = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="+")
    stored_at = models.DateTimeField()
    stored_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    scanned_unit = models.CharField(max_length=20)
    scanned_position = models.CharField(max_length=40)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    removal_purpose = models.CharField(max_length=20, choices=Purpose.choices, blank=True)
    verified_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verification_signature_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["stored_at", "id"]
        indexes = [models.Index(fields=["storage_unit", "stored_at"], name="placement_unit_time_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["position"],
                condition=models.Q(removed_at__isnull=True),
                name="position_holds_one_unit",
            ),
            models.UniqueConstraint(
                fields=["unit"], condition=models.Q(removed_at__isnull=True), name="unit_in_one_position"
            ),
            models.CheckConstraint(
                condition=models.Q(removed_at__isnull=True) | models.Q(removed_at__gte=models.F("stored_at")),
                name="placement_removed_after_stored",
            ),
            models.CheckConstraint(
                condition=~models.Q(removal_purpose__in=VERIFIED_REMOVALS)
                | (
                    models.Q(verified_by__isnull=False, verification_signature_id__isnull=False)
                    & ~models.Q(verified_by=models.F("removed_by"))
                ),
                name="verified_removal_by_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} in {self.position_id} from {self.stored_at:%Y-%m-%d %H:%M}"


@audited
class Shipment(models.Model):
    """Frozen units sent to the clinic in a dry shipper; its temperatures at departure and arrival."""

    class Status(models.TextChoices):
        IN_TRANSIT = "in_transit", "In transit"
        ARRIVED = "arrived", "Arrived"

    shipper = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The dry shipper (its identifier is the code).",
    )
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    temp_min_c = models.DecimalField(max_digits=5, decimal_places=1, default=-196)
    temp_max_c = models.DecimalField(max_digits=5, decimal_places=1, default=-150)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_TRANSIT)
    departed_at = models.DateTimeField()
    departure_temp_c = models.DecimalField(max_digits=5, decimal_places=1)
    departed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    arrived_at = models.DateTimeField(null=True, blank=True)
    arrival_temp_c = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    received_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    arrival_in_range = models.BooleanField(null=True, blank=True)
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    assessment = models.TextField(blank=True)

    class Meta:
        ordering = ["-departed_at"]

    def __str__(self) -> str:
        return f"shipment {self.pk} in {self.shipper_id}"


@audited
class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="items")
    unit = models.ForeignKey(DoseUnit, on_delete=models.PROTECT, related_name="shipment_items")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shipment", "unit"], name="shipment_unit_once")]

    def __str__(self) -> str:
        return f"{self.unit_id} in shipment {self.shipment_id}"


@audited
class Thaw(models.Model):
    """The one thaw of a unit (one-to-one: a unit is thawed once and never stored again)."""

    unit = models.OneToOneField(DoseUnit, on_delete=models.PROTECT, related_name="thaw")
    thawed_at = models.DateTimeField()
    method = models.CharField(max_length=100)
    performed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    scanned_identifier = models.CharField(max_length=20)
    viability_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )  # fmt: skip
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"thaw of {self.unit_id} at {self.thawed_at:%Y-%m-%d %H:%M}"


@audited
class RefusedScan(models.Model):
    """A storage or thaw scan that did not match the expected unit or position: refused, and kept for QA."""

    action = models.CharField(max_length=40)
    expected = models.CharField(max_length=40)
    scanned = models.CharField(max_length=40)
    detail = models.TextField()
    attempted_at = models.DateTimeField()
    attempted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"{self.action}: {self.scanned} is not {self.expected}"


@audited
class UnitCustody(models.Model):
    """Which frozen unit a custody transfer of its batch moved (storage, shipment, arrival)."""

    custody_transfer = models.OneToOneField(
        CustodyTransfer, on_delete=models.PROTECT, related_name="unit_custody"
    )
    unit = models.ForeignKey(DoseUnit, on_delete=models.PROTECT, related_name="custody")

    def __str__(self) -> str:
        return f"{self.unit_id} in custody transfer {self.custody_transfer_id}"
