"""Where frozen units wait: a hierarchy of containers down to the position that holds one unit."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from batches.models import Location
from core.audit import audited

CODE_MAX = 32


@audited
class Container(models.Model):
    """One level of storage: site, LN2 tank or -80 °C freezer, rack or canister, box.

    A tank or freezer is a *storage unit*: it has the temperature range its
    readings are judged against and the custody ``location`` its units are at.
    ``capacity`` is how many children (or, for a box, positions) it can hold.
    """

    class Kind(models.TextChoices):
        SITE = "site", "Site"
        LN2_TANK = "ln2_tank", "Liquid-nitrogen tank"
        FREEZER = "freezer_80", "-80 °C freezer"
        RACK = "rack", "Rack"
        CANISTER = "canister", "Canister"
        BOX = "box", "Box"

    STORAGE_UNITS = (Kind.LN2_TANK, Kind.FREEZER)

    code = models.CharField(max_length=CODE_MAX, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # The storage unit (tank or freezer) this container is in, itself for a tank: read without walking up.
    storage_unit = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    temp_min_c = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    temp_max_c = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The custody location of a tank or freezer.",
    )  # fmt: skip
    rows = models.PositiveIntegerField(null=True, blank=True, help_text="Box grid rows (A, B, ...).")
    columns = models.PositiveIntegerField(null=True, blank=True, help_text="Box grid columns (1, 2, ...).")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(temp_min_c__isnull=True)
                | models.Q(temp_max_c__isnull=True)
                | models.Q(temp_min_c__lt=models.F("temp_max_c")),
                name="container_temperature_range_ordered",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["ln2_tank", "freezer_80"])
                | (models.Q(temp_min_c__isnull=False, temp_max_c__isnull=False, location__isnull=False)),
                name="storage_unit_has_range_and_location",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()})"

    @property
    def is_storage_unit(self) -> bool:
        return self.kind in self.STORAGE_UNITS


@audited
class Position(models.Model):
    """One slot of a box; holds at most one unit at a time (``Placement``'s partial unique index)."""

    box = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="positions")
    storage_unit = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="unit_positions")
    label = models.CharField(max_length=8)  # A1, B10...
    code = models.CharField(max_length=40, unique=True)  # box code + '-' + label: what the label scans
    row = models.PositiveIntegerField()
    column = models.PositiveIntegerField()

    class Meta:
        ordering = ["box", "row", "column"]
        constraints = [models.UniqueConstraint(fields=["box", "label"], name="position_label_unique_per_box")]

    def __str__(self) -> str:
        return self.code
