"""Infusions: scheduled only when the dose is ready, administered only into its own patient."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from batches.domain import BatchStatus
from batches.models import Batch, Dose
from batches.services import batch_transition
from compliance import webhook_events
from compliance.models import AdministrationAttempt, Infusion, InfusionObservation, User
from compliance.readiness import batch_readiness
from core import scan
from core.audit import audit_context
from core.clock import CLOCK_TOLERANCE, in_future
from core.errors import Blocker, DomainError
from core.i18n import N_, term
from core.roles import Role, require_own_clinic, require_role
from storage.models import DoseUnit
from webhooks.models import EventType

ALREADY_SCHEDULED = Blocker("already_scheduled", N_("This dose already has a scheduled infusion."))
# Scheduling is the clinic's side (its system or coordinator) or QA; the bedside adds technicians.
SCHEDULERS = (Role.COORDINATOR, Role.QA)
BEDSIDE = (Role.COORDINATOR, Role.TECHNICIAN, Role.QA)
# The words refusals name an infusion's status and a route by, for the catalogue.
INFUSION_WORDS = (N_("scheduled"), N_("cancelled"), N_("administered"))
ROUTE_WORDS = {"iv": N_("intravenous drip"), "intrathecal": N_("intrathecal injection")}


def infusion_schedule(
    *,
    dose: Dose,
    scheduled_for: dt.datetime,
    route: str,
    actor: Any = None,
    rescheduled_from: Infusion | None = None,
) -> Infusion:
    """Schedule the dose for ``scheduled_for`` if readiness at that time says yes.

    The batch and then the dose are locked before readiness is read, so the
    decision sees every committed release, recall or deviation, and a partial
    unique index allows one active infusion per dose: of concurrent requests
    exactly one succeeds; the others get ``already_scheduled``. Coordinators and clinic systems (their
    own clinic's doses) and QA only (NotPermitted otherwise).
    """
    require_role(actor, *SCHEDULERS, action=N_("schedule infusions"), clinic_system=True)
    with transaction.atomic(), audit_context(actor=actor, reason="infusion scheduled"):
        _lock_batch_of(dose)
        locked = (
            Dose.objects.select_for_update(no_key=True, of=("self",))
            .select_related("batch__therapy__protocol", "batch__therapy__patient")
            .get(pk=dose.pk)
        )
        require_own_clinic(actor, locked.batch.therapy.patient.clinic_id, action=N_("schedule infusions"))
        batch = locked.batch
        answer = batch_readiness(batch, scheduled_for).for_dose(locked.dose_id)
        blockers = list(answer.blockers) if answer else [Blocker("unknown_dose", N_("No such dose."))]
        if route != batch.therapy.protocol.route:
            blockers.append(
                Blocker(
                    "wrong_route",
                    N_("Protocol %(protocol)s is given %(protocol_route)s, not '%(route)s'."),
                    {
                        "protocol": batch.therapy.protocol.code,
                        "protocol_route": term(
                            ROUTE_WORDS.get(batch.therapy.protocol.route, batch.therapy.protocol.route)
                        ),
                        "route": route,
                    },
                )
            )
        if scheduled_for < timezone.now() - CLOCK_TOLERANCE:
            blockers.append(Blocker("past_time", N_("An infusion is scheduled in the future.")))
        if blockers:
            raise DomainError(blockers)
        try:
            with transaction.atomic():
                infusion = Infusion.objects.create(
                    dose=locked, scheduled_for=scheduled_for, route=route, rescheduled_from=rescheduled_from,
                    created_by=actor if getattr(actor, "pk", None) else None,
                )  # fmt: skip
        except IntegrityError as error:  # the index speaks even if a lock was bypassed
            raise DomainError([ALREADY_SCHEDULED]) from error
        webhook_events.infusion_event(infusion=infusion, type=EventType.INFUSION_SCHEDULED)
        return infusion


def _clinic_of(infusion: Infusion) -> int:
    """The clinic of the infusion's patient (one query): coordinators act for their own clinic only."""
    return Dose.objects.values_list("batch__therapy__patient__clinic_id", flat=True).get(pk=infusion.dose_id)


def _lock_batch_of(dose: Dose) -> Batch:
    # Batch first, before dose and infusion rows and the first audited write (core.audit).
    return Batch.objects.select_for_update(no_key=True).get(pk=dose.batch_id)


def infusion_cancel(*, infusion: Infusion, reason: str, actor: Any = None) -> Infusion:
    """Cancel a scheduled infusion, with a reason; the dose becomes schedulable again.

    Coordinators, clinic systems and QA only (NotPermitted otherwise).
    """
    require_role(actor, *SCHEDULERS, action=N_("cancel infusions"), clinic_system=True)
    require_own_clinic(actor, _clinic_of(infusion), action=N_("cancel infusions"))
    if not reason.strip():
        raise DomainError([Blocker("reason_required", N_("A cancellation needs a reason."))])
    with transaction.atomic(), audit_context(actor=actor, reason=f"infusion cancelled: {reason}"):
        _lock_batch_of(infusion.dose)
        locked = Infusion.objects.select_for_update(no_key=True).get(pk=infusion.pk)
        if locked.status != Infusion.Status.SCHEDULED:
            raise DomainError(
                [
                    Blocker(
                        "wrong_state",
                        N_("The infusion is %(status)s; only a scheduled one can be cancelled."),
                        {"status": term(locked.status)},
                    )
                ]
            )
        locked.status, locked.cancelled_at, locked.cancel_reason = (
            Infusion.Status.CANCELLED,
            timezone.now(),
            reason,
        )
        locked.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        webhook_events.infusion_event(infusion=locked, type=EventType.INFUSION_CANCELLED)
    return locked


def infusion_reschedule(
    *, infusion: Infusion, scheduled_for: dt.datetime, reason: str, actor: Any = None
) -> Infusion:
    """Cancel and schedule anew in one transaction: both or neither (roles as for scheduling)."""
    require_role(actor, *SCHEDULERS, action=N_("reschedule infusions"), clinic_system=True)
    with transaction.atomic():
        old = infusion_cancel(infusion=infusion, reason=f"rescheduled: {reason}", actor=actor)
        return infusion_schedule(
            dose=old.dose, scheduled_for=scheduled_for, route=old.route, actor=actor, rescheduled_from=old
        )


def infusion_administer(
    *,
    infusion: Infusion,
    actor: User,
    scanned_identifier: str,
    administered_at: dt.datetime | None = None,
    patient_code: str | None = None,
) -> Infusion:
    """Record the infusion at the bedside after the dose label scan matches dose and patient.

    A mismatch is refused and kept as an ``AdministrationAttempt`` of this
    infusion (not as a batch finding: the batch record the release signature
    covers is unchanged, so the right scan can still administer). When every
    dose of the batch is given, the batch becomes ``infused``. Coordinators,
    technicians and QA only (NotPermitted otherwise).
    """
    require_role(actor, *BEDSIDE, action=N_("record infusions"))
    require_own_clinic(actor, _clinic_of(infusion), action=N_("record infusions"))
    administered_at = administered_at or timezone.now()
    dose = Dose.objects.select_related("batch__therapy__patient").get(pk=infusion.dose_id)
    _verify_bedside_scan(infusion, dose, scanned_identifier, patient_code, actor)
    with transaction.atomic(), audit_context(actor=actor, reason="infusion administered"):
        batch = _lock_batch_of(dose)
        locked = Infusion.objects.select_for_update(no_key=True).get(pk=infusion.pk)
        blockers = []
        if locked.status != Infusion.Status.SCHEDULED:
            blockers.append(
                Blocker("wrong_state", N_("The infusion is %(status)s."), {"status": term(locked.status)})
            )
        if in_future(administered_at, timezone.now()):
            blockers.append(Blocker("future_time", N_("The administration time lies in the future.")))
        answer = batch_readiness(batch, administered_at)
        dose_answer = answer.for_dose(dose.dose_id)
        blockers += [
            b for b in (dose_answer.blockers if dose_answer else ()) if b.code != "already_scheduled"
        ]
        if blockers:
            raise DomainError(blockers)
        locked.status, locked.administered_at, locked.administered_by = (
            Infusion.Status.ADMINISTERED,
            administered_at,
            actor,
        )
        locked.scanned_identifier = scanned_identifier
        locked.save(update_fields=["status", "administered_at", "administered_by", "scanned_identifier"])
        Dose.objects.filter(pk=dose.pk).update(status=Dose.Status.INFUSED)
        if (
            not Dose.objects.filter(batch=dose.batch)
            .exclude(status__in=[Dose.Status.INFUSED, Dose.Status.UNAVAILABLE])
            .exists()
        ):
            batch_transition(
                batch=dose.batch,
                to=BatchStatus.INFUSED,
                actor=actor,
                reason="every dose infused",
                at=administered_at,
            )
    return locked


def _verify_bedside_scan(
    infusion: Infusion, dose: Dose, scanned: str, patient_code: str | None, actor: User
) -> None:
    problem = _dose_scan_problem(dose, scanned)
    if problem is None and patient_code is not None and not _wristband_matches(dose, patient_code):
        problem = Blocker(
            "identity_mismatch",
            N_("Patient '%(patient)s' is not the patient of dose %(dose)s: autologous only."),
            {"patient": patient_code, "dose": dose.dose_id},
        )
    if problem is None:
        return
    # Its own transaction, committed before the refusal is raised: the attempt stays recorded.
    with transaction.atomic(), audit_context(actor=actor, reason="identity check failed at bedside"):
        AdministrationAttempt.objects.create(
            infusion=infusion, attempted_at=timezone.now(), attempted_by=actor, scanned_identifier=(scanned or "")[:40],
            patient_code=(patient_code or "")[:64], refusal_code="identity_mismatch", refusal_detail=problem.english,
        )  # fmt: skip
    raise DomainError([problem])


def _wristband_matches(dose: Dose, wristband: str) -> bool:
    """The wristband names the dose's patient: by the therapy's COI (ISBT 128 chain of identity) or patient code."""
    therapy = dose.batch.therapy
    try:
        return scan.parse_coi(wristband).coi == therapy.coi
    except scan.ScanError:
        return wristband.strip() == therapy.patient.code


def _dose_scan_problem(dose: Dose, scanned: str) -> Blocker | None:
    """A dose label reads DIN + K, then '-' and the dose number (``core.scan`` reads it).

    A cryopreserved dose is given unit by unit: the label scanned names a
    thawed unit of the dose (DIN + K, '-', dose number, '-', unit letter), and
    the infusion keeps that label.
    """
    units = dict(DoseUnit.objects.filter(dose=dose).values_list("code", "status"))
    if units:
        return _unit_scan_problem(dose, scanned, units)
    try:
        read = scan.parse_dose(scanned, require_check=True)
    except scan.ScanError as error:
        return error.blocker("identity_mismatch")
    if (read.din, read.dose_number) != (dose.batch.din, dose.number):
        return Blocker(
            "identity_mismatch",
            N_("Scanned dose %(scanned)s is not dose %(dose)s: wrong item."),
            {"scanned": f"{read.din}-{read.dose_number}", "dose": dose.dose_id},
        )
    return None


def _unit_scan_problem(dose: Dose, scanned: str, units: dict[str, str]) -> Blocker | None:
    try:
        read = scan.parse_unit(scanned, require_check=True)
    except scan.ScanError as error:
        return error.blocker("identity_mismatch")
    code = f"{read.din}-{read.dose_number}-{read.unit_suffix}"
    if code not in units:
        return Blocker(
            "identity_mismatch",
            N_("Scanned unit %(unit)s is not a unit of dose %(dose)s: wrong item."),
            {"unit": code, "dose": dose.dose_id},
        )
    if units[code] != DoseUnit.Status.THAWED:
        return Blocker(
            "identity_mismatch",
            N_("Unit %(unit)s has not been thawed: thaw it before administration."),
            {"unit": code},
        )
    return None


def observation_record(
    *,
    infusion: Infusion,
    kind: str,
    observed_at: dt.datetime,
    description: str,
    actor: User,
    severity: str = "",
) -> InfusionObservation:
    """Record an adverse event or a follow-up after an administered infusion.

    Coordinators, technicians and QA only (NotPermitted otherwise).
    """
    require_role(actor, *BEDSIDE, action=N_("record observations"))
    require_own_clinic(actor, _clinic_of(infusion), action=N_("record observations"))
    blockers = []
    if infusion.status != Infusion.Status.ADMINISTERED:
        blockers.append(Blocker("wrong_state", N_("Observations follow an administered infusion.")))
    if kind not in InfusionObservation.Kind.values:
        blockers.append(
            Blocker(
                "invalid_kind",
                N_("Kind must be one of: %(kinds)s."),
                {"kinds": ", ".join(InfusionObservation.Kind.values)},
            )
        )
    if not description.strip():
        blockers.append(Blocker("description_required", N_("Describe the observation.")))
    if blockers:
        raise DomainError(blockers)
    with transaction.atomic(), audit_context(actor=actor, reason=f"post-infusion {kind}"):
        return InfusionObservation.objects.create(
            infusion=infusion, kind=kind, observed_at=observed_at, description=description, severity=severity,
            recorded_by=actor,
        )  # fmt: skip


__all__ = [
    "infusion_administer",
    "infusion_cancel",
    "infusion_reschedule",
    "infusion_schedule",
    "observation_record",
]
