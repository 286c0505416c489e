"""Storage decisions that need a signature: the verified removal, QA's excursion and shipment assessments.

Signatures live in compliance, so these wrap the storage services: the
verifier (or QA) re-enters the password, the signature is bound to what was
verified, and the storage write happens in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from batches.models import Batch, Location
from compliance.models import User
from compliance.services.signatures import signature_create, signer_authenticate
from core.audit import audit_context
from core.errors import Blocker, DomainError, NotPermitted
from core.i18n import N_
from core.roles import Role, has_role, require_role
from storage.models import DoseUnit, Excursion, Placement, Shipment
from storage.services import unit_remove

VERIFIERS = (Role.TECHNICIAN, Role.QA)


def storage_removal(
    *,
    unit: DoseUnit,
    scanned_unit: str,
    purpose: str,
    to_location: Location,
    actor: Any,
    verifier: User | None,
    verifier_password: str,
    removed_at: dt.datetime | None = None,
) -> Placement:
    """Remove a unit from storage for shipment or thaw, verified by a second person's signature.

    The verifier (technician or QA, not the remover) re-enters the password;
    the signature, meaning "verified", is bound to the unit, its position and
    the purpose. Without a verifier, with the remover as verifier, or with a
    wrong password nothing changes.
    """
    require_role(actor, Role.TECHNICIAN, action=N_("remove units from storage"))
    if verifier is None:
        raise NotPermitted(
            N_("Removal from storage needs a second person's verification."), code="verification_required"
        )
    if verifier.pk == getattr(actor, "pk", None):
        raise NotPermitted(
            N_("The verifier must be another person than the one removing the unit."), code="segregation"
        )
    if not has_role(verifier, *VERIFIERS):
        raise NotPermitted(N_("Only technicians or QA staff may verify a removal from storage."), code="role")
    signer_authenticate(user=verifier, password=verifier_password)
    current = unit.placements.select_related("position").filter(removed_at__isnull=True).first()
    removed_at = removed_at or timezone.now()
    with transaction.atomic(), audit_context(actor=actor, reason=f"removal for {purpose} verified"):
        Batch.objects.select_for_update(no_key=True).get(
            pk=unit.batch_id
        )  # batch first (core.audit lock order)
        content = {"unit": unit.code, "position": current.position.code if current else None, "purpose": purpose,
                   "removed_by": actor.get_username(), "removed_at": removed_at.isoformat()}  # fmt: skip
        signature = signature_create(
            signer=verifier,
            meaning="verified",
            record_type="storage_removal",
            record_id=unit.code,
            content=content,
        )
        return unit_remove(
            unit=unit, scanned_unit=scanned_unit, purpose=purpose, actor=actor, verified_by=verifier,
            verification_signature_id=signature.pk, to_location=to_location, removed_at=removed_at,
        )  # fmt: skip


def excursion_assess(
    *, excursion: Excursion, decision: str, assessment: str, actor: User, password: str
) -> Excursion:
    """QA's signed assessment of an excursion: lifts the holds (accept) or rejects the held units (reject)."""
    require_role(actor, Role.QA, action=N_("assess storage excursions"))
    _check_assessment(decision, assessment, Excursion.Decision.values)
    signer_authenticate(user=actor, password=password)
    now = timezone.now()
    held = list(
        DoseUnit.objects.filter(holds__excursion=excursion).values_list("batch_id", flat=True).distinct()
    )
    with transaction.atomic(), audit_context(actor=actor, reason=f"excursion assessed: {decision}"):
        list(Batch.objects.select_for_update(no_key=True).filter(pk__in=held).order_by("pk"))
        locked = Excursion.objects.select_for_update(no_key=True).get(pk=excursion.pk)
        if locked.assessed_at is not None:
            raise DomainError([Blocker("already_assessed", N_("QA has already assessed this excursion."))])
        signature = signature_create(
            signer=actor, meaning="approved", record_type="storage_excursion", record_id=str(locked.pk),
            content={"excursion": locked.pk, "unit": locked.storage_unit.code, "decision": decision,
                     "assessment": assessment, "units": sorted(locked.holds.values_list("unit__code", flat=True))},
        )  # fmt: skip
        locked.assessed_at, locked.assessed_by, locked.decision = now, actor, decision
        locked.assessment, locked.signature_id = assessment, signature.pk
        locked.save(update_fields=["assessed_at", "assessed_by", "decision", "assessment", "signature_id"])
    return locked


def shipment_assess(*, shipment: Shipment, assessment: str, actor: User, password: str) -> Shipment:
    """QA's signed assessment of a shipment that arrived out of range: its units' hold is lifted."""
    require_role(actor, Role.QA, action=N_("assess shipments"))
    _check_assessment("accept", assessment, ("accept",))
    signer_authenticate(user=actor, password=password)
    batches = list(
        DoseUnit.objects.filter(shipment_items__shipment=shipment)
        .values_list("batch_id", flat=True)
        .distinct()
    )
    with transaction.atomic(), audit_context(actor=actor, reason="shipment assessed"):
        list(Batch.objects.select_for_update(no_key=True).filter(pk__in=batches).order_by("pk"))
        locked = Shipment.objects.select_for_update(no_key=True).get(pk=shipment.pk)
        if locked.arrival_in_range is not False or locked.assessed_at is not None:
            raise DomainError(
                [Blocker("nothing_to_assess", N_("This shipment has no out-of-range arrival to assess."))]
            )
        signature_create(
            signer=actor, meaning="approved", record_type="storage_shipment", record_id=str(locked.pk),
            content={"shipment": locked.pk, "arrival_temp_c": str(locked.arrival_temp_c), "assessment": assessment},
        )  # fmt: skip
        locked.assessed_at, locked.assessed_by, locked.assessment = timezone.now(), actor, assessment
        locked.save(update_fields=["assessed_at", "assessed_by", "assessment"])
    return locked


def _check_assessment(decision: str, assessment: str, allowed: Any) -> None:
    blockers = []
    if decision not in allowed:
        blockers.append(
            Blocker(
                "invalid_decision",
                N_("The decision is one of: %(allowed)s."),
                {"allowed": ", ".join(allowed)},
            )
        )
    if not assessment.strip():
        blockers.append(Blocker("assessment_required", N_("Write the assessment.")))
    if blockers:
        raise DomainError(blockers)
