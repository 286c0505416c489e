"""Identity and lifecycle records: clinics, patients, therapies, collections, batches, doses."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from batches.domain import BatchStatus
from core.audit import audited

# The batch status as people read it (the domain's BatchStatus.label, in the catalogue).
STATUS_LABELS = {
    BatchStatus.AWAITING_RECEIPT: _("Awaiting receipt"),
    BatchStatus.RECEIVED: _("Received"),
    BatchStatus.IN_CULTURE: _("In culture"),
    BatchStatus.HARVESTED: _("Harvested"),
    BatchStatus.PENDING_RELEASE: _("Pending release"),
    BatchStatus.RELEASED: _("Released"),
    BatchStatus.QUARANTINED: _("Quarantined"),
    BatchStatus.REJECTED: _("Rejected"),
    BatchStatus.INFUSED: _("Infused"),
    BatchStatus.EXPIRED: _("Expired"),
    BatchStatus.DISCARDED: _("Discarded"),
}
STATUS_CHOICES = [(s.value, STATUS_LABELS[s]) for s in BatchStatus]

USER = settings.AUTH_USER_MODEL
DIN_VALIDATOR = RegexValidator(r"^[A-NP-Z1-9][0-9]{12}$", _("A DIN is 13 characters: FIN, year, sequence."))
CODE_VALIDATOR = RegexValidator(r"^[A-Z0-9][A-Z0-9_-]{1,31}$", _("Upper-case letters, digits, - and _ only."))


@audited
class Clinic(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


@audited
class Location(models.Model):
    class Kind(models.TextChoices):
        CLINIC = "clinic", _("Clinic")
        TRANSPORT = "transport", _("Transport container")
        RECEIVING = "receiving", _("CPF receiving")
        INCUBATOR = "incubator", _("Incubator")
        COLD_STORAGE = "cold_storage", _("Cold storage")
        QC_LAB = "qc_lab", _("QC laboratory")
        BEDSIDE = "bedside", _("Bedside")

    code = models.CharField(max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="locations"
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self) -> str:
        return f"{self.code} - {self.name}"


@audited
class ProcessingProtocol(models.Model):
    """A versioned processing protocol: every number that is a protocol choice.

    A therapy points at one version for good; a new version is a new row.
    Windows are days counted from the injury date; an empty end means open.
    """

    class Source(models.TextChoices):
        BONE_MARROW = "bone_marrow", _("Bone marrow")
        ADIPOSE = "adipose", _("Adipose tissue")

    class Route(models.TextChoices):
        IV = "iv", _("Intravenous drip")
        INTRATHECAL = "intrathecal", _("Intrathecal injection")

    class Phase(models.TextChoices):
        SUBACUTE = "subacute", _("Sub-acute")
        CHRONIC = "chronic", _("Chronic")

    code = models.CharField(max_length=32, validators=[CODE_VALIDATOR])
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    source_tissue = models.CharField(max_length=20, choices=Source.choices)
    route = models.CharField(max_length=20, choices=Route.choices)
    injury_phase = models.CharField(max_length=20, choices=Phase.choices)
    asia_grades = ArrayField(models.CharField(max_length=1), help_text="ASIA grades the protocol treats.")
    uses_autologous_serum = models.BooleanField(default=False)
    harvest_window_start_day = models.PositiveIntegerField(default=0)
    harvest_window_end_day = models.PositiveIntegerField(null=True, blank=True)
    infusion_window_start_day = models.PositiveIntegerField()
    infusion_window_end_day = models.PositiveIntegerField(null=True, blank=True)
    max_hours_collection_to_receipt = models.PositiveIntegerField(default=48)
    max_days_receipt_to_seeding = models.PositiveIntegerField(default=2)
    transport_temp_min_c = models.DecimalField(max_digits=4, decimal_places=1, default=2)
    transport_temp_max_c = models.DecimalField(max_digits=4, decimal_places=1, default=25)
    expected_culture_days = models.PositiveIntegerField()
    max_culture_days = models.PositiveIntegerField()
    feeding_interval_days = models.PositiveIntegerField()
    doses_per_batch = models.PositiveIntegerField(default=1)
    target_cells_per_dose = models.BigIntegerField()
    min_cells_per_dose = models.BigIntegerField()
    max_cells_per_dose = models.BigIntegerField()
    max_cells_per_kg = models.BigIntegerField(null=True, blank=True)
    shelf_life_hours = models.PositiveIntegerField(
        help_text="Shelf life; for a cryopreserved dose it counts from the end of the freeze."
    )
    post_thaw_window_hours = models.PositiveIntegerField(
        default=3, help_text="A thawed unit is infused within this many hours."
    )
    storage_reading_max_gap_minutes = models.PositiveIntegerField(
        default=60, help_text="Longest allowed gap between storage temperature readings."
    )
    qc_specifications = models.JSONField(
        default=list, help_text="Release tests: [{test, kind, limit, unit, turnaround_days}, ...]."
    )
    sources = models.TextField(blank=True, help_text="Where the numbers come from.")

    class Meta:
        verbose_name = _("processing protocol")
        verbose_name_plural = _("processing protocols")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="protocol_code_version_unique"),
            models.CheckConstraint(
                condition=models.Q(min_cells_per_dose__lte=models.F("target_cells_per_dose"))
                & models.Q(target_cells_per_dose__lte=models.F("max_cells_per_dose")),
                name="protocol_dose_range_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(expected_culture_days__lte=models.F("max_culture_days")),
                name="protocol_culture_days_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


@audited
class Patient(models.Model):
    """A pseudonymous patient: the clinic's code, never a name."""

    class Sex(models.TextChoices):
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")
        OTHER = "other", _("Other")
        UNKNOWN = "unknown", _("Unknown")

    class InjuryType(models.TextChoices):
        CONTUSION = "contusion", _("Contusion")
        COMPRESSION = "compression", _("Compression")
        LACERATION = "laceration", _("Laceration")
        TRANSECTION = "transection", _("Transection")

    class AsiaGrade(models.TextChoices):
        A = "A", _("A (complete)")
        B = "B", _("B (sensory incomplete)")
        C = "C", _("C (motor incomplete)")
        D = "D", _("D (motor incomplete)")
        E = "E", _("E (normal)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    code = models.CharField(max_length=64)
    birth_year = models.PositiveIntegerField(validators=[MinValueValidator(1900)])
    sex = models.CharField(max_length=10, choices=Sex.choices)
    weight_kg = models.DecimalField(
        max_digits=5, decimal_places=1, validators=[MinValueValidator(1), MaxValueValidator(400)]
    )
    injury_date = models.DateField()
    injury_level = models.CharField(
        max_length=3, validators=[RegexValidator(r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")]
    )
    asia_grade = models.CharField(max_length=1, choices=AsiaGrade.choices)
    injury_type = models.CharField(max_length=20, choices=InjuryType.choices)
    malignancy_history = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="patient_code_unique_per_clinic")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.clinic.code})"


