"""QA release or rejection of a batch, with an approval signature bound to the whole record."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from batches.domain import BatchStatus
from batches.models import Batch, CultureStep, Dose
from batches.services import batch_transition
from compliance import webhook_events
from compliance.models import QcResult, ReleaseDecision, User
from compliance.records import release_content
from compliance.selectors import release_blockers
from compliance.services.signatures import signature_create, signer_authenticate
from core.audit import audit_context
from core.errors import Blocker, DomainError, NotPermitted
from core.i18n import N_
from core.roles import Role, require_role
from storage.selectors import frozen_dose_ids
from webhooks.models import EventType


def _check_segregation(batch: Batch, actor: User) -> None:
    if (
        CultureStep.objects.filter(batch=batch, performed_by=actor).exists()
        or QcResult.objects.filter(batch=batch, tested_by=actor).exists()
    ):
        raise NotPermitted(
            N_("Segregation of duties: the QA releaser performed processing or QC steps on this batch."),
            code="segregation",
        )


def batch_release(
    *,
    batch: Batch,
    actor: User,
    password: str,
    decision: str,
    reason: str = "",
    now: dt.datetime | None = None,
) -> ReleaseDecision:
    """QA releases (every dose gets its expiry) or rejects the batch, signing with meaning 'approved'.

    Release is refused with every blocker unless the checklist is complete
    with valid signatures, QC is complete and within specification, no
    deviation blocks, and every finding is assessed.

    The blockers are read once before the password is taken (a refusal then
    costs no attempt) and decided again under the batch lock: a QC result,
    finding or deviation committed meanwhile locks the batch too, so it is
    either seen here or waits for this decision.
    """
    require_role(actor, Role.QA, action=N_("release or reject batches"))
    _check_segregation(batch, actor)
    if decision not in ReleaseDecision.Decision.values:
        raise DomainError([Blocker("invalid_decision", N_("The decision is 'release' or 'reject'."))])
    if decision == "reject" and not reason.strip():
        raise DomainError([Blocker("reason_required", N_("A rejection needs a reason."))])
    batch.refresh_from_db()
    _refuse_if_blocked(batch, decision)
    signer_authenticate(user=actor, password=password)
    now = now or timezone.now()
    with transaction.atomic(), audit_context(actor=actor, reason=f"batch {decision}: {reason}".strip(": ")):
        locked = (
            Batch.objects.select_for_update(no_key=True, of=("self",))
            .select_related("therapy__protocol")
            .get(pk=batch.pk)
        )
        _check_segregation(locked, actor)
        _refuse_if_blocked(locked, decision)
        return _decide(locked, actor, decision, reason, now)


def _refuse_if_blocked(batch: Batch, decision: str) -> None:
    blockers = release_blockers(batch) if decision == "release" else []
    if decision == "reject" and batch.status == BatchStatus.RELEASED:
        # A released batch is rejected only at re-review (release_review), which checks why.
        blockers.append(
            Blocker("wrong_state", N_("A released batch is rejected through re-review of its release."))
        )
    if blockers:
        raise DomainError(blockers)


def _decide(batch: Batch, actor: User, decision: str, reason: str, now: dt.datetime) -> ReleaseDecision:
    signature = signature_create(
        signer=actor, meaning="approved", record_type="batch_release", record_id=batch.din,
        content=release_content(batch, decision), comment=reason, now=now,
    )  # fmt: skip
    target = BatchStatus.RELEASED if decision == "release" else BatchStatus.REJECTED
    batch_transition(batch=batch, to=target, actor=actor, reason=reason or f"QA {decision}", at=now)
    if decision == "release":
        expires = now + dt.timedelta(hours=batch.therapy.protocol.shelf_life_hours)
        frozen = frozen_dose_ids(batch)  # their shelf life counts from the end of the freeze (storage)
        Dose.objects.filter(batch=batch).exclude(pk__in=frozen).update(
            status=Dose.Status.AVAILABLE, expires_at=expires
        )
        Dose.objects.filter(pk__in=frozen).update(status=Dose.Status.AVAILABLE)
    else:
        Dose.objects.filter(batch=batch).update(status=Dose.Status.UNAVAILABLE)
    decided = ReleaseDecision.objects.create(
        batch=batch, decision=decision, reason=reason, signature=signature, decided_at=now
    )
    event = EventType.BATCH_RELEASED if decision == "release" else EventType.BATCH_REJECTED
    webhook_events.batch_event(batch=batch, type=event, now=now)  # in this transaction: the outbox
    return decided
