"""Every identifier the API reads, fuzzed: ASCII and non-ASCII digits, padding, overflow. Never a 5xx.

Each target puts a generated identifier into one place (a URL segment, a
query parameter or a body field) of an otherwise sensible request against
real objects, so the identifier is what decides the answer. Generated
identifiers start from real ones (DIN, DIN + K, barcode data, dose label,
COI) and are then mutated: a digit swapped for a superscript, Arabic-Indic,
fullwidth or other non-ASCII digit; padding of spaces, tabs, NBSP,
ideographic spaces or repeated ``=``; a length past any column; or plain
random text. A refused request (4xx) writes nothing: the records it could
have written are counted before and after (identity findings excepted: a
refused scan is recorded by contract).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batches.models import Collection, CultureStep, CustodyTransfer, Dose
from compliance.models import Deviation, Infusion, QcResult, ReleaseDecision, Signature
from compliance.services.scheduling import infusion_schedule
from compliance.tokens import token_issue
from core.roles import Role
from tests.api.conftest import API, bearer
from tests.builders import Staff, formulated_batch, released_batch
from tests.factories import PASSWORD, LocationFactory, UserFactory, scan

pytestmark = pytest.mark.django_db

NON_ASCII_DIGITS = "²³¹⁰١٢٣٤۰۴۵५०১１２９𝟎𝟗߁၁"
PADDING = [
    " ",
    "   ",
    "\t",
    "\r\n",
    "\u00a0",
    "\u3000",
    "\u2007",
    "=",
    "==",
    "=======",
    "-",
    "--",
    "\x00",
    "\u200b",
]
MAX_EXAMPLES = 50  # per target: 17 targets, about 850 requests
WRITES = (CustodyTransfer, CultureStep, Collection, Infusion, Deviation, QcResult, Signature, ReleaseDecision)


@st.composite
def mutated(draw: st.DrawFn, bases: list[str]) -> str:
    """A real identifier with one or more of: a non-ASCII digit, padding, repetition, a replaced character."""
    text = draw(st.sampled_from(bases))
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["digit", "pad", "repeat", "replace", "overflow"]))
        at = draw(st.integers(0, len(text)))
        if how == "digit":
            text = text[:at] + draw(st.sampled_from(NON_ASCII_DIGITS)) + text[at + 1 :]
        elif how == "pad":
            text = text[:at] + draw(st.sampled_from(PADDING)) + text[at:]
        elif how == "repeat":
            text = text * draw(st.integers(2, 4))
        elif how == "replace":
            text = text[:at] + draw(st.characters(codec="utf-8", exclude_categories=["Cs"])) + text[at + 1 :]
        else:
            text += draw(st.sampled_from(["0", "=", "Z", "9", "١"])) * draw(st.integers(1, 300))
    return text


def identifiers(bases: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(bases),
        mutated(bases),
        st.text(max_size=60),
        st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*=- ", max_size=60),
    )


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    staff = Staff.create()
    released = released_batch(staff, injured_days_ago=28)
    dose = released.doses.get()
    infusion = infusion_schedule(dose=dose, scheduled_for=timezone.now() + dt.timedelta(days=5), route="iv",
                                 actor=staff.qa)  # fmt: skip
    formulated = formulated_batch(staff)
    LocationFactory(code="FUZZ-1")
    bench = UserFactory(role=Role.TECHNICIAN, full_name="Bench Everything")
    bench.groups.add(*Group.objects.filter(name__in=[Role.QC, Role.QA]))
    din, label = formulated.din, scan(formulated.din)
    return {
        "client": bearer(token_issue(user=bench)[1]),
        "din": din,
        "infusion": str(infusion.pk),
        "coi": formulated.therapy.coi,
        "bases": [
            din,
            label,
            f"={din}00",
            f"={label}",
            f"{label}-1",
            dose.dose_id,
            f"{scan(dose.batch.din)}-1",
            formulated.therapy.coi,
        ],
    }


def _in_path(client: Any, world: dict[str, Any], template: str, body: dict[str, Any] | None) -> Callable:
    def send(identifier: str) -> Any:
        url = f"{API}{template.format(quote(identifier, safe=''))}"
        return client.get(url) if body is None else client.post(url, body, format="json")

    return send


def _in_body(client: Any, url: str, body: Callable[[str], dict[str, Any]]) -> Callable:
    return lambda identifier: client.post(f"{API}{url}", body(identifier), format="json")


def targets(world: dict[str, Any]) -> dict[str, Callable[[str], Any]]:
    c, din = world["client"], world["din"]
    soon = (timezone.now() + dt.timedelta(days=20)).isoformat()
    custody = {"to_location": "FUZZ-1", "seal_intact": True, "scanned_identifier": scan(din)}
    return {
        "path batch": _in_path(c, world, "/batches/{}/", None),
        "path readiness": _in_path(c, world, "/batches/{}/readiness", None),
        "path checklist": _in_path(c, world, "/batches/{}/checklist/", None),
        "path fhir dose_id": _in_path(c, world, "/fhir/BiologicallyDerivedProduct/{}", None),
        "path custody": _in_path(c, world, "/batches/{}/custody/", custody),
        "path steps": _in_path(c, world, "/batches/{}/steps/", {"kind": "cell_count", "viable_cells": 5,
                                                               "viability_pct": 90, "scanned_identifier": scan(din)}),
        "path qc-results": _in_path(c, world, "/batches/{}/qc-results/", {"test": "viability", "value": 91}),
        "path deviations": _in_path(c, world, "/batches/{}/deviations/", {"severity": "minor", "description": "x"}),
        "path release": _in_path(c, world, "/batches/{}/release", {"password": PASSWORD, "decision": "release"}),
        "path checklist sign": _in_path(c, world, "/batches/{}/checklist/custody_identity/sign",
                                        {"password": PASSWORD, "meaning": "reviewed"}),
        "query therapy coi": lambda x: c.get(f"{API}/batches/", {"therapy": x}),
        "body custody scanned_identifier": _in_body(c, f"/batches/{din}/custody/",
                                                    lambda x: {**custody, "scanned_identifier": x}),
        "body steps scanned_identifier": _in_body(c, f"/batches/{din}/steps/", lambda x: {
            "kind": "cell_count", "viable_cells": 5, "viability_pct": 90, "scanned_identifier": x}),
        "body steps serum_collection": _in_body(c, f"/batches/{din}/steps/", lambda x: {
            "kind": "feeding", "medium_lot": "M-1", "serum_collection": x, "scanned_identifier": scan(din)}),
        "body infusions dose": _in_body(c, "/infusions/", lambda x: {"dose": x, "scheduled_for": soon, "route": "iv"}),
        "body administer scanned_identifier": _in_body(c, f"/infusions/{world['infusion']}/administer",
                                                       lambda x: {"scanned_identifier": x}),
        "body collections therapy": _in_body(c, "/collections/", lambda x: {
            "therapy": x, "kind": "peripheral_blood", "collected_at": timezone.now().isoformat(), "volume_ml": 20}),
    }  # fmt: skip


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITES} | {
        "doses infused": Dose.objects.filter(status=Dose.Status.INFUSED).count()
    }


def fuzz(send: Callable[[str], Any], bases: list[str]) -> set[int]:
    """Send ``MAX_EXAMPLES`` generated identifiers; the statuses seen."""
    statuses: set[int] = set()

    @given(identifier=identifiers(bases))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
    def run(identifier: str) -> None:
        before = _counts()
        response = send(identifier)
        statuses.add(response.status_code)
        assert response.status_code < 500, (identifier, response.content[:300])
        if response.status_code >= 400:
            assert response["Content-Type"].startswith("application/problem+json"), identifier
            assert _counts() == before, identifier

    run()
    return statuses


def test_fuzzed_identifiers_never_get_a_server_error_and_refusals_write_nothing(world):
    world["client"].raise_request_exception = False
    failures = []
    for name, send in targets(world).items():  # one world for all: building it is the slow part
        try:
            statuses = fuzz(send, world["bases"])
        except Exception as error:  # every failing target is reported, not only the first
            failures.append(f"{name}: {error}")
        else:
            if not statuses & {400, 404, 409}:
                failures.append(f"{name}: never refused ({statuses}): the identifier was not checked")
    assert not failures, "\n\n".join(failures)
