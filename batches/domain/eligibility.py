"""Pure eligibility rules for a therapy. No ORM, no request, no clock.

Every window is counted in whole days from the injury date (the injury day is
day 0) and is inclusive at both ends; an end of ``None`` means the window never
closes. The numbers belong to the protocol, never to this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.errors import Blocker
from core.i18n import N_

TRANSECTION = "transection"

# One sentence per window, so a translation never has to splice "harvest" into a sentence.
_CLOSED = {
    "harvest": N_("Day %(day)s after injury: the harvest window of %(protocol)s closed on day %(end)s."),
    "infusion": N_("Day %(day)s after injury: the infusion window of %(protocol)s closed on day %(end)s."),
}
_OUTSIDE = {
    "harvest": N_(
        "Day %(day)s after injury is outside the harvest window of %(protocol)s (day %(start)s to day %(end)s)."
    ),
    "infusion": N_(
        "Day %(day)s after injury is outside the infusion window of %(protocol)s (day %(start)s to day %(end)s)."
    ),
}
_OUTSIDE_OPEN = {
    "harvest": N_(
        "Day %(day)s after injury is outside the harvest window of %(protocol)s (day %(start)s onwards)."
    ),
    "infusion": N_(
        "Day %(day)s after injury is outside the infusion window of %(protocol)s (day %(start)s onwards)."
    ),
}


@dataclass(frozen=True)
class PatientFacts:
    """What eligibility needs to know about a patient."""

    injury_date: date
    asia_grade: str
    injury_type: str
    malignancy_history: bool
    weight_kg: Decimal | float

    @classmethod
    def of(cls, obj: Any) -> PatientFacts:
        """Read the same-named attributes from any object (a ``Patient`` row works)."""
        return cls(
            injury_date=obj.injury_date,
            asia_grade=obj.asia_grade,
            injury_type=obj.injury_type,
            malignancy_history=bool(obj.malignancy_history),
            weight_kg=obj.weight_kg,
        )


@dataclass(frozen=True)
class ProtocolRules:
    """The protocol numbers eligibility and the time windows depend on."""

    code: str
    asia_grades: tuple[str, ...]
    harvest_window_start_day: int
    harvest_window_end_day: int | None
    infusion_window_start_day: int
    infusion_window_end_day: int | None

    @classmethod
    def of(cls, obj: Any) -> ProtocolRules:
        """Read the same-named attributes from any object (a ``ProcessingProtocol`` row works)."""
        return cls(
            code=obj.code,
            asia_grades=tuple(obj.asia_grades),
            harvest_window_start_day=obj.harvest_window_start_day,
            harvest_window_end_day=obj.harvest_window_end_day,
            infusion_window_start_day=obj.infusion_window_start_day,
            infusion_window_end_day=obj.infusion_window_end_day,
        )


@dataclass(frozen=True)
class Eligibility:
    """The answer: eligible only when there is no blocker; every blocker is kept."""

    eligible: bool
    blockers: tuple[Blocker, ...]

    def as_dict(self) -> dict[str, Any]:
        """The shape stored with a therapy: ``{"eligible", "reasons": [{"code", "detail"}]}``.

        A record, so in English whoever asked; interfaces render the blockers in their reader's language.
        """
        return {
            "eligible": self.eligible,
            "reasons": [{"code": b.code, "detail": b.english} for b in self.blockers],
        }


def day_after_injury(injury_date: date, on: date) -> int:
    """Whole days from the injury date to ``on`` (the injury day is day 0; negative before it).

    A datetime counts by its own calendar date, so convert it to local time first.
    """
    # datetime is a subclass of date but cannot be subtracted from one.
    if isinstance(on, datetime):
        on = on.date()
    return (on - injury_date).days


def _before_injury(patient: PatientFacts, on: date) -> Blocker | None:
    if day_after_injury(patient.injury_date, on) >= 0:
        return None
    return Blocker(
        "invalid_date",
        N_("%(date)s is before the injury date %(injury_date)s."),
        {"date": f"{on:%Y-%m-%d}", "injury_date": f"{patient.injury_date:%Y-%m-%d}"},
    )


def _exclusions(patient: PatientFacts) -> list[Blocker]:
    blockers = []
    if patient.malignancy_history:
        blockers.append(
            Blocker(
                "malignancy_history", N_("The patient has a history of malignancy, which excludes therapy.")
            )
        )
    if patient.injury_type == TRANSECTION:
        blockers.append(
            Blocker("transected_cord", N_("The spinal cord is transected (severed), which excludes therapy."))
        )
    return blockers


def _grade(patient: PatientFacts, protocol: ProtocolRules) -> Blocker | None:
    if patient.asia_grade in protocol.asia_grades:
        return None
    grades = ", ".join(protocol.asia_grades)
    return Blocker(
        "asia_grade",
        N_("ASIA grade %(grade)s is not treated by %(protocol)s (grades %(grades)s)."),
        {"grade": patient.asia_grade, "protocol": protocol.code, "grades": grades},
    )


def _closed(day: int, end: int | None, what: str, protocol: ProtocolRules) -> Blocker | None:
    if end is None or day <= end:
        return None
    return Blocker("outside_window", _CLOSED[what], {"day": day, "protocol": protocol.code, "end": end})


def eligibility(patient: PatientFacts, protocol: ProtocolRules, on: date) -> Eligibility:
    """Decide whether a therapy under ``protocol`` may be created for ``patient`` on date ``on``.

    Eligible when no exclusion applies (malignancy, transected cord), the ASIA
    grade is one the protocol treats, and neither the harvest window nor the
    infusion window has closed at ``on``. A date before the injury is refused as
    ``invalid_date`` (the windows are then not judged). Returns every reason.
    """
    blockers = _exclusions(patient)
    grade = _grade(patient, protocol)
    if grade:
        blockers.append(grade)
    invalid = _before_injury(patient, on)
    if invalid:
        blockers.append(invalid)
    else:
        day = day_after_injury(patient.injury_date, on)
        harvest = _closed(day, protocol.harvest_window_end_day, "harvest", protocol)
        infusion = _closed(day, protocol.infusion_window_end_day, "infusion", protocol)
        blockers.extend(b for b in (harvest, infusion) if b)
    return Eligibility(eligible=not blockers, blockers=tuple(blockers))


def _outside(day: int, start: int, end: int | None, what: str, protocol: ProtocolRules) -> Blocker | None:
    if start <= day and (end is None or day <= end):
        return None
    template = _OUTSIDE[what] if end is not None else _OUTSIDE_OPEN[what]
    return Blocker(
        "outside_window", template, {"day": day, "protocol": protocol.code, "start": start, "end": end}
    )


def in_harvest_window(patient: PatientFacts, protocol: ProtocolRules, on: date) -> Blocker | None:
    """``None`` when a cell-source collection on ``on`` lies in the harvest window, else the blocker."""
    day = day_after_injury(patient.injury_date, on)
    start, end = protocol.harvest_window_start_day, protocol.harvest_window_end_day
    return _outside(day, start, end, "harvest", protocol)


def in_infusion_window(patient: PatientFacts, protocol: ProtocolRules, at: date) -> Blocker | None:
    """``None`` when an infusion on ``at`` lies in the infusion window, else the blocker.

    Pass the local calendar date of the infusion time: windows count whole days.
    """
    day = day_after_injury(patient.injury_date, at)
    start, end = protocol.infusion_window_start_day, protocol.infusion_window_end_day
    return _outside(day, start, end, "infusion", protocol)


def infusion_window_dates(patient: PatientFacts, protocol: ProtocolRules) -> tuple[date, date | None]:
    """First and last calendar dates of the infusion window (last is ``None`` when it never closes)."""
    first = patient.injury_date + timedelta(days=protocol.infusion_window_start_day)
    end = protocol.infusion_window_end_day
    last = patient.injury_date + timedelta(days=end) if end is not None else None
    return first, last
