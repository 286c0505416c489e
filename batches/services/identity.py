"""Chain of identity at the bench: every scan is validated and matched, failures are kept."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from batches.models import Batch, Finding
from core import scan
from core.audit import audit_context
from core.errors import Blocker, DomainError
from core.i18n import N_


def scan_verify(*, batch: Batch, scanned_identifier: str, action: str, actor: Any = None) -> scan.Scan:
    """The scan read by ``core.scan``, or a refusal unless it is this batch's DIN with its right K.

    The returned scan's ``text`` is the normalised form, the one to store.

    A failure is recorded as an identity-mismatch finding *before* the refusal
    is raised, in its own transaction, so the attempt stays visible to QA even
    though the action itself changes nothing.
    """
    read, problem = _scan_problem(batch.din, scanned_identifier)
    if read is not None or problem is None:
        return read
    with transaction.atomic(), audit_context(actor=actor, reason=f"identity check failed at {action}"):
        # A finding blocks release: the batch lock makes a release decide before or after it.
        Batch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        Finding.objects.create(
            batch=batch,
            kind=Finding.Kind.IDENTITY_MISMATCH,
            detail=f"{action}: {problem.english}",
            occurred_at=timezone.now(),
            recorded_by=actor if getattr(actor, "pk", None) else None,
            scanned_identifier=scanned_identifier[:40],
        )
    raise DomainError([problem])


def _scan_problem(expected_din: str, scanned: str) -> tuple[scan.Scan | None, Blocker | None]:
    try:
        read = scan.parse_din(scanned, require_check=True)
    except scan.ScanError as error:
        return None, error.blocker("identity_mismatch")
    if read.din != expected_din:
        return None, Blocker(
            "identity_mismatch",
            N_("Scanned item %(scanned)s is not batch %(din)s: wrong item."),
            {"scanned": read.din, "din": expected_din},
        )
    return read, None
