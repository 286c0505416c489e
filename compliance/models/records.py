"""QC results, deviations, electronic signatures, checklists, release decisions and infusions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import audited

USER = settings.AUTH_USER_MODEL


@audited
class Signature(models.Model):
    """An electronic signature (21 CFR 11.50/11.70): who, printed name, when, meaning, what.

    ``content_hash`` is the SHA-256 of the canonical content of the signed
    record at signing time; the signature is valid only while the record
    still hashes the same.
    """

    class Meaning(models.TextChoices):
        AUTHORED = "authored", _("Authored")
        REVIEWED = "reviewed", _("Reviewed")
        VERIFIED = "verified", _("Verified")
        APPROVED = "approved", _("Approved")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    signer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    meaning = models.CharField(max_length=10, choices=Meaning.choices)
    record_type = models.CharField(max_length=40)
    record_id = models.CharField(max_length=80)
    content_hash = models.CharField(max_length=64)
    content = models.JSONField(help_text="The canonical content that was signed.")
    comment = models.TextField(blank=True)
    # Set only on rows signed twice before the unique constraint existed (migration 0004):
    # they stay (signatures are never deleted) but no longer count.
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["signed_at"]
        indexes = [models.Index(fields=["record_type", "record_id"], name="signature_record_idx")]
        constraints = [
            # One signature per signer, meaning and record *content*: the content hash is
            # part of the key so that a signature a later change invalidated can be given
            # again on the new content, while a repeat on unchanged content cannot.
            models.UniqueConstraint(
                fields=["record_type", "record_id", "signer", "meaning", "content_hash"],
                condition=models.Q(duplicate_of__isnull=True),
                name="signature_once_per_content",
            )
        ]

    def __str__(self) -> str:
        return f"{self.printed_name} {self.meaning} {self.record_type} {self.record_id}"


@audited
class QcResult(models.Model):
    """One QC test result; ``within_spec`` is computed against the protocol's specification."""

    batch = models.ForeignKey("batches.Batch", on_delete=models.PROTECT, related_name="qc_results")
    test = models.CharField(max_length=30)
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    result = models.CharField(max_length=20, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    within_spec = models.BooleanField()
    specification = models.JSONField(help_text="The specification applied, with the computed limit.")
    method = models.CharField(max_length=200, blank=True)
    kit_lot = models.CharField(max_length=64, blank=True)
    tested_at = models.DateTimeField()
    tested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    retest_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retested_by"
    )

    class Meta:
        verbose_name = _("QC result")
        verbose_name_plural = _("QC results")
        ordering = ["tested_at", "id"]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.test}: {self.value if self.value is not None else self.result}"


@audited
class Deviation(models.Model):
    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        MAJOR = "major", _("Major")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    batch = models.ForeignKey("batches.Batch", on_delete=models.PROTECT, related_name="deviations")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    description = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    qc_result = models.OneToOneField(
        QcResult, null=True, blank=True, on_delete=models.PROTECT, related_name="deviation"
    )
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    investigation = models.TextField(blank=True)
    root_cause = models.TextField(blank=True, help_text="The cause the investigation found.")
    investigated_at = models.DateTimeField(null=True, blank=True)
    investigated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    impact_assessment = models.TextField(blank=True)
    assessment_signature = models.ForeignKey(
        Signature, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    capa = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closure_signature = models.ForeignKey(
        Signature, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("deviation")
        verbose_name_plural = _("deviations")
        ordering = ["opened_at"]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} deviation on {self.batch_id}: {self.description[:50]}"


@audited
class ChecklistTemplate(models.Model):
    """A versioned release checklist. A batch uses the version in force when it was created."""

    code = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    effective_from = models.DateTimeField()

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="checklist_code_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


@audited
class ChecklistItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveIntegerField()
    code = models.CharField(max_length=40)
    text = models.TextField()
    role = models.CharField(max_length=20)
    requires_second_person = models.BooleanField(default=False)
    evidence = models.CharField(max_length=40, blank=True, help_text="Name of the system check, if any.")
    scope = models.CharField(max_length=40, help_text="Which part of the batch record a signature covers.")

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["template", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="checklist_item_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.template} {self.code}"


@audited
class ReleaseDecision(models.Model):
    class Decision(models.TextChoices):
        RELEASE = "release", _("Release")
        REJECT = "reject", _("Reject")

    batch = models.ForeignKey("batches.Batch", on_delete=models.PROTECT, related_name="release_decisions")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True)
    signature = models.OneToOneField(Signature, on_delete=models.PROTECT, related_name="release_decision")
    decided_at = models.DateTimeField()

    class Meta:
        verbose_name = _("release decision")
        verbose_name_plural = _("release decisions")
        ordering = ["decided_at"]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.decision}"


