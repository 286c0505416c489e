"""The storage screens: the tank map shows occupied and free positions; store, move, remove, thaw by scan."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from storage.models import DoseUnit, Placement, Thaw
from tests.factories import PASSWORD
from tests.storage.conftest import build_tank, frozen_batch, store

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_tank_map_shows_occupied_and_free_positions(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    store(units[0], tank.unit_positions.get(label="A2"), staff)
    page = signed_in(staff.qa).get("/storage/LN2-01/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('<td class="slot occupied"') == 1 and html.count('<td class="slot free"') == 5
    assert units[0].code in html


def test_store_move_remove_and_thaw_by_scan(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    client = signed_in(staff.tech)
    a1, b1 = (tank.unit_positions.get(label=label).code for label in ("A1", "B1"))
    assert (
        client.post(
            "/storage/LN2-01/store/", {"store-scanned_unit": units[0].label, "store-scanned_position": a1}
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/storage/LN2-01/move/", {"move-scanned_unit": units[0].label, "move-scanned_position": b1}
        ).status_code
        == 302
    )
    assert Placement.objects.get(unit=units[0], removed_at__isnull=True).position.code == b1
    removal = {"remove-scanned_unit": units[0].label, "remove-purpose": "thaw", "remove-verifier": staff.tech2.username,
               "remove-verifier_password": PASSWORD}  # fmt: skip
    assert client.post("/storage/LN2-01/remove/", removal).status_code == 302
    thaw = {
        "thaw-scanned_unit": units[0].label,
        "thaw-method": "37 °C water bath",
        "thaw-viability_pct": "91",
    }
    assert client.post("/storage/LN2-01/thaw/", thaw).status_code == 302
    assert Thaw.objects.get().unit_id == units[0].pk
    again = client.post(
        "/storage/LN2-01/store/", {"store-scanned_unit": units[0].label, "store-scanned_position": a1}
    )
    assert again.status_code == 422 and "never stored again" in again.content.decode()


def test_a_removal_verified_by_oneself_is_refused_on_the_form_and_changes_nothing(staff):
    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    store(units[0], tank.unit_positions.get(label="A1"), staff)
    response = signed_in(staff.tech).post("/storage/LN2-01/remove/", {
        "remove-scanned_unit": units[0].label, "remove-purpose": "thaw", "remove-verifier": staff.tech.username,
        "remove-verifier_password": PASSWORD,
    })  # fmt: skip
    assert response.status_code == 403 and "another person" in response.content.decode()
    assert DoseUnit.objects.get(pk=units[0].pk).status == "stored"


def test_the_storage_list_costs_the_same_queries_for_one_tank_and_for_four(staff):
    client = signed_in(staff.qa)
    build_tank(staff.tech, "LN2-01")
    client.get("/storage/")
    with CaptureQueriesContext(connection) as one:
        client.get("/storage/")
    for n in range(2, 5):
        build_tank(staff.tech, f"LN2-0{n}")
    with CaptureQueriesContext(connection) as four:
        assert client.get("/storage/").content.decode().count('href="/storage/LN2-0') == 4
    assert len(one) == len(four)


def test_seed_demo_has_a_tank_with_stored_doses_an_excursion_and_a_thawed_unit(db):
    from django.core.management import call_command

    from storage.models import Excursion, ExcursionHold

    call_command("seed_demo", quiet_logins=True)
    assert Placement.objects.filter(removed_at__isnull=True, storage_unit__code="LN2-01").count() == 1
    assert Placement.objects.filter(removed_at__isnull=True, storage_unit__code="LN2-02").count() == 2
    excursion = Excursion.objects.get(kind="temperature")
    assert excursion.storage_unit.code == "LN2-02" and excursion.ended_at is not None
    assert ExcursionHold.objects.filter(excursion=excursion).count() == 2
    assert Thaw.objects.get().unit.code.endswith("-1-B")
    assert not Excursion.objects.filter(kind="missing_reading").exists()


def test_qa_signs_an_excursion_assessment_on_the_storage_page(staff):
    from django.utils import timezone

    from monitoring.storage_sweeps import sweep_storage
    from storage.models import Excursion
    from storage.services import reading_record

    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    store(units[0], tank.unit_positions.get(label="A1"), staff, timezone.now() - timezone.timedelta(hours=2))
    reading_record(
        storage_unit=tank,
        taken_at=timezone.now() - timezone.timedelta(hours=1),
        temperature_c=-140,
        actor=staff.tech,
    )
    sweep_storage()
    excursion = Excursion.objects.get(kind="temperature")
    client = signed_in(staff.qa)
    assert "1 unit on hold" in client.get("/storage/").content.decode()
    form = {f"x{excursion.pk}-decision": "accept", f"x{excursion.pk}-assessment": "Within validated stability.",
            f"x{excursion.pk}-password": "wrong"}  # fmt: skip
    assert client.post(f"/storage/excursions/{excursion.pk}/assess/", form).status_code == 403
    form[f"x{excursion.pk}-password"] = PASSWORD
    assert client.post(f"/storage/excursions/{excursion.pk}/assess/", form).status_code == 302
    excursion.refresh_from_db()
    assert (excursion.decision, excursion.assessed_by) == ("accept", staff.qa)
    assert signed_in(staff.tech).post(f"/storage/excursions/{excursion.pk}/assess/", form).status_code == 403


def test_the_history_of_a_position_lists_every_unit_it_held(staff):
    from storage.services import unit_move

    tank = build_tank(staff.tech)
    _, units = frozen_batch(staff)
    a1 = tank.unit_positions.get(label="A1")
    store(units[0], a1, staff)
    unit_move(unit=units[0], scanned_unit=units[0].label, scanned_position=tank.unit_positions.get(label="A2").code,
              actor=staff.tech)  # fmt: skip
    store(units[1], a1, staff)
    html = signed_in(staff.qa).get(f"/storage/LN2-01/positions/{a1.code}/").content.decode()
    assert units[0].code in html and units[1].code in html and "still here" in html
    assert signed_in(staff.qa).get("/storage/LN2-01/positions/NOPE/").status_code == 404
