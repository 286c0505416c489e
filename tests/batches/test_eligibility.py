"""Eligibility for a therapy and the time windows: pure, no database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from batches.domain import (
    PatientFacts,
    ProtocolRules,
    day_after_injury,
    eligibility,
    in_harvest_window,
    in_infusion_window,
    infusion_window_dates,
)

INJURY = date(2025, 1, 10)

SUBACUTE = ProtocolRules(
    code="SCI-SUBACUTE-IV",
    asia_grades=("A", "B", "C"),
    harvest_window_start_day=0,
    harvest_window_end_day=31,
    infusion_window_start_day=31,
    infusion_window_end_day=180,
)
CHRONIC = ProtocolRules(
    code="SCI-CHRONIC-IT",
    asia_grades=("A", "B", "C", "D"),
    harvest_window_start_day=0,
    harvest_window_end_day=None,
    infusion_window_start_day=181,
    infusion_window_end_day=None,
)


def patient(**changes: object) -> PatientFacts:
    facts = {
        "injury_date": INJURY,
        "asia_grade": "B",
        "injury_type": "contusion",
        "malignancy_history": False,
        "weight_kg": Decimal("70.0"),
    }
    return PatientFacts(**{**facts, **changes})  # type: ignore[arg-type]


def day(n: int) -> date:
    return INJURY + timedelta(days=n)


def codes(result: object) -> list[str]:
    return [b.code for b in result.blockers]  # type: ignore[attr-defined]


# DOMAIN.md examples


def test_patient_23_days_after_injury_is_eligible_for_subacute() -> None:
    result = eligibility(patient(), SUBACUTE, day(23))

    assert result.eligible
    assert result.blockers == ()


def test_patient_40_days_after_injury_is_not_eligible_for_subacute() -> None:
    result = eligibility(patient(), SUBACUTE, day(40))

    assert not result.eligible
    assert [(b.code, b.english) for b in result.blockers] == [
        ("outside_window", "Day 40 after injury: the harvest window of SCI-SUBACUTE-IV closed on day 31."),
    ]


def test_patient_8_months_after_injury_is_eligible_only_for_chronic() -> None:
    eight_months_later = date(2025, 9, 10)

    subacute = eligibility(patient(), SUBACUTE, eight_months_later)
    chronic = eligibility(patient(), CHRONIC, eight_months_later)

    assert not subacute.eligible
    assert codes(subacute) == ["outside_window", "outside_window"]
    assert "infusion window of SCI-SUBACUTE-IV closed on day 180" in subacute.blockers[1].english
    assert chronic.eligible


# Each blocker alone


def test_malignancy_history_excludes() -> None:
    result = eligibility(patient(malignancy_history=True), SUBACUTE, day(10))

    assert codes(result) == ["malignancy_history"]
    assert "malignancy" in result.blockers[0].english


def test_transected_cord_excludes() -> None:
    result = eligibility(patient(injury_type="transection"), SUBACUTE, day(10))

    assert codes(result) == ["transected_cord"]


@pytest.mark.parametrize("injury_type", ["contusion", "compression", "laceration"])
def test_other_injury_types_do_not_exclude(injury_type: str) -> None:
    assert eligibility(patient(injury_type=injury_type), SUBACUTE, day(10)).eligible


def test_asia_grade_not_treated_by_protocol() -> None:
    result = eligibility(patient(asia_grade="D"), SUBACUTE, day(10))

    assert codes(result) == ["asia_grade"]
    assert result.blockers[0].english == "ASIA grade D is not treated by SCI-SUBACUTE-IV (grades A, B, C)."


def test_asia_grade_d_is_treated_by_chronic() -> None:
    assert eligibility(patient(asia_grade="D"), CHRONIC, day(300)).eligible


def test_asia_grade_e_is_treated_by_neither() -> None:
    assert codes(eligibility(patient(asia_grade="E"), CHRONIC, day(300))) == ["asia_grade"]


def test_date_before_injury_is_invalid() -> None:
    result = eligibility(patient(), SUBACUTE, day(-1))

    assert codes(result) == ["invalid_date"]
    assert result.blockers[0].english == "2025-01-09 is before the injury date 2025-01-10."


def test_every_reason_is_returned_at_once() -> None:
    sick = patient(malignancy_history=True, injury_type="transection", asia_grade="E")

    result = eligibility(sick, SUBACUTE, day(200))

    assert not result.eligible
    assert codes(result) == [
        "malignancy_history",
        "transected_cord",
        "asia_grade",
        "outside_window",
        "outside_window",
    ]


def test_invalid_date_is_returned_with_the_other_reasons() -> None:
    result = eligibility(patient(malignancy_history=True), SUBACUTE, day(-5))

    assert codes(result) == ["malignancy_history", "invalid_date"]


# Window edges


@pytest.mark.parametrize(("n", "eligible"), [(0, True), (31, True), (32, False)])
def test_subacute_harvest_window_edge(n: int, eligible: bool) -> None:
    assert eligibility(patient(), SUBACUTE, day(n)).eligible is eligible


@pytest.mark.parametrize(("n", "blocked"), [(180, False), (181, True)])
def test_infusion_window_closing_edge(n: int, blocked: bool) -> None:
    # Harvest open, infusion 31-180: only the infusion window can close.
    rules = ProtocolRules("T", ("B",), 0, None, 31, 180)

    result = eligibility(patient(), rules, day(n))

    assert codes(result) == (["outside_window"] if blocked else [])


def test_chronic_windows_never_close() -> None:
    assert eligibility(patient(), CHRONIC, day(20_000)).eligible


# Helpers


def test_day_after_injury_counts_whole_days() -> None:
    assert day_after_injury(INJURY, INJURY) == 0
    assert day_after_injury(INJURY, day(31)) == 31
    assert day_after_injury(INJURY, day(-3)) == -3


def test_day_after_injury_accepts_a_datetime_by_its_date() -> None:
    assert day_after_injury(INJURY, datetime(2025, 2, 10, 23, 59)) == 31


@pytest.mark.parametrize(("n", "inside"), [(-1, False), (0, True), (31, True), (32, False)])
def test_harvest_window_for_a_collection(n: int, inside: bool) -> None:
    blocker = in_harvest_window(patient(), SUBACUTE, day(n))

    assert (blocker is None) is inside
    if blocker:
        assert blocker.code == "outside_window"
        assert "harvest window of SCI-SUBACUTE-IV (day 0 to day 31)" in blocker.english


def test_chronic_harvest_window_is_open_ended() -> None:
    assert in_harvest_window(patient(), CHRONIC, day(5_000)) is None


@pytest.mark.parametrize(("n", "inside"), [(30, False), (31, True), (180, True), (181, False)])
def test_subacute_infusion_window(n: int, inside: bool) -> None:
    blocker = in_infusion_window(patient(), SUBACUTE, day(n))

    assert (blocker is None) is inside
    if blocker:
        assert blocker.code == "outside_window"
        assert f"Day {n} after injury is outside the infusion window" in blocker.english


def test_chronic_infusion_window_starts_on_day_181() -> None:
    assert in_infusion_window(patient(), CHRONIC, day(180)) is not None
    assert in_infusion_window(patient(), CHRONIC, day(181)) is None
    blocker = in_infusion_window(patient(), CHRONIC, day(10))
    assert blocker is not None
    assert "(day 181 onwards)" in blocker.english


def test_infusion_window_dates() -> None:
    assert infusion_window_dates(patient(), SUBACUTE) == (date(2025, 2, 10), date(2025, 7, 9))
    assert infusion_window_dates(patient(), CHRONIC) == (date(2025, 7, 10), None)


# Shapes


def test_as_dict_shape() -> None:
    result = eligibility(patient(asia_grade="E"), SUBACUTE, day(40))

    assert result.as_dict() == {
        "eligible": False,
        "reasons": [
            {"code": "asia_grade", "detail": result.blockers[0].english},
            {"code": "outside_window", "detail": result.blockers[1].english},
        ],
    }


def test_as_dict_when_eligible() -> None:
    assert eligibility(patient(), SUBACUTE, day(1)).as_dict() == {"eligible": True, "reasons": []}


def test_protocol_rules_of_reads_any_object() -> None:
    row = SimpleNamespace(
        code="SCI-SUBACUTE-IV",
        version=1,
        asia_grades=["A", "B", "C"],
        harvest_window_start_day=0,
        harvest_window_end_day=31,
        infusion_window_start_day=31,
        infusion_window_end_day=180,
    )

    assert ProtocolRules.of(row) == SUBACUTE


def test_patient_facts_of_reads_any_object() -> None:
    row = SimpleNamespace(
        code="P-001",
        injury_date=INJURY,
        asia_grade="B",
        injury_type="contusion",
        malignancy_history=False,
        weight_kg=Decimal("70.0"),
    )

    assert PatientFacts.of(row) == patient()
