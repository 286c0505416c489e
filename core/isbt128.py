"""ISBT 128 identifiers: the Donation Identification Number and its check character.

DIN (ST-001 section 2.4.1): 13 characters ``αppppyynnnnnn`` - the Facility
Identification Number (α in A-N, P-Z or 1-9, then four digits), a two-digit
year and a six-digit sequence. The keyboard check character K (ST-001
Appendix A) is ISO/IEC 7064 Mod 37-2 over those 13 characters; it is printed
beside the DIN and validated wherever a person types or scans one.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
DIN_PATTERN = re.compile(r"^[A-NP-Z1-9][0-9]{4}[0-9]{2}[0-9]{6}$")
FIN_PATTERN = re.compile(r"^[A-NP-Z1-9][0-9]{4}$")


def check_character(din: str) -> str:
    """The keyboard check character K of a 13-character DIN (ISO/IEC 7064 Mod 37-2)."""
    din = din.upper()
    if not DIN_PATTERN.fullmatch(din):  # fullmatch: "$" would let a trailing newline through
        raise ValueError(_shape_message(din))
    total = 0
    for char in din:
        total = ((total + ALPHABET.index(char)) * 2) % 37
    return ALPHABET[(38 - total) % 37]


def validate(identifier: str) -> str:
    """Return the 13-character DIN of a typed or scanned identifier, or raise ValueError.

    Kept for callers that want only the DIN; ``core.scan.parse_din`` is the
    parser (its ``ScanError`` is a ValueError).
    """
    from core import scan  # scan builds on this module

    return scan.parse_din(identifier).din


def format_din(fin: str, year: int, sequence: int) -> str:
    """Build a DIN from its parts: ``format_din("A9999", 2026, 1) == "A999926000001"``."""
    if not FIN_PATTERN.match(fin):
        raise ValueError(
            f"'{fin}' is not a Facility Identification Number (a letter or digit, then 4 digits)."
        )
    if not 1 <= sequence <= 999_999:
        raise ValueError(f"DIN sequence {sequence} is outside 1-999999.")
    return f"{fin}{year % 100:02d}{sequence:06d}"


def format_coi(fin: str, year: int, sequence: int) -> str:
    """Chain of Identity identifier (ST-028): ``CH`` + FIN + yy + 6-character sequence."""
    if not FIN_PATTERN.match(fin):
        raise ValueError(f"'{fin}' is not a Facility Identification Number.")
    if not 1 <= sequence <= 999_999:
        raise ValueError(f"COI sequence {sequence} is outside 1-999999.")
    return f"CH{fin}{year % 100:02d}{sequence:06d}"


def _shape_message(din: str) -> str:
    if len(din) != 13:
        return f"'{din}' has {len(din)} characters; a DIN has 13."
    if not FIN_PATTERN.fullmatch(din[:5]):
        return f"'{din}' does not start with a Facility Identification Number (e.g. A9999)."
    return f"'{din}' must end in 8 digits (year and sequence)."
