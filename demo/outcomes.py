"""Demo batches past the culture: QC, the signed checklist, QA's decision, infusion, expiry.

Everything goes through the real services. QC results are back-dated with
``tested_at``; checklist signatures, the QA decision and infusions carry the
real time, because their services stamp ``timezone.now()`` (release sets the
dose expiry from it) or refuse a time in the past. So the released demo
batches read "released today, expires in 30 days", which is what readiness
needs to say "ready now".

Segregation of duties, as in production: the technician who performed the
batch reviews the technician items and the other one verifies them; ``qc``
records QC and reviews its item, ``qa2`` verifies QC and signs the QA items;
``qa`` only decides (never performs steps or QC); ``coord`` schedules and
infuses at the clinic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from batches.domain import BatchStatus
from batches.models import Batch, Dose
from batches.services import batch_transition
from compliance.models import Deviation, Infusion, User
from compliance.selectors import checklist_status
from compliance.services.checklists import checklist_item_sign
from compliance.services.deviations import deviation_open
from compliance.services.qc import qc_result_record
from compliance.services.release import batch_release
from compliance.services.scheduling import infusion_administer, infusion_schedule, observation_record
from core import isbt128
from core.audit import audit_context
from monitoring.sweeps import dose_expiry_sweep

QC_WITHIN_SPEC: dict[str, float | str] = {
    "viability": 92.6, "viable_cell_count": 100_000_000, "cd73": 99.1, "cd90": 98.4, "cd105": 97.2,
    "cd34": 0.4, "cd45": 0.7, "hla_dr": 0.5, "sterility": "no_growth", "mycoplasma": "negative",
    "endotoxin": 0.25,
}  # fmt: skip


@dataclass(frozen=True)
class Crew:
    """Who does what on one batch."""

    tech: User  # performed its steps; reviews the technician items
    tech2: User  # the other technician; verifies them
    qc: User
    qa: User  # releases or rejects
    qa2: User  # signs the QA items, verifies QC
    coord: User  # the clinic: schedules, infuses, follows up
    password: str  # every demo account's (signatures re-enter it)


# --- Building blocks --------------------------------------------------------------


def _formulated_at(batch: Batch) -> dt.datetime:
    return batch.steps.filter(kind="formulation", amended_by__isnull=True).latest("performed_at").performed_at


def _qc_time(batch: Batch, now: dt.datetime) -> dt.datetime:
    """A day after formulation (results of the rapid methods), never later than an hour ago."""
    return min(_formulated_at(batch) + dt.timedelta(days=1), now - dt.timedelta(hours=1))


def record_qc(batch: Batch, crew: Crew, at: dt.datetime, **overrides: float | str) -> None:
    """The full release panel, every result through ``qc_result_record`` (out of spec opens a deviation)."""
    for test, outcome in {**QC_WITHIN_SPEC, **overrides}.items():
        kwargs = {"result": outcome} if isinstance(outcome, str) else {"value": outcome}
        qc_result_record(batch=batch, test=test, actor=crew.qc, tested_at=at, kit_lot="DEMO-KIT-01", **kwargs)


def sign_checklist(batch: Batch, crew: Crew) -> None:
    """Every item reviewed by its role and, where required, verified by a second person."""
    reviewers = {"technician": crew.tech, "qc": crew.qc, "qa": crew.qa2}
    verifiers = {"technician": crew.tech2, "qc": crew.qa2}  # QA items need no second person
    for entry in checklist_status(batch).items:
        item = entry.item
        checklist_item_sign(batch=batch, item_code=item.code, actor=reviewers[item.role], password=crew.password,
                            meaning="reviewed")  # fmt: skip
        if item.requires_second_person:
            checklist_item_sign(batch=batch, item_code=item.code, actor=verifiers[item.role],
                                password=crew.password, meaning="verified")  # fmt: skip


def _dose_label(dose: Dose) -> str:
    """What the bedside scanner reads: DIN, check character, '-', dose number."""
    return f"{dose.batch.din}{isbt128.check_character(dose.batch.din)}-{dose.number}"


# --- Outcomes: one per demo state -------------------------------------------------


def quarantine(batch: Batch, crew: Crew, reason: str, now: dt.datetime) -> None:
    """The technician opens a major deviation; the service quarantines the culture."""
    deviation_open(batch=batch, severity=Deviation.Severity.MAJOR, description=reason, actor=crew.tech)


def reject(batch: Batch, crew: Crew, reason: str, now: dt.datetime) -> None:
    """In-process mycoplasma positive (critical deviation, quarantine), then QA rejects with the reason."""
    qc_result_record(batch=batch, test="mycoplasma", result="positive", actor=crew.qc,
                     tested_at=now - dt.timedelta(hours=20), method="qPCR", kit_lot="DEMO-MYC-02")  # fmt: skip
    batch_release(batch=batch, actor=crew.qa, password=crew.password, decision="reject", reason=reason)


def discard(batch: Batch, crew: Crew, reason: str, now: dt.datetime) -> None:
    batch_transition(batch=batch, to=BatchStatus.DISCARDED, actor=crew.qa, reason=reason)


def fail_qc(batch: Batch, crew: Crew, reason: str, now: dt.datetime) -> None:
    """Viability below the 70 % limit: the service opens a major deviation and quarantines."""
    record_qc(batch, crew, _qc_time(batch, now), viability=61.5)


def release(batch: Batch, crew: Crew, reason: str = "", now: dt.datetime | None = None) -> Dose:
    """QC within specification, the checklist signed, QA releases: the dose is available now."""
    record_qc(batch, crew, _qc_time(batch, now or timezone.now()))
    sign_checklist(batch, crew)
    batch_release(batch=batch, actor=crew.qa, password=crew.password, decision="release")
    return Dose.objects.select_related("batch").get(batch=batch, number=1)


def schedule(batch: Batch, crew: Crew, reason: str, now: dt.datetime) -> None:
    """Released, and the clinic has booked the drip for 10:00 three days from now."""
    dose = release(batch, crew, now=now)
    day = timezone.localdate(now) + dt.timedelta(days=3)
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    infusion_schedule(dose=dose, scheduled_for=at, route="iv", actor=crew.coord)


def infuse(batch: Batch, crew: Crew, reason: str, now: dt.datetime) -> None:
    """Released, scheduled and given today (scheduling refuses the past), with a follow-up note."""
    dose = release(batch, crew, now=now)
    infusion = infusion_schedule(dose=dose, scheduled_for=timezone.now(), route="iv", actor=crew.coord)
    given = infusion_administer(infusion=infusion, actor=crew.coord, scanned_identifier=_dose_label(dose),
                                patient_code=batch.therapy.patient.code, administered_at=timezone.now())  # fmt: skip
    observation_record(infusion=Infusion.objects.get(pk=given.pk), kind="follow_up", observed_at=timezone.now(),
                       description="End of the 60 min drip: vital signs stable, no infusion reaction.",
                       actor=crew.coord)  # fmt: skip


def expire(batch: Batch, crew: Crew, reason: str, now: dt.datetime) -> None:
    """A dose left unused past its shelf life: the batch ends up expired.

    Release stamps ``expires_at = now + shelf life`` and time-machine is a
    development-only dependency, so after the real release the expiry is moved
    back (an audited UPDATE with its own reason) to where a release right after
    QC would have put it; then the real expiry sweep makes the dose unavailable
    and the batch expired. The release signature stays valid: expiry is not
    part of the signed record (``compliance.records``).
    """
    release(batch, crew, now=now)
    shelf_life = dt.timedelta(hours=batch.therapy.protocol.shelf_life_hours)
    expired_at = min(_qc_time(batch, now) + shelf_life, now - dt.timedelta(hours=1))
    with audit_context(reason="demo: back-dated expiry"):
        Dose.objects.filter(batch=batch).update(expires_at=expired_at)
    dose_expiry_sweep(now=timezone.now())


OUTCOMES: dict[str, Callable[[Batch, Crew, str, dt.datetime], object]] = {
    "quarantine": quarantine,
    "reject": reject,
    "discard": discard,
    "fail_qc": fail_qc,
    "release": release,
    "schedule": schedule,
    "infuse": infuse,
    "expire": expire,
}
