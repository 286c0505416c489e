"""QA re-review of a release whose signature no longer holds: re-sign it, or reject the batch.

A genuine change to the batch record after release (a corrected step, a new
finding, a QC retest) makes the release signature invalid, and readiness
then blocks every dose. The batch must not dead-end there: QA reviews the
change and either signs the release again over the record as it now stands
(a new ``ReleaseDecision``; the earlier one and its signature are kept) or
rejects the batch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from batches.domain import BatchStatus
from batches.models import Batch, Dose
from batches.services import batch_transition
from compliance import webhook_events
from compliance.models import Infusion, ReleaseDecision, User
from compliance.records import release_content
from compliance.selectors import release_blockers, release_signature_check
from compliance.services.release import _check_segregation, batch_release
from compliance.services.signatures import signature_create, signer_authenticate
from core.audit import audit_context
from core.errors import Blocker, DomainError
from core.i18n import N_, term
from core.roles import Role, require_role
from webhooks.models import EventType


def review_blockers(batch: Batch, decision: str) -> list[Blocker]:
    """Every reason the re-review of ``batch`` (read under its lock) cannot decide ``decision`` now.

    Only a released batch whose release signature no longer holds is re-reviewed.
    Re-signing the release needs what the first release needed, bar the state.
    """
    check = release_signature_check(batch)
    if batch.status != BatchStatus.RELEASED or check.valid is not False:
        if batch.status == BatchStatus.RELEASED:
            why = N_("Only a released batch whose release signature no longer holds is re-reviewed; "
                     "its release signature still holds.")  # fmt: skip
        else:
            why = N_(
                "Only a released batch whose release signature no longer holds is re-reviewed; it is %(status)s."
            )
        return [Blocker("wrong_state", why, {"status": term(BatchStatus(batch.status).words)})]
    if decision != ReleaseDecision.Decision.RELEASE:
        return []
    return [b for b in release_blockers(batch) if b.code != "wrong_state"]


def _validate(decision: str, reason: str) -> None:
    if decision not in ReleaseDecision.Decision.values:
        raise DomainError([Blocker("invalid_decision", N_("The decision is 'release' or 'reject'."))])
    if not reason.strip():
        raise DomainError(
            [
                Blocker(
                    "reason_required",
                    N_("A re-review needs a reason: what changed, and why it is acceptable or not."),
                )
            ]
        )


def batch_release_review(
    *,
    batch: Batch,
    actor: User,
    password: str,
    decision: str,
    reason: str = "",
    now: dt.datetime | None = None,
) -> ReleaseDecision:
    """QA re-signs the release over the current record, or rejects the batch, signing 'approved'.

    Refused unless the batch is released and its release signature no longer
    holds; re-release also needs every release condition met (checklist with
    valid signatures, QC, deviations, findings). Doses keep their expiry (the
    product is no fresher); rejection makes every dose not yet infused
    unavailable and cancels its scheduled infusions. The batch row is locked
    before anything is decided.
    """
    require_role(actor, Role.QA, action=N_("re-review batch releases"))
    _validate(decision, reason)
    _check_segregation(batch, actor)
    signer_authenticate(user=actor, password=password)
    now = now or timezone.now()
    with transaction.atomic(), audit_context(actor=actor, reason=f"release re-review, {decision}: {reason}"):
        locked = Batch.objects.select_for_update().select_related("therapy__protocol").get(pk=batch.pk)
        blockers = review_blockers(locked, decision)
        if blockers:
            raise DomainError(blockers)
        signature = signature_create(
            signer=actor, meaning="approved", record_type="batch_release", record_id=locked.din,
            content=release_content(locked, decision), comment=reason, now=now,
        )  # fmt: skip
        cancelled = _reject(locked, actor, reason, now) if decision == ReleaseDecision.Decision.REJECT else []
        decided = ReleaseDecision.objects.create(
            batch=locked, decision=decision, reason=reason, signature=signature, decided_at=now
        )
        if decision == ReleaseDecision.Decision.REJECT:
            webhook_events.batch_event(batch=locked, type=EventType.BATCH_REJECTED, now=now)
        for infusion in Infusion.objects.filter(pk__in=cancelled):
            webhook_events.infusion_event(infusion=infusion, type=EventType.INFUSION_CANCELLED, now=now)
        return decided


def _reject(batch: Batch, actor: User, reason: str, now: dt.datetime) -> list[Any]:
    """Reject the batch and cancel its scheduled infusions; returns their ids."""
    batch_transition(
        batch=batch, to=BatchStatus.REJECTED, actor=actor, reason=f"QA re-review: {reason}", at=now
    )
    scheduled = Infusion.objects.filter(dose__batch=batch, status=Infusion.Status.SCHEDULED)
    cancelled = list(scheduled.values_list("pk", flat=True))
    scheduled.update(
        status=Infusion.Status.CANCELLED,
        cancelled_at=now,
        cancel_reason=f"batch rejected at re-review: {reason}",
    )
    Dose.objects.filter(batch=batch).exclude(status=Dose.Status.INFUSED).update(
        status=Dose.Status.UNAVAILABLE
    )
    return cancelled


def batch_decide(
    *,
    batch: Batch,
    actor: User,
    password: str,
    decision: str,
    reason: str = "",
    now: dt.datetime | None = None,
) -> ReleaseDecision:
    """The QA decision on a batch: the first release or rejection, or the re-review of a released one.

    What ``POST /batches/<din>/release`` and the QA form call. A released batch
    goes to re-review (refused there while its release signature still holds).
    """
    decide = batch_release_review if batch.status == BatchStatus.RELEASED else batch_release
    return decide(batch=batch, actor=actor, password=password, decision=decision, reason=reason, now=now)


__all__ = ["batch_decide", "batch_release_review", "review_blockers"]
