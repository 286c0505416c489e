"""ISBT 128 DIN and keyboard check character: pure rules, no database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core import isbt128

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
FIN_FIRST = "ABCDEFGHIJKLMNPQRSTUVWXYZ123456789"  # α: A-N, P-Z, 1-9 (no O, no 0)


@pytest.mark.parametrize(
    ("din", "expected"),
    [("G123417654321", "A"), ("A999921123456", "3"), ("A999915000001", "M")],
)
def test_check_character_matches_published_examples(din: str, expected: str) -> None:
    assert isbt128.check_character(din) == expected


def test_check_character_accepts_lower_case() -> None:
    assert isbt128.check_character("g123417654321") == "A"


@pytest.mark.parametrize("din", ["A99992112345", "O999921123456", "0999921123456", "A9999211234X6"])
def test_check_character_refuses_a_malformed_din(din: str) -> None:
    with pytest.raises(ValueError):
        isbt128.check_character(din)


@pytest.mark.parametrize(
    "typed",
    [
        "A999921123456",
        "A9999211234563",
        "a9999211234563",
        "=A9999211234563",
        "=A999921123456",
        " A9999 21 123456 3 ",
        "g123417654321a",
    ],
)
def test_validate_accepts_a_din_as_typed_or_scanned(typed: str) -> None:
    assert isbt128.validate(typed) in {"A999921123456", "G123417654321"}


def test_validate_returns_the_13_character_din_in_upper_case() -> None:
    assert isbt128.validate("=g123417654321a") == "G123417654321"


def test_validate_refuses_a_wrong_check_character_naming_the_expected_one() -> None:
    with pytest.raises(ValueError, match=r"expected '3'") as excinfo:
        isbt128.validate("A9999211234564")
    assert "A999921123456" in str(excinfo.value)


@pytest.mark.parametrize("typed", ["", "A99992112345", "A99992112345634", "A999921123456345"])
def test_validate_refuses_a_wrong_length_saying_how_many_characters(typed: str) -> None:
    with pytest.raises(ValueError, match="a DIN has 13"):
        isbt128.validate(typed)


@pytest.mark.parametrize("typed", ["O999921123456", "0999921123456", "AA99921123456", "*999921123456"])
def test_validate_refuses_a_din_without_a_facility_number(typed: str) -> None:
    with pytest.raises(ValueError, match="Facility Identification Number"):
        isbt128.validate(typed)


def test_validate_refuses_letters_in_year_or_sequence() -> None:
    with pytest.raises(ValueError, match="8 digits"):
        isbt128.validate("A9999211234A6")


def test_format_din_builds_fin_two_digit_year_and_six_digit_sequence() -> None:
    assert isbt128.format_din("A9999", 2026, 1) == "A999926000001"
    assert isbt128.format_din("G1234", 2017, 654_321) == "G123417654321"
    assert isbt128.format_din("A9999", 2100, 999_999) == "A999900999999"


def test_format_coi_prefixes_ch_to_fin_year_and_sequence() -> None:
    assert isbt128.format_coi("A9999", 2026, 42) == "CHA999926000042"
    assert len(isbt128.format_coi("A9999", 2026, 42)) == 15


@pytest.mark.parametrize("formatter", [isbt128.format_din, isbt128.format_coi])
@pytest.mark.parametrize("sequence", [0, -1, 1_000_000])
def test_formatters_refuse_a_sequence_outside_one_to_999999(
    formatter: Callable[[str, int, int], str], sequence: int
) -> None:
    with pytest.raises(ValueError, match="outside 1-999999"):
        formatter("A9999", 2026, sequence)


@pytest.mark.parametrize("formatter", [isbt128.format_din, isbt128.format_coi])
@pytest.mark.parametrize("fin", ["O9999", "09999", "A999", "A99999", "AB999", "a9999"])
def test_formatters_refuse_a_malformed_facility_number(
    formatter: Callable[[str, int, int], str], fin: str
) -> None:
    with pytest.raises(ValueError, match="Facility Identification Number"):
        formatter(fin, 2026, 1)


valid_dins = st.builds(
    lambda first, fin_digits, year, sequence: f"{first}{fin_digits}{year}{sequence}",
    st.sampled_from(FIN_FIRST),
    st.text("0123456789", min_size=4, max_size=4),
    st.text("0123456789", min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
)


@given(valid_dins)
def test_any_valid_din_with_its_check_character_validates_to_itself(din: str) -> None:
    assert isbt128.validate(din + isbt128.check_character(din)) == din


@given(valid_dins)
def test_every_single_character_substitution_of_din_and_check_character_is_refused(din: str) -> None:
    labelled = din + isbt128.check_character(din)
    for position, original in enumerate(labelled):
        for replacement in ALPHABET:
            if replacement == original:
                continue
            mistyped = labelled[:position] + replacement + labelled[position + 1 :]
            # Either the shape is wrong, or it still looks like a DIN and K catches it.
            with pytest.raises(ValueError):
                isbt128.validate(mistyped)


# Positions 1-12 are digits, so a digit typed there keeps the DIN's shape: only K can catch it.
@given(valid_dins, st.integers(1, 12), st.sampled_from("0123456789"))
def test_a_digit_mistyped_as_another_digit_is_caught_by_the_check_character(
    din: str, position: int, digit: str
) -> None:
    labelled = din + isbt128.check_character(din)
    assume(labelled[position] != digit)
    mistyped = labelled[:position] + digit + labelled[position + 1 :]
    with pytest.raises(ValueError, match="Check character"):
        isbt128.validate(mistyped)


def test_barcode_data_with_data_identifier_and_flags_is_accepted():
    assert isbt128.validate("=A99992612345600") == "A999926123456"
    with pytest.raises(ValueError):
        isbt128.validate("=O99992612345600")  # not a FIN
