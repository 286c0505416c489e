"""The storage temperature record: readings by hand or from the monitoring system's CSV export."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import audit_context
from core.clock import in_future, instant_error
from core.errors import Blocker, DomainError
from core.i18n import N_
from core.roles import Role, require_role
from storage.domain import MAX_C, MIN_C, parse_readings_csv
from storage.models import Container, ReadingImport, TemperatureReading

RECORDERS = (Role.TECHNICIAN, Role.QA)


def reading_record(
    *, storage_unit: Container, taken_at: dt.datetime, temperature_c: Decimal, actor: Any
) -> TemperatureReading:
    """One reading entered by hand. The background sweep judges it against the unit's range."""
    require_role(actor, *RECORDERS, action=N_("record storage temperatures"))
    blockers = _reading_blockers(storage_unit, taken_at, temperature_c, timezone.now())
    if blockers:
        raise DomainError(blockers)
    with transaction.atomic(), audit_context(actor=actor, reason="storage temperature recorded"):
        return TemperatureReading.objects.create(
            storage_unit=storage_unit, taken_at=taken_at, temperature_c=temperature_c,
            source=TemperatureReading.Source.MANUAL, recorded_by=actor,
        )  # fmt: skip


def _reading_blockers(unit: Container, at: dt.datetime, value: Decimal, now: dt.datetime) -> list[Blocker]:
    blockers = []
    if not unit.is_storage_unit:
        blockers.append(
            Blocker("not_storage_unit", N_("%(code)s is not a tank or freezer."), {"code": unit.code})
        )
    if in_future(at, now):
        blockers.append(Blocker("future_time", N_("The reading time lies in the future.")))
    elif instant_error(at):
        blockers.append(Blocker("invalid_date", N_("The reading time is not plausible.")))
    if not MIN_C <= value <= MAX_C:
        blockers.append(
            Blocker("temperature_range", N_("%(value)s °C is not a possible reading."), {"value": value})
        )
    return blockers


def readings_import(*, text: str, filename: str, actor: Any) -> ReadingImport:
    """Import a CSV file (format: ``storage.domain``): every row, or none with every error and its line.

    Rows are checked in full (format, known tank or freezer, not in the future)
    before anything is written; the file is then written in one statement.
    """
    require_role(actor, *RECORDERS, action=N_("import storage temperatures"))
    rows, errors = parse_readings_csv(text)
    units = {c.code: c for c in Container.objects.filter(code__in={r.storage_unit.upper() for r in rows})}
    now = timezone.now()
    for row in rows:
        unit = units.get(row.storage_unit.upper())
        if unit is None or not unit.is_storage_unit:
            errors.append(Blocker("csv_unit", N_("Line %(line)s: no tank or freezer '%(code)s'."),
                                  {"line": row.line, "code": row.storage_unit[:40]}))  # fmt: skip
        elif in_future(row.taken_at, now) or instant_error(row.taken_at):
            errors.append(Blocker("csv_time", N_("Line %(line)s: the reading time is in the future or not plausible."),
                                  {"line": row.line}))  # fmt: skip
    if errors:
        raise DomainError(sorted(errors, key=lambda b: b.params.get("line", 0)))
    with (
        transaction.atomic(),
        audit_context(actor=actor, reason=f"storage temperatures imported from {filename}"),
    ):
        record = ReadingImport.objects.create(
            filename=filename[:200],
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            rows=len(rows),
            imported_by=actor,
        )
        TemperatureReading.objects.bulk_create(
            TemperatureReading(storage_unit=units[r.storage_unit.upper()], taken_at=r.taken_at,
                               temperature_c=r.temperature_c, source=TemperatureReading.Source.IMPORT,
                               imported=record, recorded_by=actor)
            for r in rows
        )  # fmt: skip
    return record
