"""Every write to identity and lifecycle records. Atomic, rule-checked, audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from batches import identifiers
from batches.domain import BatchStatus, check_transition
from batches.domain.eligibility import PatientFacts, ProtocolRules, eligibility, in_harvest_window
from batches.models import Batch, Clinic, Collection, Patient, ProcessingProtocol, Therapy
from core.audit import audit_context
from core.clock import collection_date_errors, in_future, patient_date_errors
from core.errors import Blocker, DomainError
from core.i18n import N_
from core.roles import Role, require_own_clinic, require_role


def clinic_create(*, code: str, name: str, actor: Any = None) -> Clinic:
    """Register a clinic (reference data): by an admin, or with no actor (``create_clinic`` at a shell)."""
    if actor is not None:
        require_role(actor, Role.ADMIN, action=N_("register clinics"))
    with transaction.atomic(), audit_context(actor=actor, reason="clinic registered"):
        clinic = Clinic(code=code, name=name)
        clinic.full_clean()
        clinic.save()
    return clinic


def batch_transition(
    *, batch: Batch, to: BatchStatus, actor: Any = None, reason: str = "", at: dt.datetime | None = None
) -> Batch:
    """Move a batch to status ``to``; the one door every status change goes through.

    A building block, not an action of its own: the service that decides the
    move (a step, QC, a deviation, release, an infusion, the expiry sweep)
    checks its actor's role before it calls this.

    Locks the row, checks the transition table against the status in the
    database (not the possibly stale object passed in), writes and records
    the audit entry with ``reason``. Raises DomainError, changing nothing,
    when the move is not allowed.
    """
    with transaction.atomic(), audit_context(actor=actor, reason=reason or f"status -> {to}"):
        locked = Batch.objects.select_for_update(no_key=True).get(pk=batch.pk)
        current = BatchStatus(locked.status)
        origin = BatchStatus(locked.quarantined_from) if locked.quarantined_from else None
        blockers = check_transition(current, to, quarantined_from=origin)
        if blockers:
            raise DomainError(blockers)
        locked.quarantined_from = current.value if to == BatchStatus.QUARANTINED else ""
        locked.status = to.value
        locked.status_changed_at = at or timezone.now()
        locked.save(update_fields=["status", "quarantined_from", "status_changed_at"])
    batch.refresh_from_db()
    return batch


def patient_create(*, clinic: Clinic, actor: Any = None, **fields: Any) -> Patient:
    """Register a pseudonymous patient of ``clinic``; validates every field.

    Besides the model's checks, the birth year and injury date must be
    plausible (``core.clock``): a ValidationError names the field.
    By the clinic's side only: its system or its coordinator (NotPermitted otherwise).
    """
    require_role(actor, Role.COORDINATOR, action=N_("register patients"), clinic_system=True)
    require_own_clinic(actor, clinic.pk, action=N_("register patients"))
    with transaction.atomic(), audit_context(actor=actor, reason="patient registered"):
        patient = Patient(clinic=clinic, **fields)
        patient.full_clean()
        _check_patient_dates(patient)
        patient.save()
    return patient


def _check_patient_dates(patient: Patient) -> None:
    errors = patient_date_errors(
        birth_year=patient.birth_year, injury_date=patient.injury_date, today=timezone.localdate()
    )
    if errors:
        raise ValidationError(errors)


def therapy_create(
    *, patient: Patient, protocol: ProcessingProtocol, actor: Any = None, on: dt.date | None = None
) -> Therapy:
    """Open a therapy with a new Chain of Identity identifier, if the patient is eligible.

    Eligibility is decided on ``on`` (default today, Tokyo) by the one
    eligibility function; an ineligible patient raises DomainError with every
    reason and nothing is created. The answer is kept on the therapy. By the
    patient's clinic only: its system or its coordinator (NotPermitted otherwise).
    """
    require_role(actor, Role.COORDINATOR, action=N_("open therapies"), clinic_system=True)
    require_own_clinic(actor, patient.clinic_id, action=N_("open therapies"))
    answer = eligibility(PatientFacts.of(patient), ProtocolRules.of(protocol), on or timezone.localdate())
    blockers = list(answer.blockers)
    if not protocol.active:
        blockers.append(
            Blocker(
                "protocol_inactive",
                N_("Protocol %(protocol)s is no longer used for new therapies."),
                {"protocol": str(protocol)},
            )
        )
    if blockers:
        raise DomainError(blockers)
    with transaction.atomic(), audit_context(actor=actor, reason="therapy opened"):
        therapy = Therapy.objects.create(
            coi=identifiers.coi_allocate(),
            patient=patient,
            protocol=protocol,
            eligibility=answer.as_dict(),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
    return therapy


def collection_create(
    *,
    therapy: Therapy,
    kind: str,
    collected_at: dt.datetime,
    volume_ml: Any,
    collected_by: str = "",
    actor: Any = None,
) -> Collection:
    """Log a collection under a new DIN; a cell-source collection opens its batch.

    A collection lies in a year its DIN can carry and not before the patient's
    injury (else a ValidationError on ``collected_at``: implausible input).
    A cell-source collection must lie in the protocol's harvest window, and no
    collection lies in the future (else DomainError). Logged by the patient's clinic (its system or
    coordinator) or by a technician at intake (NotPermitted otherwise).
    """
    require_role(actor, Role.COORDINATOR, Role.TECHNICIAN, action=N_("log collections"), clinic_system=True)
    require_own_clinic(actor, therapy.patient.clinic_id, action=N_("log collections"))
    errors = collection_date_errors(
        collected_on=timezone.localdate(collected_at), injury_date=therapy.patient.injury_date
    )
    if errors:
        raise ValidationError(errors)
    blockers = []
    if in_future(collected_at, timezone.now()):
        blockers.append(Blocker("future_time", N_("The collection time lies in the future.")))
    if kind in Collection.CELL_SOURCES:
        closed = in_harvest_window(
            PatientFacts.of(therapy.patient),
            ProtocolRules.of(therapy.protocol),
            timezone.localdate(collected_at),
        )
        blockers += [closed] if closed else []
    if blockers:
        raise DomainError(blockers)
    with transaction.atomic(), audit_context(actor=actor, reason="collection logged"):
        collection = Collection(
            din=identifiers.din_allocate(at=collected_at),
            therapy=therapy,
            kind=kind,
            collected_at=collected_at,
            collected_by=collected_by,
            volume_ml=volume_ml,
            registered_by=actor if getattr(actor, "pk", None) else None,
        )
        collection.full_clean()
        collection.save()
        if collection.is_cell_source:
            Batch.objects.create(
                din=collection.din, collection=collection, therapy=therapy, status_changed_at=timezone.now()
            )
    return collection
