"""The storage API through URLs: units and positions, readings (JSON and CSV), store and thaw by scan."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.tokens import token_issue
from storage.models import Placement, TemperatureReading, Thaw
from tests.api.conftest import API, assert_problem, bearer
from tests.factories import ClinicFactory, coordinator_of
from tests.storage.conftest import build_tank, frozen_batch, remove, store

pytestmark = pytest.mark.django_db


def client_of(user) -> APIClient:
    _, key = token_issue(user=user)
    return bearer(key)


def test_units_list_shows_occupancy_and_free_positions(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    store(units[0], tank.unit_positions.get(label="A1"), staff)
    body = client_of(staff.tech).get(f"{API}/storage/units/").json()
    assert [(u["code"], u["positions"], u["occupied"], u["free"]) for u in body] == [("LN2-01", 6, 1, 5)]


def test_units_list_costs_the_same_queries_for_one_tank_and_for_five(staff):
    client = client_of(staff.tech)
    build_tank(staff.tech, "LN2-01")
    client.get(f"{API}/storage/units/")  # warm the token and role caches
    with CaptureQueriesContext(connection) as one:
        client.get(f"{API}/storage/units/")
    for n in range(2, 6):
        build_tank(staff.tech, f"LN2-0{n}")
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(f"{API}/storage/units/").json()) == 5
    assert len(one) == len(five)


def test_positions_name_the_unit_in_each_occupied_position(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    store(units[1], tank.unit_positions.get(label="B3"), staff)
    body = client_of(staff.qa).get(f"{API}/storage/units/ln2-01/positions").json()
    occupied = {p["code"]: p["unit"] for p in body if p["occupied"]}
    assert occupied == {"LN2-01-R1-B1-B3": units[1].code} and len(body) == 6
    assert_problem(client_of(staff.qa).get(f"{API}/storage/units/NOPE/positions"), 404)


def test_store_by_scan_then_a_second_unit_in_the_same_position_is_409(staff):
    tank = build_tank(staff.tech)
    batch, units = frozen_batch(staff)
    client = client_of(staff.tech)
    url = f"{API}/doses/{batch.din}-1/store"
    position = tank.unit_positions.get(label="A1").code
    created = client.post(url, {"position": position, "scanned_identifier": units[0].label}, format="json")
    assert created.status_code == 201 and created.json()["position"] == position
    refused = assert_problem(
        client.post(url, {"position": position, "scanned_identifier": units[1].label}, format="json"), 409
    )
    assert [b["code"] for b in refused["blockers"]] == ["position_occupied"]
    assert Placement.objects.count() == 1


def test_store_refuses_a_unit_of_another_dose(staff):
    build_tank(staff.tech)
    batch, _ = frozen_batch(staff)
    _, others = frozen_batch(staff)
    body = assert_problem(
        client_of(staff.tech).post(f"{API}/doses/{batch.din}-1/store",
                                   {"position": "LN2-01-R1-B1-A1", "scanned_identifier": others[0].label}, format="json"),
        409,
    )  # fmt: skip
    assert [b["code"] for b in body["blockers"]] == ["identity_mismatch"]


def test_a_coordinator_thaws_a_removed_unit_and_gets_the_deadline(staff):
    tank = build_tank(staff.tech)
    batch, units = frozen_batch(staff)
    store(units[0], tank.unit_positions.get(label="A1"), staff)
    remove(units[0], staff)
    client = client_of(coordinator_of(batch.therapy.patient.clinic))
    at = timezone.now().replace(microsecond=0)
    response = client.post(f"{API}/doses/{batch.din}-1/thaw", {"thawed_at": at.isoformat(), "scanned_identifier": units[0].label},
                           format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert dt.datetime.fromisoformat(response.json()["infuse_before"]) == at + dt.timedelta(hours=3)
    again = assert_problem(client.post(f"{API}/doses/{batch.din}-1/thaw",
                                       {"thawed_at": at.isoformat(), "scanned_identifier": units[0].label}, format="json"), 409)  # fmt: skip
    assert [b["code"] for b in again["blockers"]] == ["already_thawed"]
    assert Thaw.objects.count() == 1


def test_another_clinic_cannot_see_the_dose(staff):
    batch, units = frozen_batch(staff)
    other = client_of(coordinator_of(ClinicFactory(code="OTHER")))
    response = other.post(f"{API}/doses/{batch.din}-1/thaw", {"thawed_at": timezone.now().isoformat(),
                                                             "scanned_identifier": units[0].label}, format="json")  # fmt: skip
    assert_problem(response, 404)


def test_readings_by_json_and_by_csv_and_a_malformed_csv_changes_nothing(staff):
    build_tank(staff.tech)
    client = client_of(staff.tech)
    url = f"{API}/storage/units/LN2-01/readings"
    one = client.post(url, {"taken_at": timezone.now().isoformat(), "temperature_c": "-187.5"}, format="json")
    assert one.status_code == 201 and one.json()["source"] == "manual"
    good = "storage_unit,taken_at,temperature_c\nLN2-01,2026-12-01T08:00:00+09:00,-185.2\n"
    imported = client.generic("POST", url, good.encode(), content_type="text/csv")
    assert imported.status_code == 201 and imported.json()["rows"] == 1
    bad = "storage_unit,taken_at,temperature_c\nLN2-01,yesterday,-185.2\nLN2-01,2026-12-01T08:00:00+09:00\n"
    body = assert_problem(client.generic("POST", url, bad.encode(), content_type="text/csv"), 409)
    assert [(b["code"], b["detail"][:7]) for b in body["blockers"]] == [
        ("csv_time", "Line 2:"),
        ("csv_fields", "Line 3:"),
    ]
    assert TemperatureReading.objects.count() == 2
    assert_problem(client.post(url, {"taken_at": "soon", "temperature_c": "-187.5"}, format="json"), 400)


def test_coordinators_do_not_read_storage_or_store(staff):
    batch, units = frozen_batch(staff)
    coordinator = client_of(coordinator_of(batch.therapy.patient.clinic))
    assert_problem(coordinator.get(f"{API}/storage/units/"), 403)
    assert_problem(coordinator.post(f"{API}/doses/{batch.din}-1/store", {"position": "X", "scanned_identifier": units[0].label},
                                    format="json"), 403)  # fmt: skip


def test_fhir_shows_the_storage_temperature_of_a_stored_dose(staff):
    from decimal import Decimal

    from fhir.resources.biologicallyderivedproduct import BiologicallyDerivedProduct

    from storage.services import reading_record

    tank = build_tank(staff.tech)
    batch, units = frozen_batch(staff)
    store(units[0], tank.unit_positions.get(label="A1"), staff)
    reading_record(
        storage_unit=tank, taken_at=timezone.now(), temperature_c=Decimal("-187.5"), actor=staff.tech
    )
    resource = client_of(staff.qa).get(f"{API}/fhir/BiologicallyDerivedProduct/{batch.din}-1").json()
    BiologicallyDerivedProduct.model_validate(resource)
    storage = [p for p in resource["property"] if p["type"]["text"].startswith("Storage temperature")]
    assert storage[0]["valueRange"]["high"] == {
        "value": -150.0,
        "unit": "°C",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
    last = [p for p in resource["property"] if p["type"]["text"].startswith("Last storage temperature")]
    assert last[0]["valueQuantity"]["value"] == -187.5
