"""Compliance models: people and the audit trail (core), GMP records (records)."""

from compliance.models.core import AuditChainHead, AuditEntry, User
from compliance.models.records import (
    AdministrationAttempt,
    ApiToken,
    ChecklistItem,
    ChecklistTemplate,
    Deviation,
    Infusion,
    InfusionObservation,
    QcResult,
    ReleaseDecision,
    Signature,
)

__all__ = [
    "AdministrationAttempt",
    "ApiToken",
    "AuditChainHead",
    "AuditEntry",
    "ChecklistItem",
    "ChecklistTemplate",
    "Deviation",
    "Infusion",
    "InfusionObservation",
    "QcResult",
    "ReleaseDecision",
    "Signature",
    "User",
]
