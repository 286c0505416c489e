"""The one readiness function: every blocker, per dose and per batch. No database."""

import datetime as dt

from compliance.readiness.rules import BatchState, DoseState, readiness
from core.errors import Blocker

T = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


def state(**changes) -> BatchState:
    base = {
        "din": "A999926000001", "status": "released", "release_signature_valid": True, "qc_pending": (),
        "qc_failed": (), "open_deviations": (), "patient_blockers": (),
        "doses": (DoseState("A999926000001-1", "available", T + dt.timedelta(days=30), None),),
    }  # fmt: skip
    return BatchState(**{**base, **changes})


def codes(answer) -> list[str]:
    return [b.code for b in answer.blockers]


def test_a_released_valid_unexpired_unscheduled_dose_is_ready():
    answer = readiness(state(), T)
    assert answer.ready and answer.blockers == ()
    assert answer.for_dose("A999926000001-1").ready


def test_every_unmet_condition_is_returned_not_just_the_first():
    answer = readiness(
        state(status="pending_release", release_signature_valid=False, qc_pending=("sterility",),
              open_deviations=(("major", "x"),), patient_blockers=(Blocker("outside_window", "day 200"),)),
        T,
    )  # fmt: skip
    assert not answer.ready
    assert codes(answer) == [
        "not_released",
        "signature_invalid",
        "qc_pending",
        "deviation_open",
        "outside_window",
    ]
    assert answer.blockers[2].english == "sterility result missing"


def test_quarantined_is_its_own_blocker():
    assert codes(readiness(state(status="quarantined"), T)) == ["quarantined"]


def test_expired_at_the_requested_time_only():
    expiring = (DoseState("A999926000001-1", "available", T + dt.timedelta(hours=1), None),)
    assert readiness(state(doses=expiring), T).ready
    later = readiness(state(doses=expiring), T + dt.timedelta(hours=2))
    assert codes(later) == ["expired"]


def test_already_scheduled_blocks_that_dose_but_another_dose_can_be_ready():
    doses = (
        DoseState("A999926000001-1", "available", None, "inf-1", "scheduled"),
        DoseState("A999926000001-2", "available", None, None),
    )
    answer = readiness(state(doses=doses), T)
    assert answer.ready
    assert codes(answer.for_dose("A999926000001-1")) == ["already_scheduled"]
    assert answer.for_dose("A999926000001-2").ready


def test_no_ready_dose_reports_the_dose_blockers_at_batch_level():
    doses = (DoseState("A999926000001-1", "available", None, "inf-1", "scheduled"),)
    assert codes(readiness(state(doses=doses), T)) == ["already_scheduled"]


def test_a_batch_without_doses_is_not_ready():
    answer = readiness(state(status="in_culture", release_signature_valid=None, doses=()), T)
    assert codes(answer) == ["not_released", "no_doses"]
