"""Pure storage rules: the CSV reading format, temperature ranges, the post-thaw window. No Django.

The reading import format (documented here and in ``docs/storage.md``): UTF-8
text (a byte-order mark is allowed), comma-separated, a header line first:

    storage_unit,taken_at,temperature_c
    LN2-01,2026-12-01T08:00:00+09:00,-185.2

* ``storage_unit``: the code of a tank or freezer, as on its label;
* ``taken_at``: ISO 8601 date and time *with* its UTC offset (``Z`` allowed);
* ``temperature_c``: degrees Celsius, a decimal point, at most one decimal.

Blank lines are skipped. Any malformed line refuses the whole file: every
error is reported with its line number and nothing is imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.errors import Blocker
from core.i18n import N_

HEADER = ("storage_unit", "taken_at", "temperature_c")
MAX_ROWS = 100_000
MIN_C, MAX_C = Decimal("-273.1"), Decimal("100.0")


@dataclass(frozen=True)
class ReadingRow:
    line: int
    storage_unit: str
    taken_at: dt.datetime
    temperature_c: Decimal


def parse_readings_csv(text: str) -> tuple[list[ReadingRow], list[Blocker]]:
    """The well-formed rows of a reading file and every error with its line number.

    The caller imports nothing when there is any error; the good rows are
    returned too so that it can check them further and report everything at once.
    """
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or tuple(h.strip().lower() for h in next(csv.reader([lines[0]]), [])) != HEADER:
        return [], [
            Blocker("csv_header", N_("Line 1: the header must be %(header)s."), {"header": ",".join(HEADER)})
        ]
    if len(lines) - 1 > MAX_ROWS:
        return [], [
            Blocker("csv_too_long", N_("The file has more than %(max)s readings."), {"max": MAX_ROWS})
        ]
    rows, errors = [], []
    for number, fields in enumerate(csv.reader(io.StringIO("\n".join(lines[1:]))), start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        row, problem = _row(number, fields)
        if problem:
            errors.append(problem)
        elif row:
            rows.append(row)
    if not rows and not errors:
        errors.append(Blocker("csv_empty", N_("The file has no readings.")))
    return rows, errors


def _row(number: int, fields: list[str]) -> tuple[ReadingRow | None, Blocker | None]:
    if len(fields) != len(HEADER):
        return None, Blocker(
            "csv_fields",
            N_("Line %(line)s: %(count)s fields; expected 3."),
            {"line": number, "count": len(fields)},
        )
    code, when, value = (f.strip() for f in fields)
    if not code:
        return None, Blocker("csv_unit", N_("Line %(line)s: the storage unit is missing."), {"line": number})
    if not (code.isascii() and code.isprintable() and len(code) <= 32):
        return None, Blocker("csv_unit", N_("Line %(line)s: '%(code)s' is not a storage unit code."),
                             {"line": number, "code": code[:32].encode("ascii", "backslashreplace").decode()})  # fmt: skip
    taken_at = _when(when)
    if taken_at is None:
        return None, Blocker(
            "csv_time",
            N_("Line %(line)s: '%(value)s' is not a date and time with its UTC offset (ISO 8601)."),
            {"line": number, "value": when[:40]},
        )
    temperature = _temperature(value)
    if temperature is None:
        return None, Blocker(
            "csv_temperature",
            N_("Line %(line)s: '%(value)s' is not a temperature in °C with at most one decimal."),
            {"line": number, "value": value[:40]},
        )
    return ReadingRow(number, code, taken_at, temperature), None


def _when(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _temperature(text: str) -> Decimal | None:
    if not text.isascii():
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value.as_tuple().exponent < -1 or not MIN_C <= value <= MAX_C:  # type: ignore[operator]
        return None
    return value


def in_range(temperature: Decimal, low: Decimal | None, high: Decimal | None) -> bool:
    return (low is None or temperature >= low) and (high is None or temperature <= high)


def thaw_deadline(thawed_at: dt.datetime, window_hours: int) -> dt.datetime:
    """When a thawed unit must have been infused: the protocol's post-thaw window after the thaw."""
    return thawed_at + dt.timedelta(hours=window_hours)
