"""Demo data: clinics, staff, locations and batches in every lifecycle state.

Everything goes through the real services (eligibility, scans, steps,
custody), back-dated so the cultures have realistic 3-4 week histories.
Idempotent: a second run changes nothing and only reports the logins.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from batches import isbt128
from batches.domain import BatchStatus
from batches.models import Batch, Clinic, Location, ProcessingProtocol
from batches.services import (
    batch_transition,
    clinic_create,
    collection_create,
    custody_transfer,
    patient_create,
    step_record,
    therapy_create,
)
from compliance.models import User
from compliance.roles import Role
from compliance.services import user_create

DEMO_PASSWORD = "demo-password"  # noqa: S105 - local demo only; seed_demo refuses to run in production
DEMO_USERS = [
    ("tech", Role.TECHNICIAN, "Taro Yamada", None),
    ("tech2", Role.TECHNICIAN, "Yuki Sato", None),
    ("qc", Role.QC, "Kenji Suzuki", None),
    ("qa", Role.QA, "Hanako Tanaka", None),
    ("qa2", Role.QA, "Aiko Watanabe", None),
    ("coord", Role.COORDINATOR, "Mika Ito (Keio clinic)", "KEIO"),
    ("admin", Role.ADMIN, "System Administrator", None),
]
LOCATIONS = [
    ("KEIO-OR", "Keio clinic procedure room", Location.Kind.CLINIC),
    ("SHIPPER-01", "Validated shipper 01", Location.Kind.TRANSPORT),
    ("CPF-RCV", "CPF receiving bench", Location.Kind.RECEIVING),
    ("INC-01", "CO2 incubator 01", Location.Kind.INCUBATOR),
    ("CPF-CRYO", "CPF cryostorage", Location.Kind.COLD_STORAGE),
    ("QC-LAB", "QC laboratory", Location.Kind.QC_LAB),
    ("KEIO-WARD", "Keio clinic ward", Location.Kind.BEDSIDE),
]


@dataclass(frozen=True)
class DemoBatch:
    """One demo batch: how old its collection is and how far it has got."""

    code: str
    age_days: float
    last_step: str  # the last culture step logged
    doubling_days: float = 1.9
    then: BatchStatus | None = None  # a final QA/technician decision after the steps
    reason: str = ""


DEMO_BATCHES = [
    DemoBatch("KEIO-0001", 0.25, "none"),
    DemoBatch("KEIO-0002", 1.2, "receipt"),
    DemoBatch("KEIO-0003", 4, "seeding"),
    DemoBatch("KEIO-0004", 13, "cell_count"),
    DemoBatch("KEIO-0005", 19, "cell_count"),
    DemoBatch("KEIO-0006", 16, "cell_count", doubling_days=4.5),  # slow: at risk of missing the target
    DemoBatch("KEIO-0007", 31, "cell_count", doubling_days=3.2),  # past the 28-day maximum: overdue
    DemoBatch("KEIO-0008", 23, "harvest"),
    DemoBatch("KEIO-0009", 24, "formulation"),
    DemoBatch("KEIO-0010", 25, "formulation"),
    DemoBatch(
        "KEIO-0011",
        12,
        "cell_count",
        then=BatchStatus.QUARANTINED,
        reason="Suspected contamination: turbid medium in flask 2",
    ),
    DemoBatch(
        "KEIO-0012",
        10,
        "cell_count",
        then=BatchStatus.REJECTED,
        reason="Mycoplasma positive on in-process test",
    ),
    DemoBatch("KEIO-0013", 9, "seeding", then=BatchStatus.DISCARDED, reason="No adherent colonies by day 9"),
]


def seed_demo(now: dt.datetime | None = None) -> bool:
    """Create the demo data unless it exists. Returns True when it was created."""
    if User.objects.filter(username="tech").exists():
        return False
    now = now or timezone.now()
    with transaction.atomic():
        clinic = _clinic("KEIO", "Keio Spine Clinic (demo)")
        _clinic("SAPPORO", "Sapporo Neuro Clinic (demo)")
        users = {name: user_create(username=name, role=role, full_name=full, password=DEMO_PASSWORD,
                                   clinic=clinic if clinic_code else None, validate=False)
                 for name, role, full, clinic_code in DEMO_USERS}  # fmt: skip
        User.objects.filter(username="admin").update(is_superuser=True)
        places = {code: Location.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})[0]
                  for code, name, kind in LOCATIONS}  # fmt: skip
        protocol = ProcessingProtocol.objects.get(code="SCI-SUBACUTE-IV", version=1)
        for index, spec in enumerate(DEMO_BATCHES):
            _demo_batch(spec, index, clinic, protocol, users, places, now)
    return True


def _clinic(code: str, name: str) -> Clinic:
    return Clinic.objects.filter(code=code).first() or clinic_create(code=code, name=name)


def _demo_batch(spec, index, clinic, protocol, users, places, now) -> Batch:  # type: ignore[no-untyped-def]
    rng = random.Random(index)
    collected_at = now - dt.timedelta(days=spec.age_days)
    patient = patient_create(
        clinic=clinic, code=spec.code, birth_year=1960 + rng.randrange(40), sex=rng.choice(["male", "female"]),
        weight_kg=Decimal(f"{rng.uniform(52, 88):.1f}"), injury_date=timezone.localdate(collected_at) - dt.timedelta(days=9 + rng.randrange(12)),
        injury_level=rng.choice(["C4", "C5", "C6", "T4", "T10", "L1"]), asia_grade=rng.choice("ABC"),
        injury_type=rng.choice(["contusion", "compression"]), malignancy_history=False,
    )  # fmt: skip
    therapy = therapy_create(patient=patient, protocol=protocol, on=timezone.localdate(collected_at))
    collection_create(therapy=therapy, kind="peripheral_blood", collected_at=collected_at, volume_ml=240,
                      collected_by="Dr. Kobayashi")  # fmt: skip
    collection = collection_create(therapy=therapy, kind="bone_marrow", collected_at=collected_at, volume_ml=30,
                                   collected_by="Dr. Kobayashi")  # fmt: skip
    batch = collection.batch
    serum_din = therapy.collections.get(kind="peripheral_blood").din
    tech = users["tech"] if index % 2 else users["tech2"]
    _custody(batch, places, tech, collected_at, spec.age_days)
    _culture(batch, spec, tech, serum_din, collected_at, now, rng)
    if spec.then is not None:
        batch_transition(batch=batch, to=spec.then, actor=users["qa"], reason=spec.reason)
    return batch


def _custody(
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


def _culture(batch, spec, tech, serum_din, collected_at, now, rng) -> None:  # type: ignore[no-untyped-def]
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


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, role, printed name) of the demo accounts."""
    return [(name, role.value, full) for name, role, full, _ in DEMO_USERS]


__all__ = ["DEMO_PASSWORD", "demo_logins", "seed_demo"]
