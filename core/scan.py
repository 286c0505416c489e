"""The one parser of identifiers a person typed or a scanner sent: DIN, dose label, COI.

Every interface (API fields and URL segments, web forms, bench and bedside
services, FHIR) reads identifiers through this module, so one identifier is
accepted or refused the same way everywhere. The input is ASCII only: a
superscript two or an Arabic-Indic one is a digit to ``str.isdigit()`` and to
``int()``, never to a label printer, so any non-ASCII character is refused
before anything else looks at the text. Patterns are explicit character
classes and are matched in full; ``int()`` only ever sees ASCII digits.

Forms read (after stripping outer whitespace and inner spaces, upper-cased):

- ``DIN`` (13) or ``DIN`` + K (14), optionally after the ISBT 128 data
  identifier ``=``;
- the ISBT 128 barcode data ``=`` + DIN + 2 flag characters (16). Flags 60-96
  carry the check character (ST-001 flag type 2: 60 + K's value) and are
  checked; other flags are process-control values and are kept as read;
- a dose label ``DIN`` [K] ``-`` n;
- a Chain of Identity identifier ``CH`` + FIN + yy + 6-character sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core import isbt128
from core.errors import Blocker
from core.i18n import N_, render, render_english, term

# Longer than any form above with generous spacing; longer input is not a scan.
MAX_LENGTH = 40

_DIN = r"[A-NP-Z1-9][0-9]{12}"
_K = r"[0-9A-Z*]"
_BARCODE = re.compile(rf"=(?P<din>{_DIN})(?P<flags>[0-9A-Z]{{2}})")
_DIN_FORM = re.compile(rf"=?(?P<din>{_DIN})(?P<k>{_K})?")
_DOSE_FORM = re.compile(rf"(?P<din>{_DIN})(?P<k>{_K})?-(?P<number>[1-9][0-9]{{0,2}})")
_UNIT_FORM = re.compile(rf"(?P<din>{_DIN})(?P<k>{_K})?-(?P<number>[1-9][0-9]{{0,2}})-(?P<unit>[A-Z])")
_COI_FORM = re.compile(r"CH[A-NP-Z1-9][0-9]{4}[0-9]{2}[0-9A-Z]{6}")
_SHAPE = re.compile(r"[0-9A-Z*=\-]*")
# ST-001 flag type 2: the check character's value (0-36) plus 60.
_CHECK_FLAGS = range(60, 97)


class ScanKind(StrEnum):
    DIN = "din"
    DOSE = "dose"
    UNIT = "unit"
    COI = "coi"


@dataclass(frozen=True)
class Scan:
    """An identifier read and validated: ``text`` is its normalised form, the one stored."""

    kind: ScanKind
    text: str
    din: str = ""
    check_character: str | None = None  # as read (K, or from check flags); None when not given
    dose_number: int | None = None
    coi: str = ""
    unit_suffix: str = ""  # a frozen unit of a dose: A, B, ...


class ScanError(ValueError):
    """An identifier refused, with a ``code`` for machines and a message for the technician.

    ``detail`` is the English template and ``params`` its values (see ``core.i18n``);
    ``message`` renders it in the active language, ``english`` without translation.
    """

    def __init__(self, code: str, detail: str, params: dict[str, object] | None = None) -> None:
        self.code = code
        self.detail = detail
        self.params = params or {}
        super().__init__(self.english)

    @property
    def message(self) -> str:
        return render(self.detail, self.params)

    @property
    def english(self) -> str:
        return render_english(self.detail, self.params)

    def blocker(self, code: str | None = None) -> Blocker:
        """The same refusal as a blocker (``code`` defaults to the scan's own)."""
        return Blocker(code or self.code, self.detail, self.params)


_DIN_HINT = N_("a DIN has 13 characters, or 14 with its check character")


def normalise(raw: object, hint: str = _DIN_HINT) -> str:
    """The text of an identifier as compared: bounded, ASCII, no spaces, upper case; or ScanError."""
    if not isinstance(raw, str):
        raise ScanError("malformed", N_("An identifier is text."))
    if len(raw) > MAX_LENGTH:
        raise ScanError(
            "too_long",
            N_("The identifier has %(length)s characters; no label has more than %(most)s."),
            {"length": len(raw), "most": MAX_LENGTH},
        )
    if not raw.isascii():
        shown = raw.encode("ascii", "backslashreplace").decode()
        raise ScanError(
            "not_ascii",
            N_(
                "'%(text)s' contains characters that are not on any label (only A-Z, 0-9, '*', '=', '-'): "
                "scan or type it again."
            ),
            {"text": shown},
        )
    text = raw.strip().replace(" ", "").upper()
    if not text:
        raise ScanError("empty", N_("No identifier was scanned or typed; %(hint)s."), {"hint": term(hint)})
    if not _SHAPE.fullmatch(text):
        raise ScanError(
            "malformed",
            N_("'%(text)s' contains characters that are not on any label (only A-Z, 0-9, '*', '=', '-')."),
            {"text": text},
        )
    return text


def parse_din(raw: object, *, require_check: bool = False) -> Scan:
    """A batch or collection label: the DIN with K, the barcode data, or (unless ``require_check``) the DIN.

    ``require_check`` is for scans at the bench: a person naming a physical
    item gives K (or the barcode, whose own check digit protects it).
    """
    text = normalise(raw)
    barcode = _BARCODE.fullmatch(text)
    if barcode:
        return _from_barcode(text, barcode.group("din"), barcode.group("flags"))
    found = _DIN_FORM.fullmatch(text)
    if not found:
        raise ScanError(
            "malformed", _din_shape_message(text), {"text": text, "length": len(text.lstrip("="))}
        )
    din, given = found.group("din"), found.group("k")
    if given is None and require_check:
        raise ScanError(
            "check_character_missing",
            N_("Scan '%(text)s' must be the DIN with its check character (14 characters)."),
            {"text": text},
        )
    _check(din, given)
    return Scan(ScanKind.DIN, text, din=din, check_character=given)


def parse_dose(raw: object, *, require_check: bool = False) -> Scan:
    """A dose label or dose identifier: DIN (with K when ``require_check``), '-', dose number 1-999."""
    text = normalise(raw, N_("a dose label is the DIN, its check character, '-' and the dose number"))
    found = _DOSE_FORM.fullmatch(text)
    if not found:
        raise ScanError(
            "malformed",
            N_("'%(text)s' is not a dose label (DIN with its check character, '-', dose number)."),
            {"text": text},
        )
    din, given = found.group("din"), found.group("k")
    if given is None and require_check:
        raise ScanError(
            "check_character_missing",
            N_("Dose label '%(text)s' needs the check character after the DIN (DIN, K, '-', dose number)."),
            {"text": text},
        )
    _check(din, given)
    number = int(found.group("number"))  # ASCII digits: the pattern says so
    return Scan(ScanKind.DOSE, text, din=din, check_character=given, dose_number=number)


def parse_unit(raw: object, *, require_check: bool = False) -> Scan:
    """A frozen unit's label: a dose label, '-' and the unit suffix (one letter), e.g. ``A999926000001M-1-A``."""
    text = normalise(
        raw, N_("a unit label is the DIN, its check character, '-', the dose number, '-', the unit letter")
    )
    found = _UNIT_FORM.fullmatch(text)
    if not found:
        raise ScanError(
            "malformed",
            N_(
                "'%(text)s' is not a unit label (DIN with its check character, '-', dose number, '-', unit letter)."
            ),
            {"text": text},
        )
    din, given = found.group("din"), found.group("k")
    if given is None and require_check:
        raise ScanError(
            "check_character_missing",
            N_(
                "Unit label '%(text)s' needs the check character after the DIN (DIN, K, '-', dose, '-', unit)."
            ),
            {"text": text},
        )
    _check(din, given)
    number = int(found.group("number"))  # ASCII digits: the pattern says so
    return Scan(
        ScanKind.UNIT,
        text,
        din=din,
        check_character=given,
        dose_number=number,
        unit_suffix=found.group("unit"),
    )


def parse_coi(raw: object) -> Scan:
    """A Chain of Identity identifier: ``CH`` + FIN + yy + 6-character sequence."""
    text = normalise(raw, N_("a Chain of Identity identifier starts with 'CH'"))
    if not _COI_FORM.fullmatch(text):
        raise ScanError(
            "malformed",
            N_(
                "'%(text)s' is not a Chain of Identity identifier ('CH', facility number, year, 6 characters)."
            ),
            {"text": text},
        )
    return Scan(ScanKind.COI, text, coi=text)


def _from_barcode(text: str, din: str, flags: str) -> Scan:
    given = None
    if flags.isdecimal() and int(flags) in _CHECK_FLAGS:  # ASCII only here: normalise said so
        given = isbt128.ALPHABET[int(flags) - 60]
        _check(din, given)
    return Scan(ScanKind.DIN, text, din=din, check_character=given)


def _check(din: str, given: str | None) -> None:
    expected = isbt128.check_character(din)
    if given is not None and given != expected:
        raise ScanError(
            "check_character",
            N_(
                "Check character '%(given)s' does not match DIN %(din)s (expected '%(expected)s'): "
                "the identifier was mistyped or misread. Scan or type it again."
            ),
            {"given": given, "din": din, "expected": expected},
        )


def _din_shape_message(text: str) -> str:
    """The template (parameters ``text`` and ``length``) saying what is wrong with a DIN's shape."""
    body = text[1:] if text.startswith("=") else text
    if "=" in body:
        return N_("'%(text)s' is not a label: the ISBT 128 data identifier '=' comes once, first.")
    if len(body) not in (13, 14):
        return N_("'%(text)s' has %(length)s characters; a DIN has 13, or 14 with its check character.")
    if not isbt128.FIN_PATTERN.fullmatch(body[:5]):
        return N_("'%(text)s' does not start with a Facility Identification Number (e.g. A9999).")
    return N_("'%(text)s' must have 8 digits (year and sequence) after the facility number.")
