"""Compliance models: staff identity, roles and the audit trail."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import audited


@audited(skip=("last_login",), mask=("password",))
class User(AbstractUser):
    """A person who signs in: CPF staff, QA, QC or a clinic coordinator.

    ``full_name`` is the printed name shown in electronic signature
    manifestations (21 CFR 11.50), so it is required and kept as entered.
    """

    full_name = models.CharField(max_length=200)
    signing_failures = models.PositiveSmallIntegerField(
        default=0, help_text="Wrong passwords in a row at signing; five lock signing."
    )
    signing_locked_until = models.DateTimeField(null=True, blank=True)
    clinic = models.ForeignKey(
        "batches.Clinic",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text="Set for clinic coordinators: they see their own clinic only.",
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return f"{self.full_name} ({self.username})" if self.full_name else self.username


# Role membership is GMP-relevant access control: record every grant and removal.
audited(User.groups.through, deletable=True)


class AuditEntry(models.Model):
    """One change to a regulated row, written by a database trigger.

    Rows are never updated or deleted (a trigger refuses it, even for raw SQL)
    and each row carries ``hash = sha256(prev_hash | content)``, so any edit
    made behind the trigger's back breaks the chain at that row.
    """

    class Action(models.TextChoices):
        INSERT = "INSERT"
        UPDATE = "UPDATE"
        DELETE = "DELETE"

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    table_name = models.CharField(max_length=100)
    object_pk = models.CharField(max_length=64)
    action = models.CharField(max_length=6, choices=Action.choices)
    before = models.JSONField(null=True, help_text="Old values of the changed columns.")
    after = models.JSONField(null=True, help_text="New values of the changed columns.")
    actor = models.ForeignKey(
        User, null=True, on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    actor_name = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    context = models.JSONField(null=True, help_text="Where the change came from (request, command, shell).")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit entry")
        ordering = ["seq"]
        indexes = [models.Index(fields=["table_name", "object_pk", "seq"], name="audit_object_idx")]
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.table_name}:{self.object_pk}"


class AuditChainHead(models.Model):
    """The single row holding the end of the hash chain; audited writes lock it."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_single_row")]

    def __str__(self) -> str:
        return f"audit chain head #{self.last_seq}"
