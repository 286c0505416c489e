"""Dose expiry: doses past their shelf life become unavailable; batches with none left expire."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from batches.domain import BatchStatus, check_transition
from core.audit import audit_context
from core.errors import DomainError


@dataclass
class ExpiryResult:
    doses_expired: int = 0
    batches_expired: list[str] = field(default_factory=list)


_EXPIRE_DOSES = """
UPDATE batches_dose d SET status = 'unavailable'
WHERE d.status = 'available' AND d.expires_at <= %(now)s
  AND NOT EXISTS (SELECT 1 FROM compliance_infusion i WHERE i.dose_id = d.id AND i.status = 'administered')
"""
# Released batches left with no usable dose, of which at least one expired.
# Compare-and-set on the status: a batch a concurrent sweep (or a person) moved is skipped.
_EXPIRE_BATCHES = """
UPDATE batches_batch b SET status = 'expired', quarantined_from = '', status_changed_at = %(now)s
WHERE b.status = 'released'
  AND NOT EXISTS (SELECT 1 FROM batches_dose d WHERE d.batch_id = b.id AND d.status = 'available')
  AND EXISTS (SELECT 1 FROM batches_dose d WHERE d.batch_id = b.id AND d.status = 'unavailable'
              AND d.expires_at <= %(now)s)
RETURNING b.din
"""


def dose_expiry_sweep(*, now: dt.datetime | None = None) -> ExpiryResult:
    """Make expired doses unavailable, and move released batches with no usable dose to expired.

    Two compare-and-set UPDATEs, however many doses expire; the audit trail
    records every changed row with the reason. The batch move is the one the
    transition table allows (checked here, so a change to the table is not bypassed).
    """
    if check_transition(BatchStatus.RELEASED, BatchStatus.EXPIRED):
        raise DomainError(check_transition(BatchStatus.RELEASED, BatchStatus.EXPIRED))
    now = now or timezone.now()
    result = ExpiryResult()
    with transaction.atomic(), connection.cursor() as cursor:
        with audit_context(reason="dose expired: past its shelf life"):
            cursor.execute(_EXPIRE_DOSES, {"now": now})
            result.doses_expired = cursor.rowcount
        with audit_context(reason="batch expired: every dose expired unused"):
            cursor.execute(_EXPIRE_BATCHES, {"now": now})
            result.batches_expired = sorted(row[0] for row in cursor.fetchall())
    return result
