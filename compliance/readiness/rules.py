"""Readiness: ONE answer, everywhere, to "can this dose be infused at time T?".

The web UI, the REST API and scheduling all call ``readiness``; it returns
every unmet condition, not just the first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.domain.blockers import deviation_open, qc_failed, qc_pending, signature_invalid
from core.errors import Blocker
from core.i18n import N_, term


@dataclass(frozen=True)
class StorageIssue:
    """A frozen unit of the dose on hold: ``code``, the unit, since when, and where (tank or shipper)."""

    code: str  # excursion_unassessed | excursion_rejected | shipment_arrival_out_of_range
    unit: str
    since: dt.datetime
    where: str


@dataclass(frozen=True)
class DoseState:
    dose_id: str
    status: str  # pending_release | available | infused | unavailable
    expires_at: dt.datetime | None
    active_infusion_id: str | None  # a scheduled or administered infusion
    active_infusion_status: str | None = None
    thaw_deadline: dt.datetime | None = None  # a unit was thawed: infuse before this (post-thaw window)
    storage_issues: tuple[StorageIssue, ...] = ()


@dataclass(frozen=True)
class BatchState:
    """Everything readiness depends on, gathered by a selector."""

    din: str
    status: str
    release_signature_valid: bool | None  # None: never released
    qc_pending: tuple[str, ...]  # tests without a result
    qc_failed: tuple[str, ...]  # latest result out of specification
    open_deviations: tuple[tuple[str, str], ...]  # blocking ones: (severity code, description)
    patient_blockers: tuple[Blocker, ...]  # exclusions and the infusion window at T
    doses: tuple[DoseState, ...]
    release_changes: tuple[str, ...] = ()  # record sections changed since the release signature


@dataclass(frozen=True)
class DoseReadiness:
    dose_id: str
    ready: bool
    blockers: tuple[Blocker, ...]
    expires_at: dt.datetime | None
    infusion: str | None


@dataclass(frozen=True)
class Readiness:
    ready: bool
    blockers: tuple[Blocker, ...]
    doses: tuple[DoseReadiness, ...] = field(default=())

    def for_dose(self, dose_id: str) -> DoseReadiness | None:
        return next((d for d in self.doses if d.dose_id == dose_id), None)


def readiness(state: BatchState, at: dt.datetime) -> Readiness:
    """Is each dose of the batch ready for an infusion at ``at``? With every reason why not.

    Batch-level blockers apply to every dose; dose-level ones (expired,
    already scheduled) to that dose. The batch is ready when one dose is.
    """
    common = _batch_blockers(state) + list(state.patient_blockers)
    doses = tuple(_dose_readiness(dose, common, at) for dose in state.doses)
    if not doses:
        common.append(Blocker("no_doses", N_("The batch has not been formulated into doses.")))
    ready = any(dose.ready for dose in doses)
    blockers = common if common or ready else _union(doses)
    return Readiness(ready, tuple(blockers), doses)


def _batch_blockers(state: BatchState) -> list[Blocker]:
    blockers = []
    if state.status == "quarantined":
        blockers.append(Blocker("quarantined", N_("The batch is quarantined.")))
    elif state.status != "released":
        blockers.append(
            Blocker(
                "not_released",
                N_("The batch is %(status)s, not released by QA."),
                {"status": term(state.status.replace("_", " "))},
            )
        )
    if state.release_signature_valid is False:
        blockers.append(signature_invalid(state.release_changes))
    blockers += [qc_pending(test) for test in state.qc_pending]
    blockers += [qc_failed(test) for test in state.qc_failed]
    blockers += [deviation_open(severity, text) for severity, text in state.open_deviations]
    return blockers


def _dose_readiness(dose: DoseState, common: list[Blocker], at: dt.datetime) -> DoseReadiness:
    own = []
    if dose.status == "infused":
        own.append(Blocker("already_infused", N_("Dose %(dose)s has been infused."), {"dose": dose.dose_id}))
    elif dose.active_infusion_id:
        own.append(
            Blocker(
                "already_scheduled",
                N_("Dose %(dose)s already has a scheduled infusion."),
                {"dose": dose.dose_id},
            )
        )
    if dose.expires_at is not None and at >= dose.expires_at:
        own.append(
            Blocker(
                "expired",
                N_("Dose %(dose)s expires at %(expires)s."),
                {"dose": dose.dose_id, "expires": f"{dose.expires_at:%Y-%m-%d %H:%M %Z}"},
            )
        )
    elif dose.status == "unavailable":
        own.append(Blocker("dose_unavailable", N_("Dose %(dose)s is not available."), {"dose": dose.dose_id}))
    if dose.status != "infused":
        own += _storage_blockers(dose, at)
    blockers = tuple(common + own)
    return DoseReadiness(dose.dose_id, not blockers, blockers, dose.expires_at, dose.active_infusion_id)


_STORAGE_DETAIL = {
    "excursion_unassessed": N_(
        "Unit %(unit)s was in %(where)s during a temperature excursion from %(since)s: "
        "on hold until QA assesses the excursion."
    ),
    "excursion_rejected": N_(
        "Unit %(unit)s was rejected by QA after the excursion of %(where)s from %(since)s."
    ),
    "shipment_arrival_out_of_range": N_(
        "Unit %(unit)s arrived in dry shipper %(where)s outside its temperature range (%(since)s): "
        "on hold until QA assesses the shipment."
    ),
}


def _storage_blockers(dose: DoseState, at: dt.datetime) -> list[Blocker]:
    """Holds of the dose's frozen units, and the post-thaw window (``thaw_window_passed``)."""
    blockers = [
        Blocker(issue.code, _STORAGE_DETAIL.get(issue.code, N_("Unit %(unit)s is on hold.")),
                {"unit": issue.unit, "where": issue.where, "since": f"{issue.since:%Y-%m-%d %H:%M %Z}"})
        for issue in dose.storage_issues
    ]  # fmt: skip
    if dose.thaw_deadline is not None and at >= dose.thaw_deadline:
        blockers.append(
            Blocker(
                "thaw_window_passed",
                N_("Dose %(dose)s was thawed; its post-thaw window closed at %(deadline)s."),
                {"dose": dose.dose_id, "deadline": f"{dose.thaw_deadline:%Y-%m-%d %H:%M %Z}"},
            )
        )
    return blockers


def _union(doses: tuple[DoseReadiness, ...]) -> list[Blocker]:
    seen: dict[tuple[str, str], Blocker] = {}
    for dose in doses:
        for blocker in dose.blockers:
            seen.setdefault((blocker.code, blocker.english), blocker)
    return list(seen.values())
