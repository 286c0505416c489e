"""The two reference protocols every installation starts with.

Numbers and their sources come from DOMAIN.md. They are data: a facility
changes them by adding a new protocol version (admin), never by editing code.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.audit import audit_context


def _qc_specifications(endotoxin_k_eu_per_kg: float) -> list[dict[str, Any]]:
    identity_positive = [
        {"test": marker, "kind": "min", "limit": 95.0, "unit": "% positive", "turnaround_days": 3}
        for marker in ("cd73", "cd90", "cd105")
    ]
    identity_negative = [
        {"test": marker, "kind": "max", "limit": 2.0, "unit": "% positive", "turnaround_days": 3}
        for marker in ("cd34", "cd45", "hla_dr")
    ]
    return [
        {"test": "viability", "kind": "min", "limit": 70.0, "unit": "%", "turnaround_days": 1},
        {"test": "viable_cell_count", "kind": "dose_range", "unit": "cells", "turnaround_days": 1},
        *identity_positive,
        *identity_negative,
        {"test": "sterility", "kind": "equals", "expected": "no_growth", "turnaround_days": 14},
        {"test": "mycoplasma", "kind": "equals", "expected": "negative", "turnaround_days": 3},
        {
            "test": "endotoxin",
            "kind": "endotoxin",
            "k_eu_per_kg": endotoxin_k_eu_per_kg,
            "unit": "EU/mL",
            "turnaround_days": 1,
        },
    ]


REFERENCE_PROTOCOLS: list[dict[str, Any]] = [
    {
        "code": "SCI-SUBACUTE-IV",
        "version": 1,
        "name": "Sub-acute SCI, autologous bone-marrow MSC, IV drip (modelled on Stemirac)",
        "source_tissue": "bone_marrow",
        "route": "iv",
        "injury_phase": "subacute",
        "asia_grades": ["A", "B", "C"],
        "uses_autologous_serum": True,
        "harvest_window_start_day": 0,
        "harvest_window_end_day": 31,
        "infusion_window_start_day": 31,
        "infusion_window_end_day": 180,
        "max_hours_collection_to_receipt": 48,
        "max_days_receipt_to_seeding": 1,
        "transport_temp_min_c": 2,
        "transport_temp_max_c": 25,
        "expected_culture_days": 21,
        "max_culture_days": 28,
        "feeding_interval_days": 3,
        "doses_per_batch": 1,
        "min_cells_per_dose": 50_000_000,
        "target_cells_per_dose": 100_000_000,
        "max_cells_per_dose": 200_000_000,
        "max_cells_per_kg": 3_340_000,
        "shelf_life_hours": 30 * 24,
        "post_thaw_window_hours": 3,
        "storage_reading_max_gap_minutes": 60,
        "qc_specifications": _qc_specifications(5.0),
        "sources": (
            "Stemirac (Nipro product pages): traumatic SCI, ASIA A-C, bone marrow harvested within about "
            "31 days of injury, 2-4 weeks of culture, autologous serum from about 480 mL of blood, "
            "0.5-2.0 x 10^8 cells per dose, at most 3.34 x 10^6 cells/kg, IV. Viability >= 70% (common MSC "
            "release limit); identity per ISCT minimal criteria (Dominici 2006); endotoxin K/M with "
            "K = 5 EU/kg IV (USP <85>). Shelf life 30 days (cryopreserved) is this protocol's choice."
        ),
    },
    {
        "code": "SCI-CHRONIC-IT",
        "version": 1,
        "name": "Chronic SCI, autologous bone-marrow MSC, repeated intrathecal doses (after Vaquero 2017)",
        "source_tissue": "bone_marrow",
        "route": "intrathecal",
        "injury_phase": "chronic",
        "asia_grades": ["A", "B", "C", "D"],
        "uses_autologous_serum": False,
        "harvest_window_start_day": 0,
        "harvest_window_end_day": None,
        "infusion_window_start_day": 181,
        "infusion_window_end_day": None,
        "max_hours_collection_to_receipt": 48,
        "max_days_receipt_to_seeding": 2,
        "transport_temp_min_c": 2,
        "transport_temp_max_c": 25,
        "expected_culture_days": 21,
        "max_culture_days": 28,
        "feeding_interval_days": 4,
        "doses_per_batch": 4,
        "min_cells_per_dose": 27_000_000,
        "target_cells_per_dose": 30_000_000,
        "max_cells_per_dose": 33_000_000,
        "max_cells_per_kg": None,
        "shelf_life_hours": 365 * 24,
        "post_thaw_window_hours": 3,
        "storage_reading_max_gap_minutes": 60,
        "qc_specifications": _qc_specifications(0.2),
        "sources": (
            "Vaquero et al., Cytotherapy 2017: chronic SCI, 4 intrathecal doses of 30 x 10^6 MSC at months "
            "1, 4, 7 and 10. Chronic phase: infusion more than 6 months (day 181+) after injury. Endotoxin "
            "K = 0.2 EU/kg intrathecal (USP <85>). Dose tolerance of +/-10% and a 12-month cryopreserved "
            "shelf life are this protocol's choices."
        ),
    },
]


def ensure_reference_protocols() -> None:
    """Create the reference protocols that are missing. Never changes an existing row."""
    from batches.models import ProcessingProtocol

    with transaction.atomic(), audit_context(reason="reference protocol installed"):
        for spec in REFERENCE_PROTOCOLS:
            if not ProcessingProtocol.objects.filter(code=spec["code"], version=spec["version"]).exists():
                ProcessingProtocol.objects.create(**spec)


def ensure_reference_protocols_after_migrate(sender: Any, **kwargs: Any) -> None:
    ensure_reference_protocols()
