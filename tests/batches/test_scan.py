"""The one scanned-identifier parser: pure rules, no database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import isbt128, scan
from core.scan import ScanError, ScanKind

DIN = "A999926000028"
K = isbt128.check_character(DIN)
LABEL = DIN + K
# Digits to str.isdigit() and int(), never on a label: superscripts, Arabic-Indic, fullwidth, Devanagari.
NON_ASCII_DIGITS = ["²", "١", "١٢", "１", "۳", "५", "𝟏"]


def _refused(code: str, raw: object, parse=scan.parse_din, **options: bool) -> ScanError:
    with pytest.raises(ScanError) as refused:
        parse(raw, **options)
    assert refused.value.code == code, refused.value.message
    return refused.value


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        (LABEL, LABEL),
        (f"  {LABEL.lower()}\r\n", LABEL),
        ("A9999 26 000028 " + K, LABEL),
        (DIN, DIN),
        (f"={LABEL}", f"={LABEL}"),
    ],
)
def test_a_din_as_typed_or_scanned_is_read_and_normalised(typed: str, text: str) -> None:
    read = scan.parse_din(typed)
    assert (read.kind, read.din, read.text) == (ScanKind.DIN, DIN, text)


def test_isbt128_barcode_data_with_flags_is_a_scan_with_its_check() -> None:
    read = scan.parse_din(f"={DIN}00", require_check=True)
    assert (read.din, read.text, read.check_character) == (DIN, f"={DIN}00", None)


def test_barcode_check_flags_carry_the_check_character_and_are_verified() -> None:
    flags = 60 + isbt128.ALPHABET.index(K)
    assert scan.parse_din(f"={DIN}{flags}").check_character == K
    wrong = 60 + (isbt128.ALPHABET.index(K) + 1) % 37
    _refused("check_character", f"={DIN}{wrong}")


def test_a_bench_scan_without_its_check_character_is_refused() -> None:
    error = _refused("check_character_missing", DIN, require_check=True)
    assert "14 characters" in error.message


def test_a_wrong_check_character_names_the_expected_one() -> None:
    wrong = "4" if K != "4" else "5"
    error = _refused("check_character", DIN + wrong)
    assert f"expected '{K}'" in error.message


@pytest.mark.parametrize("digit", NON_ASCII_DIGITS)
def test_non_ascii_digits_are_refused_in_a_dose_label(digit: str) -> None:
    error = _refused("not_ascii", f"{DIN}-{digit}", scan.parse_dose)
    assert "not on any label" in error.message


@pytest.mark.parametrize("digit", NON_ASCII_DIGITS)
def test_non_ascii_digits_are_refused_in_a_din(digit: str) -> None:
    _refused("not_ascii", DIN[:-1] + digit)
    _refused("not_ascii", LABEL + digit)


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2007"])
def test_non_ascii_padding_is_refused(space: str) -> None:
    _refused("not_ascii", f"{space}{LABEL}{space}")


def test_repeated_data_identifier_is_refused_not_stripped() -> None:
    error = _refused("malformed", f"======={LABEL}")
    assert "'=' comes once" in error.message


@pytest.mark.parametrize("raw", [LABEL + " " * 30, "=" * 41, "A" * 1000])
def test_input_longer_than_any_label_is_refused_before_parsing(raw: str) -> None:
    _refused("too_long", raw)


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_input_is_refused(raw: str) -> None:
    _refused("empty", raw)


@pytest.mark.parametrize("raw", [None, 14, ["A999926000028"]])
def test_anything_but_text_is_refused(raw: object) -> None:
    _refused("malformed", raw)


@pytest.mark.parametrize("raw", [f"{LABEL}\x00", f"{DIN}\n{K}", f"{LABEL}#", "A999926000028/3"])
def test_control_and_stray_ascii_characters_are_refused(raw: str) -> None:
    with pytest.raises(ScanError):
        scan.parse_din(raw)


def test_a_dose_label_gives_din_and_dose_number() -> None:
    read = scan.parse_dose(f" {LABEL.lower()} - 2 ", require_check=True)
    assert (read.kind, read.din, read.dose_number, read.text) == (ScanKind.DOSE, DIN, 2, f"{LABEL}-2")
    assert scan.parse_dose(f"{DIN}-1").dose_number == 1


@pytest.mark.parametrize(
    "raw", [f"{DIN}-0", f"{DIN}-01", f"{DIN}-1000", f"{DIN}-", f"{DIN}--1", f"{DIN}-1-2"]
)
def test_a_dose_number_outside_1_to_999_or_malformed_is_refused(raw: str) -> None:
    _refused("malformed", raw, scan.parse_dose)


def test_a_bedside_dose_label_needs_its_check_character() -> None:
    _refused("check_character_missing", f"{DIN}-1", scan.parse_dose, require_check=True)


def test_a_coi_is_read_and_a_malformed_one_refused() -> None:
    assert scan.parse_coi(" cha999926000042 ").coi == "CHA999926000042"
    _refused("malformed", "CHA99992600004", scan.parse_coi)
    _refused("malformed", DIN, scan.parse_coi)
    _refused("not_ascii", "CHA99992600004٢", scan.parse_coi)


def test_scan_errors_are_value_errors_so_isbt128_validate_keeps_its_contract() -> None:
    assert isbt128.validate(f"={DIN}00") == DIN
    with pytest.raises(ValueError):
        isbt128.validate(f"{DIN}-²")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_any_text_is_read_or_refused_with_a_scan_error_and_the_normalised_text_fits(raw: str) -> None:
    for parse in (scan.parse_din, scan.parse_dose, scan.parse_coi):
        try:
            read = parse(raw)
        except ScanError as error:
            assert error.code and error.message
        else:
            assert read.text.isascii() and len(read.text) <= 20