@audited
class Therapy(models.Model):
    """One patient's course of treatment under one protocol; its COI links every DIN."""

    coi = models.CharField(max_length=15, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="therapies")
    protocol = models.ForeignKey(ProcessingProtocol, on_delete=models.PROTECT, related_name="therapies")
    eligibility = models.JSONField(default=dict, help_text="The eligibility answer at creation.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("therapy")
        verbose_name_plural = _("therapies")

    def __str__(self) -> str:
        return self.coi


@audited
class Collection(models.Model):
    """A harvest at the clinic (cell source) or a blood draw for autologous serum."""

    class Kind(models.TextChoices):
        BONE_MARROW = "bone_marrow", _("Bone marrow")
        ADIPOSE = "adipose", _("Adipose tissue")
        PERIPHERAL_BLOOD = "peripheral_blood", _("Peripheral blood (serum)")

    CELL_SOURCES = (Kind.BONE_MARROW, Kind.ADIPOSE)

    din = models.CharField(max_length=13, unique=True, validators=[DIN_VALIDATOR])
    therapy = models.ForeignKey(Therapy, on_delete=models.PROTECT, related_name="collections")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    collected_at = models.DateTimeField()
    collected_by = models.CharField(max_length=200, blank=True, help_text="Clinician who collected.")
    volume_ml = models.DecimalField(max_digits=6, decimal_places=1, validators=[MinValueValidator(0.1)])
    registered_at = models.DateTimeField(auto_now_add=True)
    registered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("collection")
        verbose_name_plural = _("collections")

    def __str__(self) -> str:
        return f"{self.din} ({self.get_kind_display()})"

    @property
    def is_cell_source(self) -> bool:
        return self.kind in self.CELL_SOURCES


@audited(skip=("facts_version",))
class Batch(models.Model):
    """The cells of one cell-source collection, from receipt to infusion; same DIN."""

    din = models.CharField(max_length=13, unique=True, validators=[DIN_VALIDATOR])
    collection = models.OneToOneField(Collection, on_delete=models.PROTECT, related_name="batch")
    therapy = models.ForeignKey(Therapy, on_delete=models.PROTECT, related_name="batches")
    status = models.CharField(
        max_length=20,
        choices=STATUS_CHOICES,
        default=BatchStatus.AWAITING_RECEIPT.value,
    )
    quarantined_from = models.CharField(max_length=20, blank=True, choices=STATUS_CHOICES)
    status_changed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Changed by database triggers whenever a fact readiness depends on changes (batches/facts.py).
    facts_version = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        indexes = [models.Index(fields=["status"], name="batch_status_idx")]

    def __str__(self) -> str:
        return self.din


class BatchFacts(models.Model):
    """A batch's readiness facts as last computed, and the ``Batch.facts_version`` they were computed at.

    Derived data, shared by every process: not audited, and not a source of the
    facts triggers (writing it never bumps ``facts_version``). Current while
    ``version`` equals the batch's ``facts_version``; written by a compare-and-set
    that never replaces newer facts with older ones (``compliance.readiness.stored.store_batch_facts``).
    """

    batch = models.OneToOneField(
        Batch, on_delete=models.CASCADE, primary_key=True, related_name="stored_facts"
    )
    version = models.BigIntegerField()
    facts = models.JSONField()  # compliance.readiness.stored.facts_to_json
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("batch facts")
        verbose_name_plural = _("batch facts")

    def __str__(self) -> str:
        return f"facts of batch {self.batch_id} at version {self.version}"


@audited
class Dose(models.Model):
    """One division of the formulated product; infused into the batch's patient only."""

    class Status(models.TextChoices):
        PENDING_RELEASE = "pending_release", _("Pending release")
        AVAILABLE = "available", _("Available")
        INFUSED = "infused", _("Infused")
        UNAVAILABLE = "unavailable", _("Unavailable")

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="doses")
    number = models.PositiveIntegerField()
    cells = models.BigIntegerField(validators=[MinValueValidator(1)])
    volume_ml = models.DecimalField(max_digits=6, decimal_places=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_RELEASE)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dose")
        verbose_name_plural = _("doses")
        ordering = ["batch", "number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "number"], name="dose_number_unique_per_batch")
        ]

    def __str__(self) -> str:
        return self.dose_id

    @property
    def dose_id(self) -> str:
        return f"{self.batch.din}-{self.number}"


class IdentifierSequence(models.Model):
    """Last number handed out per identifier kind, FIN and year (row-locked on use)."""

    kind = models.CharField(max_length=8)
    fin = models.CharField(max_length=5)
    year = models.PositiveIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("identifier sequence")
        verbose_name_plural = _("identifier sequences")
        constraints = [
            models.UniqueConstraint(fields=["kind", "fin", "year"], name="identifier_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.fin} {self.year}: {self.last_value}"
