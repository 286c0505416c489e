"""The storage temperature record: readings per storage unit, excursions and the units they hold."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.audit import audited
from storage.models.containers import Container
from storage.models.units import DoseUnit

USER = settings.AUTH_USER_MODEL


@audited
class ReadingImport(models.Model):
    """One CSV file imported from the facility's monitoring system (all its rows or none)."""

    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    imported_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.filename} ({self.rows} readings)"


@audited
class TemperatureReading(models.Model):
    """One temperature of a storage unit (tank or freezer), by hand or from an import."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        IMPORT = "import", "Imported (CSV)"

    storage_unit = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="readings")
    taken_at = models.DateTimeField()
    temperature_c = models.DecimalField(max_digits=5, decimal_places=1)
    source = models.CharField(max_length=10, choices=Source.choices)
    imported = models.ForeignKey(
        ReadingImport, null=True, blank=True, on_delete=models.PROTECT, related_name="readings"
    )
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["storage_unit", "taken_at"]
        indexes = [models.Index(fields=["storage_unit", "taken_at"], name="reading_unit_time_idx")]

    def __str__(self) -> str:
        return f"{self.storage_unit_id} {self.temperature_c} °C at {self.taken_at:%Y-%m-%d %H:%M}"


@audited
class Excursion(models.Model):
    """A storage unit out of its range (or unread too long), found by the sweep, assessed by QA.

    A temperature excursion holds every dose unit stored in that storage unit at
    any time between ``started_at`` and ``ended_at`` (``ExcursionHold``); the
    holds are a readiness blocker until QA assesses the excursion.
    """

    class Kind(models.TextChoices):
        TEMPERATURE = "temperature", "Temperature out of range"
        MISSING_READING = "missing_reading", "Reading missing"

    class Decision(models.TextChoices):
        ACCEPT = "accept", "Product not affected"
        REJECT = "reject", "Product affected: units rejected"

    storage_unit = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="excursions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    extreme_c = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    detected_at = models.DateTimeField()
    holds_final = models.BooleanField(default=False)  # ended, and every unit inside then is held
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    assessment = models.TextField(blank=True)
    signature_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["storage_unit", "kind"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_excursion_per_unit_and_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.storage_unit_id} from {self.started_at:%Y-%m-%d %H:%M}"


@audited
class ExcursionHold(models.Model):
    """A dose unit that was in the storage unit during the excursion: on hold until QA assesses it."""

    excursion = models.ForeignKey(Excursion, on_delete=models.PROTECT, related_name="holds")
    unit = models.ForeignKey(DoseUnit, on_delete=models.PROTECT, related_name="holds")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["excursion", "unit"], name="hold_once_per_excursion")]

    def __str__(self) -> str:
        return f"{self.unit_id} held by excursion {self.excursion_id}"


class SweepState(models.Model):
    """The last reading the storage sweep has judged (one row): the sweep reads only newer ones."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_reading_id = models.BigIntegerField(default=0)
    swept_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"storage sweep at reading {self.last_reading_id}"
