"""Whole flows driven over HTTP, shared by the API tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tests.api.conftest import API, HOUR


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def post(client: Any, path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    response = client.post(f"{API}{path}", body, format="json")
    assert response.status_code == expect, response.json()
    return response.json()  # type: ignore[no-any-return]


def register_and_process(
    clinic_client: Any, tech_client: Any, *, injured_days_ago: int = 10
) -> dict[str, Any]:
    """A clinic registers a patient, therapy and collections; the lab processes to formulation.

    Returns every response, by name, for the caller's assertions.
    """
    now = timezone.now()
    out: dict[str, Any] = {}
    out["patient"] = post(clinic_client, "/patients/", {
        "code": "KEIO-0042", "birth_year": 1988, "sex": "male", "weight_kg": 68.5,
        "injury_date": str(timezone.localdate() - dt.timedelta(days=injured_days_ago)), "injury_level": "C5",
        "asia_grade": "B", "injury_type": "contusion", "malignancy_history": False,
    })  # fmt: skip
    out["therapy"] = post(
        clinic_client, "/therapies/", {"patient": out["patient"]["id"], "protocol": "SCI-SUBACUTE-IV"}
    )
    coi = out["therapy"]["coi"]
    out["serum"] = post(clinic_client, "/collections/", {
        "therapy": coi, "kind": "peripheral_blood", "collected_at": iso(now - 30 * HOUR), "volume_ml": 240,
    })  # fmt: skip
    out["marrow"] = post(clinic_client, "/collections/", {
        "therapy": coi, "kind": "bone_marrow", "collected_at": iso(now - 24 * HOUR), "volume_ml": 30,
    })  # fmt: skip
    din = out["din"] = out["marrow"]["batch"]
    label = out["label"] = din + out["marrow"]["check_character"]
    out["transfer"] = post(tech_client, f"/batches/{din}/custody/", {
        "to_location": "RECEIVING-1", "temperature_c": 4.0, "seal_intact": True, "scanned_identifier": label,
        "performed_at": iso(now - 21 * HOUR),
    })  # fmt: skip
    steps = [
        {"kind": "receipt", "temperature_c": 20, "seal_intact": True, "performed_at": iso(now - 20 * HOUR)},
        {"kind": "seeding", "seeded_cells": 20_000_000, "medium_lot": "M-1", "serum_collection": out["serum"]["din"],
         "performed_at": iso(now - 19 * HOUR)},
        {"kind": "cell_count", "viable_cells": 40_000_000, "viability_pct": 95, "confluence_pct": 70,
         "performed_at": iso(now - 10 * HOUR)},
        {"kind": "harvest", "viable_cells": 150_000_000, "viability_pct": 93, "performed_at": iso(now - 2 * HOUR)},
        {"kind": "formulation", "doses": 1, "cells_per_dose": 100_000_000, "volume_ml_per_dose": 50},
    ]  # fmt: skip
    out["steps"] = [
        post(tech_client, f"/batches/{din}/steps/", {**s, "scanned_identifier": label}) for s in steps
    ]
    return out
