"""Demo data: clinics, staff, locations and batches in every lifecycle state.

Everything goes through the real services (eligibility, scans, steps,
custody, QC, signed checklist, QA decision, infusion, expiry sweep),
back-dated so the cultures have realistic 3-4 week histories. What cannot be
back-dated (signatures, release, infusion) happens "today": see ``outcomes``.
Idempotent: a second run changes nothing and only reports the logins.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from batches.models import Batch, Clinic, Location, ProcessingProtocol
from batches.services import clinic_create, collection_create, patient_create, therapy_create
from compliance.models import User
from compliance.services import user_create
from core.roles import Role
from demo.culture import culture, custody
from demo.outcomes import OUTCOMES, Crew
from demo.storage import seed_storage

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
    """One demo batch: how old its collection is, how far its culture got and what happened next."""

    code: str
    age_days: float
    last_step: str  # the last culture step logged
    doubling_days: float = 1.9
    then: str = ""  # a key of outcomes.OUTCOMES: what follows the culture steps
    reason: str = ""


# Every batch that reaches release is collected >= 22 days ago, 9-20 days after
# the injury: today is then past day 31 after injury, inside the sub-acute
# infusion window (days 31-180), so its dose is ready now. Each release costs
# twelve password checks (signatures), so there are four, to keep seeding fast.
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
    DemoBatch("KEIO-0011", 12, "cell_count", then="quarantine",
              reason="Suspected contamination: turbid medium in flask 2"),
    DemoBatch("KEIO-0012", 10, "cell_count", then="reject", reason="Mycoplasma positive on in-process test"),
    DemoBatch("KEIO-0013", 9, "seeding", then="discard", reason="No adherent colonies by day 9"),
    DemoBatch("KEIO-0014", 26, "formulation", then="release"),  # released: dose ready now
    DemoBatch("KEIO-0015", 27, "formulation", then="schedule"),  # released, drip booked in 3 days
    DemoBatch("KEIO-0016", 29, "formulation", then="infuse"),  # given today, with a follow-up
    DemoBatch("KEIO-0017", 60, "formulation", then="expire"),  # dose unused past its 30-day shelf life
    DemoBatch("KEIO-0018", 26, "formulation", then="fail_qc"),  # viability out of spec: quarantined
]  # fmt: skip


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
        seed_storage(users, places, DEMO_PASSWORD, now)  # tanks, frozen units, an excursion, a thaw
    return True


def _clinic(code: str, name: str) -> Clinic:
    return Clinic.objects.filter(code=code).first() or clinic_create(code=code, name=name)


def _demo_batch(spec, index, clinic, protocol, users, places, now) -> Batch:  # type: ignore[no-untyped-def]
    rng = random.Random(index)
    collected_at = now - dt.timedelta(days=spec.age_days)
    coord = users["coord"]  # the clinic registers its patients, therapies and collections
    patient = patient_create(
        clinic=clinic, actor=coord, code=spec.code, birth_year=1960 + rng.randrange(40), sex=rng.choice(["male", "female"]),
        weight_kg=Decimal(f"{rng.uniform(52, 88):.1f}"), injury_date=timezone.localdate(collected_at) - dt.timedelta(days=9 + rng.randrange(12)),
        injury_level=rng.choice(["C4", "C5", "C6", "T4", "T10", "L1"]), asia_grade=rng.choice("ABC"),
        injury_type=rng.choice(["contusion", "compression"]), malignancy_history=False,
    )  # fmt: skip
    therapy = therapy_create(
        patient=patient, protocol=protocol, actor=coord, on=timezone.localdate(collected_at)
    )
    collection_create(therapy=therapy, kind="peripheral_blood", collected_at=collected_at, volume_ml=240,
                      collected_by="Dr. Kobayashi", actor=coord)  # fmt: skip
    collection = collection_create(therapy=therapy, kind="bone_marrow", collected_at=collected_at, volume_ml=30,
                                   collected_by="Dr. Kobayashi", actor=coord)  # fmt: skip
    batch = collection.batch
    serum_din = therapy.collections.get(kind="peripheral_blood").din
    tech, other = (users["tech"], users["tech2"]) if index % 2 else (users["tech2"], users["tech"])
    custody(batch, places, tech, collected_at, spec.age_days)
    culture(batch, spec, tech, serum_din, collected_at, now, rng)
    if spec.then:
        crew = Crew(tech=tech, tech2=other, qc=users["qc"], qa=users["qa"], qa2=users["qa2"],
                    coord=users["coord"], password=DEMO_PASSWORD)  # fmt: skip
        OUTCOMES[spec.then](batch, crew, spec.reason, now)
    return batch


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, role, printed name) of the demo accounts."""
    return [(name, role.value, full) for name, role, full, _ in DEMO_USERS]


__all__ = ["DEMO_BATCHES", "DEMO_PASSWORD", "demo_logins", "seed_demo"]
