"""Demo batches up to formulation: the custody legs and the culture steps, day by day."""

from __future__ import annotations

import datetime as dt

from batches.models import Batch, Location
from batches.services import custody_transfer, step_record
from compliance.models import User
from core import isbt128


def custody(
    batch: Batch, places: dict[str, Location], tech: User, collected_at: dt.datetime, age: float
) -> None:
    hop = dt.timedelta(hours=1)
    scan = batch.din + isbt128.check_character(batch.din)
    legs = [("SHIPPER-01", "KEIO-OR", "Courier (Yamato cool)"), ("CPF-RCV", None, "CPF intake")]
    for n, (to, origin, holder) in enumerate(legs if age >= 0.2 else legs[:1], start=1):
        custody_transfer(
            batch=batch, to_location=places[to], from_location=places[origin] if origin else None,
            from_holder="Keio clinic" if n == 1 else "", to_holder=holder, temperature_c=round(4 + n * 3.5, 1),
            seal_intact=True, scanned_identifier=scan, actor=tech, performed_at=collected_at + n * hop,
        )  # fmt: skip


def culture(batch, spec, tech, serum_din, collected_at, now, rng) -> None:  # type: ignore[no-untyped-def]
    """Log the steps of a culture up to ``spec.last_step``, day by day."""
    if spec.last_step == "none":
        return
    scan = batch.din + isbt128.check_character(batch.din)

    def log(kind: str, at: dt.datetime, **values: object) -> None:
        step_record(batch=batch, kind=kind, actor=tech, scanned_identifier=scan, performed_at=at, **values)

    received_at = collected_at + dt.timedelta(hours=3)
    log("receipt", received_at, temperature_c=8.5, seal_intact=True)
    if spec.last_step == "receipt":
        return
    seeded_at = received_at + dt.timedelta(hours=4)
    log(
        "seeding",
        seeded_at,
        seeded_cells=25_000_000,
        medium_lot="aMEM-2611-03",
        serum_din=serum_din,
        equipment="BSC-2",
    )
    days = int((now - seeded_at).total_seconds() // 86400)
    if spec.last_step == "seeding":
        days = min(days, 3)
    last_day = min(days, 21) if spec.last_step in ("harvest", "formulation") else days
    for day in range(1, last_day + 1):
        at = seeded_at + dt.timedelta(days=day, hours=rng.uniform(-1, 1))
        if at >= now:
            break
        cells = int(1_500_000 * 2 ** ((day - 5) / spec.doubling_days) * rng.uniform(0.9, 1.1))
        if day % 3 == 0 and day != 21:
            log("feeding", at, medium_lot="aMEM-2611-03", serum_din=serum_din)
        if (day in (5, 8, 13, 16, 18, 20, 23, 26, 29) and day != last_day) or (
            day == last_day and spec.last_step == "cell_count"
        ):
            log("cell_count", at + dt.timedelta(hours=2), viable_cells=cells, viability_pct=round(rng.uniform(88, 97), 1),
                confluence_pct=min(95, 30 + day * 3))  # fmt: skip
        if day == 10:
            log(
                "passage",
                at + dt.timedelta(hours=3),
                viable_cells=cells,
                seeded_cells=cells,
                viability_pct=93.5,
            )
    if spec.last_step in ("harvest", "formulation"):
        harvest_at = seeded_at + dt.timedelta(days=21, hours=4)
        harvested = max(int(1_500_000 * 2 ** (16 / spec.doubling_days)), 130_000_000)
        log("harvest", harvest_at, viable_cells=harvested, viability_pct=92.4, equipment="Centrifuge-1")
        if spec.last_step == "formulation":
            cap = int(batch.therapy.protocol.max_cells_per_kg * batch.therapy.patient.weight_kg)
            log("formulation", harvest_at + dt.timedelta(hours=2), doses=1, cells_per_dose=min(100_000_000, cap),
                volume_ml_per_dose=50)  # fmt: skip
