"""Hypothesis fuzzing of every date/timestamp and number field of the API's writes and queries.

Each test sends generated values for one endpoint's date and number fields:
well-formed and impossible ISO 8601 text, ASCII and non-ASCII digits,
padding, huge and negative numbers, NaN and Infinity (as JSON literals and as
text), overflow of the database columns (int, bigint, numeric precision),
strings, bools and nulls. Every answer is below 500; a refused request (4xx)
created no row. Bounded and derandomized, so CI sees the same cases each run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from batches.models import Collection, CultureStep, CustodyTransfer, Location, Patient
from batches.services import collection_create, custody_transfer, step_record, therapy_create
from compliance.models import Infusion, QcResult
from compliance.services.scheduling import infusion_schedule
from compliance.tokens import token_issue
from tests.api.conftest import API, bearer
from tests.builders import Staff, formulated_batch, released_batch
from tests.factories import LocationFactory, PatientFactory, coordinator_of, protocol, scan

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)

# --- Strategies -----------------------------------------------------------------------------

OFFSETS = st.sampled_from(["", "Z", "+09:00", "-12:00", "+14:00", "+23:59", "+25:00", "-99:99", "+0900"])
ISO_SHAPED = st.from_regex(  # \d draws non-ASCII digits too (full-width, Arabic-Indic, ...)
    r"\A\s?\d{1,5}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s?\Z"
).flatmap(lambda text: OFFSETS.map(lambda offset: text + offset))
REAL_TIMES = st.builds(
    lambda when, offset: when.replace(tzinfo=dt.timezone(offset)).isoformat(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59)),
    st.timedeltas(
        min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
    ),
)
NEAR_NOW = st.integers(min_value=-60 * 24 * 40, max_value=60 * 24 * 3).map(
    lambda minutes: (timezone.now() + dt.timedelta(minutes=minutes)).isoformat()
)
ODD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30), st.just(""),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "0x10", "２０２６-01-01", "2026-02-30", "9999-12-31"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
EDGE_TIMES = st.sampled_from([
    "0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59",
    "2026-02-30T10:00:00", "2026-12-01T10:00:00+25:00", "1999-12-31T23:59:59+09:00", "2100-01-01T00:00:00+09:00",
    "２０２６-12-01T10:00:00+09:00", " 2026-12-01T10:00:00+09:00 ", "2026-12-01T10:00:00.0000000001Z",
])  # fmt: skip
TIMESTAMPS = st.one_of(EDGE_TIMES, ISO_SHAPED, REAL_TIMES, NEAR_NOW, ODD)
DATES = st.one_of(
    st.sampled_from(["9999-12-31", "0001-01-01", "1899-12-31", "2026-02-30", "２０２６-01-01", "1900-01-01"]),
    st.dates().map(str), st.from_regex(r"\A\s?\d{1,5}-\d{1,2}-\d{1,2}\s?\Z"), ODD,
    st.integers(min_value=-3650, max_value=30).map(lambda days: str(timezone.localdate() + dt.timedelta(days=days))),
)  # fmt: skip
NUMBER_TEXT = st.from_regex(r"\A\s?[-+]?\d{1,40}(\.\d{1,12})?([eE][-+]?\d{1,4})?\s?\Z")
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 0, -1, 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
    NUMBER_TEXT, ODD,
)  # fmt: skip


def post(client: APIClient, path: str, body: dict[str, Any]) -> Any:
    """JSON as any client may send it: NaN and Infinity as the bare literals Python writes."""
    return client.post(path, json.dumps(body, allow_nan=True), content_type="application/json")


def assert_handled(response: Any) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/problem+json")


# --- World ------------------------------------------------------------------------------------


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    staff = Staff.create()
    released = released_batch(staff, injured_days_ago=28)
    dose = released.doses.get()
    formulated = formulated_batch(staff)
    coordinator = coordinator_of(released.therapy.patient.clinic)
    therapy = therapy_create(patient=PatientFactory(clinic=released.therapy.patient.clinic),
                             protocol=protocol("SCI-SUBACUTE-IV"), actor=coordinator)  # fmt: skip
    serum = collection_create(therapy=therapy, kind="peripheral_blood", volume_ml=240, actor=coordinator,
                              collected_at=timezone.now() - dt.timedelta(days=2))  # fmt: skip
    fresh = collection_create(therapy=therapy, kind="bone_marrow", volume_ml=30, actor=coordinator,
                              collected_at=timezone.now() - dt.timedelta(days=2)).batch  # fmt: skip
    LocationFactory(code="FUZZ-BOX", kind=Location.Kind.TRANSPORT)
    custody_transfer(batch=fresh, to_location=Location.objects.get(code="FUZZ-BOX"), seal_intact=True,
                     temperature_c=8, scanned_identifier=scan(fresh.din), actor=staff.tech,
                     performed_at=timezone.now() - dt.timedelta(days=2))  # fmt: skip
    step_record(batch=fresh, kind="receipt", actor=staff.tech, scanned_identifier=scan(fresh.din),
                temperature_c=8, seal_intact=True, performed_at=timezone.now() - dt.timedelta(days=2))  # fmt: skip
    step_record(batch=fresh, kind="seeding", actor=staff.tech, scanned_identifier=scan(fresh.din),
                seeded_cells=20_000_000, medium_lot="M-1", serum_din=serum.din, performed_at=timezone.now() - dt.timedelta(days=1))  # fmt: skip
    infusion = infusion_schedule(dose=dose, scheduled_for=timezone.now() + dt.timedelta(days=5), route="iv",
                                 actor=staff.qa)  # fmt: skip
    clients = {name: bearer(token_issue(user=getattr(staff, name))[1]) for name in ("tech", "qc", "qa")} | {
        "clinic": bearer(token_issue(clinic=released.therapy.patient.clinic)[1])
    }
    return {"clients": clients, "released": released, "formulated": formulated, "culture": fresh,
            "therapy": therapy, "dose": dose, "infusion": infusion}  # fmt: skip


# --- Writes -----------------------------------------------------------------------------------

_codes = itertools.count()


def test_patient_dates_and_numbers_never_500(world):
    clinic = world["clients"]["clinic"]

    @FUZZ
    @given(birth_year=st.one_of(st.just(1988), NUMBERS), weight_kg=st.one_of(st.just(68.5), NUMBERS),
           injury_date=DATES)  # fmt: skip
    def run(birth_year: Any, weight_kg: Any, injury_date: Any) -> None:
        before = Patient.objects.count()
        response = post(clinic, f"{API}/patients/", {
            "code": f"FZ-{next(_codes)}", "birth_year": birth_year, "sex": "male", "weight_kg": weight_kg,
            "injury_date": injury_date, "injury_level": "C5", "asia_grade": "B", "injury_type": "contusion",
            "malignancy_history": False,
        })  # fmt: skip
        assert_handled(response)
        if response.status_code >= 400:
            assert Patient.objects.count() == before
        else:
            patient = Patient.objects.get(pk=response.json()["id"])
            assert 1900 <= patient.birth_year <= patient.injury_date.year
            assert patient.injury_date <= timezone.localdate()

    run()


def test_collection_time_and_volume_never_500(world):
    clinic, therapy = world["clients"]["clinic"], world["therapy"]

    @FUZZ
    @given(
        collected_at=TIMESTAMPS, volume_ml=NUMBERS, kind=st.sampled_from(["bone_marrow", "peripheral_blood"])
    )
    def run(collected_at: Any, volume_ml: Any, kind: str) -> None:
        before = Collection.objects.count()
        response = post(clinic, f"{API}/collections/", {
            "therapy": therapy.coi, "kind": kind, "collected_at": collected_at, "volume_ml": volume_ml,
        })  # fmt: skip
        assert_handled(response)
        if response.status_code >= 400:
            assert Collection.objects.count() == before
        else:
            collection = Collection.objects.get(din=response.json()["din"])
            year = timezone.localtime(collection.collected_at).year
            assert 2000 <= year <= 2099 and collection.din[5:7] == f"{year % 100:02d}"
            assert timezone.localdate(collection.collected_at) >= therapy.patient.injury_date

    run()


def test_culture_step_times_and_counts_never_500(world):
    tech, batch = world["clients"]["tech"], world["culture"]

    @FUZZ
    @given(
        kind=st.sampled_from(["cell_count", "passage"]), performed_at=st.one_of(st.none(), TIMESTAMPS),
        seeded_cells=st.one_of(st.just(10**7), NUMBERS), viable_cells=st.one_of(st.just(4 * 10**7), NUMBERS),
        viability_pct=st.one_of(st.just(90), NUMBERS), confluence_pct=st.one_of(st.just(70), NUMBERS),
    )  # fmt: skip
    def run(kind: str, performed_at: Any, **numbers: Any) -> None:
        before = CultureStep.objects.count()
        body = {"kind": kind, "scanned_identifier": scan(batch.din), **numbers}
        if performed_at is not None:
            body["performed_at"] = performed_at
        response = post(tech, f"{API}/batches/{batch.din}/steps/", body)
        assert_handled(response)
        if response.status_code >= 400:
            assert CultureStep.objects.count() == before

    run()


def test_formulation_numbers_never_500(world):
    tech, batch = world["clients"]["tech"], world["formulated"]

    @FUZZ
    @given(doses=NUMBERS, cells_per_dose=NUMBERS, volume_ml_per_dose=NUMBERS)
    def run(**numbers: Any) -> None:
        before = CultureStep.objects.count()
        body = {"kind": "formulation", "scanned_identifier": scan(batch.din), **numbers}
        response = post(tech, f"{API}/batches/{batch.din}/steps/", body)
        assert_handled(response)
        assert CultureStep.objects.count() == before  # pending release: every formulation is refused

    run()


def test_custody_temperature_and_time_never_500(world):
    tech, batch = world["clients"]["tech"], world["culture"]

    @FUZZ
    @given(temperature_c=NUMBERS, performed_at=st.one_of(st.none(), TIMESTAMPS))
    def run(temperature_c: Any, performed_at: Any) -> None:
        before = CustodyTransfer.objects.count()
        body = {"to_location": "FUZZ-BOX", "temperature_c": temperature_c, "seal_intact": True,
                "scanned_identifier": scan(batch.din)}  # fmt: skip
        if performed_at is not None:
            body["performed_at"] = performed_at
        response = post(tech, f"{API}/batches/{batch.din}/custody/", body)
        assert_handled(response)
        if response.status_code >= 400:
            assert CustodyTransfer.objects.count() == before

    run()


def test_qc_values_and_times_never_500(world):
    qc, batch = world["clients"]["qc"], world["formulated"]

    @FUZZ
    @given(test=st.sampled_from(["viability", "endotoxin", "viable_cell_count", "cd73"]), value=NUMBERS,
           tested_at=st.one_of(st.none(), TIMESTAMPS))  # fmt: skip
    def run(test: str, value: Any, tested_at: Any) -> None:
        before = QcResult.objects.count()
        body = {"test": test, "value": value} | ({} if tested_at is None else {"tested_at": tested_at})
        response = post(qc, f"{API}/batches/{batch.din}/qc-results/", body)
        assert_handled(response)
        if response.status_code >= 400:
            assert QcResult.objects.count() == before

    run()


def test_infusion_times_never_500(world):
    qa, dose, infusion = world["clients"]["qa"], world["dose"], world["infusion"]

    @FUZZ
    @given(when=TIMESTAMPS, action=st.sampled_from(["schedule", "reschedule", "administer"]))
    def run(when: Any, action: str) -> None:
        before = Infusion.objects.count()
        if action == "schedule":
            body, path = {"dose": dose.dose_id, "scheduled_for": when, "route": "iv"}, f"{API}/infusions/"
        elif action == "reschedule":
            body, path = (
                {"scheduled_for": when, "reason": "fuzz"},
                f"{API}/infusions/{infusion.pk}/reschedule",
            )
        else:
            body = {
                "administered_at": when,
                "scanned_identifier": "\x00",
            }  # a wrong label: never administered
            path = f"{API}/infusions/{infusion.pk}/administer"
        response = post(qa, path, body)
        assert_handled(response)
        if response.status_code >= 400:
            assert Infusion.objects.count() == before

    run()


# --- Queries ----------------------------------------------------------------------------------


def test_readiness_at_never_500(world):
    clinic, batch = world["clients"]["clinic"], world["released"]

    @FUZZ
    @given(at=st.one_of(TIMESTAMPS.filter(lambda v: isinstance(v, str)), st.text(max_size=40)))
    def run(at: str) -> None:
        response = clinic.get(f"{API}/batches/{batch.din}/readiness", {"at": at.replace("\x00", "")})
        assert response.status_code in (200, 400), response.content
        if response.status_code == 400:
            assert list(response.json()["errors"]) == ["at"]

    run()


def test_list_paging_never_500(world):
    qa = world["clients"]["qa"]
    values = st.one_of(NUMBERS.filter(lambda v: v is not None).map(str), st.text(max_size=20))

    @FUZZ
    @given(limit=values, offset=values)
    def run(limit: str, offset: str) -> None:
        query = {"limit": limit.replace("\x00", ""), "offset": offset.replace("\x00", "")}
        assert qa.get(f"{API}/batches/", query).status_code in (200, 400)

    run()