@audited
class Infusion(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")
        ADMINISTERED = "administered", _("Administered")

    ACTIVE = (Status.SCHEDULED, Status.ADMINISTERED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dose = models.ForeignKey("batches.Dose", on_delete=models.PROTECT, related_name="infusions")
    scheduled_for = models.DateTimeField()
    route = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rescheduled_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rescheduled_to"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    administered_at = models.DateTimeField(null=True, blank=True)
    administered_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scanned_identifier = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("infusion")
        verbose_name_plural = _("infusions")
        ordering = ["scheduled_for"]
        constraints = [
            # The database, not the application, guarantees one active infusion per dose.
            models.UniqueConstraint(
                fields=["dose"],
                condition=models.Q(status__in=["scheduled", "administered"]),
                name="one_active_infusion_per_dose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dose_id} {self.status} {self.scheduled_for:%Y-%m-%d %H:%M}"


@audited
class AdministrationAttempt(models.Model):
    """A bedside scan that was refused: who scanned what, when, and why it was refused.

    Kept against the infusion, not the batch: a wrong scan at the bedside says
    nothing about how the product was made, so it must not change the batch
    record the QA release signature covers. Never edited, never deleted.
    """

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="attempts")
    attempted_at = models.DateTimeField()
    attempted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    scanned_identifier = models.CharField(max_length=40, blank=True)
    patient_code = models.CharField(max_length=64, blank=True, help_text="As scanned from the wristband.")
    refusal_code = models.CharField(max_length=40)
    refusal_detail = models.TextField()

    class Meta:
        verbose_name = _("administration attempt")
        verbose_name_plural = _("administration attempts")
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.infusion_id} refused ({self.refusal_code}) at {self.attempted_at:%Y-%m-%d %H:%M}"


@audited
class InfusionObservation(models.Model):
    class Kind(models.TextChoices):
        ADVERSE_EVENT = "adverse_event", _("Adverse event")
        FOLLOW_UP = "follow_up", _("Follow-up")

    infusion = models.ForeignKey(Infusion, on_delete=models.PROTECT, related_name="observations")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    observed_at = models.DateTimeField()
    severity = models.CharField(max_length=20, blank=True)
    description = models.TextField()
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("infusion observation")
        verbose_name_plural = _("infusion observations")
        ordering = ["observed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} after {self.infusion_id}"


@audited(skip=("last_used_at",), mask=("key_hash",))
class ApiToken(models.Model):
    """A bearer token of a clinic system or a user. Only its SHA-256 is stored.

    Issuing and revoking are audited; use (``last_used_at``) is not, and the hash never
    appears in an audit entry.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token in lists.")
    clinic = models.ForeignKey(
        "batches.Clinic", null=True, blank=True, on_delete=models.PROTECT, related_name="tokens"
    )
    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(clinic__isnull=True, user__isnull=False)
                | models.Q(clinic__isnull=False, user__isnull=True),
                name="token_has_exactly_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"token {self.prefix}… ({self.clinic or self.user})"
