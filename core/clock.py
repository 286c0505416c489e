"""Time the system accepts: the one clock tolerance and the plausible range of dates. Pure.

``CLOCK_TOLERANCE``: instruments, tablets and clinic systems keep their own
clocks; a time up to five minutes ahead of ours is taken as "now" (drift), a
later one is refused as lying in the future. Every future-time rule uses this
one constant.

Dates a client sends must also be plausible: no instant outside
``EARLIEST_INSTANT``..``LATEST_INSTANT`` is parsed at all (beyond them date
arithmetic overflows), a collection lies in a year its two-digit DIN year can
name (``DIN_YEARS``) and not before the patient's injury, and a patient was
born and injured in the past, after ``EARLIEST_YEAR``.
"""

from __future__ import annotations

import datetime as dt

from core.i18n import N_, render

CLOCK_TOLERANCE = dt.timedelta(minutes=5)
EARLIEST_YEAR = 1900
EARLIEST_INSTANT = dt.datetime(EARLIEST_YEAR, 1, 1, tzinfo=dt.UTC)
LATEST_INSTANT = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
# The DIN carries the year in two digits and is unique for 100 years (ST-001 §2.4.1).
DIN_YEARS = range(2000, 2100)

FieldErrors = dict[str, list[str]]


def in_future(at: dt.datetime, now: dt.datetime) -> bool:
    """``at`` lies later than ``now`` plus the clock tolerance."""
    return at > now + CLOCK_TOLERANCE


def instant_error(at: dt.datetime) -> str | None:
    """Why an aware instant is outside the range the system computes with, or None."""
    if EARLIEST_INSTANT <= at < LATEST_INSTANT:
        return None
    return render(
        N_("Must lie between %(first)s and %(last)s (UTC)."),
        {"first": f"{EARLIEST_INSTANT:%Y-%m-%d}", "last": f"{LATEST_INSTANT:%Y-%m-%d}"},
    )


def patient_date_errors(*, birth_year: int, injury_date: dt.date, today: dt.date) -> FieldErrors:
    """A patient born and injured in the past, injured not before the birth year. Field -> messages."""
    errors: FieldErrors = {}
    if not EARLIEST_YEAR <= birth_year <= today.year:
        errors["birth_year"] = [
            render(
                N_("Must lie between %(first)s and %(last)s."), {"first": EARLIEST_YEAR, "last": today.year}
            )
        ]
    if injury_date > today:
        errors["injury_date"] = [render(N_("The injury date lies in the future."))]
    elif injury_date.year < max(EARLIEST_YEAR, birth_year):
        errors["injury_date"] = [
            render(N_("The injury date lies before the birth year %(year)s."), {"year": birth_year})
        ]
    return errors


def collection_date_errors(*, collected_on: dt.date, injury_date: dt.date) -> FieldErrors:
    """A collection in a year a DIN can carry, not before the injury. ``collected_on``: local date."""
    if collected_on.year not in DIN_YEARS:
        years = f"{DIN_YEARS.start}..{DIN_YEARS.stop - 1}"
        return {
            "collected_at": [
                render(
                    N_("The year must lie in %(years)s: the DIN carries it in two digits."), {"years": years}
                )
            ]
        }
    if collected_on < injury_date:
        return {
            "collected_at": [
                render(
                    N_("The collection lies before the patient's injury (%(date)s)."),
                    {"date": str(injury_date)},
                )
            ]
        }
    return {}
