"""The storage temperature record: by hand, and CSV from the monitoring system (all rows or none)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import DomainError, NotPermitted
from storage.models import ReadingImport, TemperatureReading
from storage.services import reading_record, readings_import
from tests.storage.conftest import build_tank

pytestmark = pytest.mark.django_db


def _csv(*lines: str) -> str:
    return "\n".join(["storage_unit,taken_at,temperature_c", *lines]) + "\n"


def test_a_reading_is_entered_by_hand(staff):
    tank = build_tank(staff.tech)
    reading = reading_record(
        storage_unit=tank, taken_at=timezone.now(), temperature_c=Decimal("-186.4"), actor=staff.tech
    )
    assert reading.source == "manual" and reading.recorded_by == staff.tech


def test_a_well_formed_file_is_imported_in_full(staff):
    build_tank(staff.tech, "LN2-01")
    build_tank(staff.tech, "LN2-02")
    text = "\ufeff" + _csv(
        "LN2-01,2026-12-01T08:00:00+09:00,-185.2",
        "",
        "ln2-02,2026-12-01T08:00:00Z,-190",
        "LN2-01,2026-12-01T09:00:00+09:00,-184.9",
    )
    record = readings_import(text=text, filename="export.csv", actor=staff.tech)
    assert record.rows == 3 and TemperatureReading.objects.filter(imported=record).count() == 3
    first = TemperatureReading.objects.filter(storage_unit__code="LN2-01").order_by("taken_at").first()
    assert first.taken_at == dt.datetime(2026, 11, 30, 23, tzinfo=dt.UTC) and first.temperature_c == Decimal(
        "-185.2"
    )


def test_a_malformed_file_is_refused_with_line_numbers_and_changes_nothing(staff):
    build_tank(staff.tech, "LN2-01")
    readings_import(text=_csv("LN2-01,2026-12-01T08:00:00+09:00,-185.2"), filename="ok.csv", actor=staff.tech)
    before = (TemperatureReading.objects.count(), ReadingImport.objects.count())
    text = _csv(
        "LN2-01,2026-12-01T09:00:00+09:00,-185.0",  # line 2: fine
        "LN2-01,2026-12-01 10:00,-185.0",  # line 3: no UTC offset
        "LN2-01,2026-12-01T11:00:00+09:00,cold",  # line 4: not a number
        "LN2-01,2026-12-01T12:00:00+09:00",  # line 5: a field missing
        "LN2-99,2026-12-01T13:00:00+09:00,-185.0",  # line 6: no such tank
        "LN2-01,2026-12-01T14:00:00+09:00,-185.25",  # line 7: two decimals
    )
    with pytest.raises(DomainError) as refused:
        readings_import(text=text, filename="bad.csv", actor=staff.tech)
    lines = [b.params["line"] for b in refused.value.blockers]
    assert lines == [3, 4, 5, 6, 7]
    assert [b.code for b in refused.value.blockers] == [
        "csv_time",
        "csv_temperature",
        "csv_fields",
        "csv_unit",
        "csv_temperature",
    ]
    assert (
        refused.value.blockers[0].english
        == "Line 3: '2026-12-01 10:00' is not a date and time with its UTC offset (ISO 8601)."
    )
    assert (TemperatureReading.objects.count(), ReadingImport.objects.count()) == before


def test_a_file_without_the_header_is_refused_at_line_one(staff):
    build_tank(staff.tech)
    with pytest.raises(DomainError) as refused:
        readings_import(text="LN2-01,2026-12-01T08:00:00+09:00,-185.2\n", filename="x.csv", actor=staff.tech)
    assert [(b.code, b.params) for b in refused.value.blockers] == [
        ("csv_header", {"header": "storage_unit,taken_at,temperature_c"})
    ]
    assert not TemperatureReading.objects.exists()


def test_a_reading_in_the_future_is_refused(staff):
    tank = build_tank(staff.tech)
    with pytest.raises(DomainError):
        reading_record(storage_unit=tank, taken_at=timezone.now() + dt.timedelta(hours=1), temperature_c=Decimal("-180"),
                       actor=staff.tech)  # fmt: skip
    assert not TemperatureReading.objects.exists()


def test_clinic_coordinators_do_not_record_storage_temperatures(staff):
    from tests.factories import ClinicFactory, coordinator_of

    tank = build_tank(staff.tech)
    with pytest.raises(NotPermitted):
        reading_record(storage_unit=tank, taken_at=timezone.now(), temperature_c=Decimal("-180"),
                       actor=coordinator_of(ClinicFactory()))  # fmt: skip


def test_refusals_read_in_japanese(staff):
    from django.utils import translation

    build_tank(staff.tech)
    with pytest.raises(DomainError) as refused:
        readings_import(text=_csv("LN2-01,soon,-185.0"), filename="x.csv", actor=staff.tech)
    with translation.override("ja"):
        assert (
            refused.value.blockers[0].message
            == "2行目: 'soon' は UTC オフセット付きの日時 (ISO 8601) ではありません。"
        )
