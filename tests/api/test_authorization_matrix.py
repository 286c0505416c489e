"""Who may call what: one row per endpoint, one column per kind of caller.

Objects in the paths belong to clinic A. An empty body is sent to write
endpoints: a caller with the right gets past authorization and is told the
body is invalid (400); one without it gets 403 (401 without credentials); a
clinic that does not own the object gets 404. Every /api/v1/ route must have
a row here: ``test_every_api_route_is_in_the_matrix`` fails otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from batches.models import Dose
from compliance.models import Deviation, Infusion
from compliance.tokens import token_issue
from core.roles import Role
from tests.api.conftest import bearer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CALLERS = (
    "anonymous",
    "clinic_a",
    "clinic_b",
    "technician",
    "qc",
    "qa",
    "coordinator_a",
    "coordinator_b",
    "admin",
)

# method, path template, then the expected status for each caller, in CALLERS order.
MATRIX: list[tuple[str, str, tuple[int, ...]]] = [
    #                                               anon cl_A cl_B tech  qc   qa  co_A co_B admin
    ("GET",  "/api/v1/protocols/",                  (401, 200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/api/v1/locations/",                  (401, 403, 403, 200, 200, 200, 200, 200, 200)),
    ("POST", "/api/v1/patients/",                   (401, 400, 400, 403, 403, 403, 400, 400, 403)),
    ("GET",  "/api/v1/patients/{patient}/",         (401, 200, 404, 200, 200, 200, 200, 404, 200)),
    ("POST", "/api/v1/therapies/",                  (401, 400, 400, 403, 403, 403, 400, 400, 403)),
    ("POST", "/api/v1/collections/",                (401, 400, 400, 400, 403, 403, 400, 400, 403)),
    ("GET",  "/api/v1/batches/",                    (401, 200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/api/v1/batches/{din}/",              (401, 200, 404, 200, 200, 200, 200, 404, 200)),
    ("POST", "/api/v1/batches/{din}/custody/",      (401, 403, 403, 400, 403, 403, 403, 403, 403)),
    ("POST", "/api/v1/batches/{din}/steps/",        (401, 403, 403, 400, 403, 403, 403, 403, 403)),
    ("POST", "/api/v1/batches/{din}/qc-results/",   (401, 403, 403, 403, 400, 403, 403, 403, 403)),
    ("POST", "/api/v1/batches/{din}/deviations/",   (401, 403, 403, 400, 400, 400, 403, 403, 403)),
    ("POST", "/api/v1/deviations/{deviation}/close", (401, 403, 403, 403, 403, 400, 403, 403, 403)),
    ("POST", "/api/v1/deviations/{deviation}/assess", (401, 403, 403, 403, 403, 400, 403, 403, 403)),
    ("POST", "/api/v1/deviations/{deviation}/investigation", (401, 403, 403, 403, 400, 400, 403, 403, 403)),
    ("GET",  "/api/v1/batches/{din}/checklist/",    (401, 403, 403, 200, 200, 200, 200, 404, 200)),
    ("POST", "/api/v1/batches/{din}/checklist/{item}/sign", (401, 403, 403, 400, 400, 400, 403, 403, 403)),
    ("POST", "/api/v1/batches/{din}/release",       (401, 403, 403, 403, 403, 400, 403, 403, 403)),
    ("GET",  "/api/v1/batches/{din}/readiness",     (401, 200, 404, 200, 200, 200, 200, 404, 200)),
    ("GET",  "/api/v1/batches/{din}/administration-attempts/", (401, 403, 403, 200, 200, 200, 200, 404, 200)),
    ("POST", "/api/v1/infusions/",                  (401, 400, 400, 403, 403, 400, 400, 400, 403)),
    ("POST", "/api/v1/infusions/{infusion}/cancel", (401, 400, 404, 403, 403, 400, 400, 404, 403)),
    ("POST", "/api/v1/infusions/{infusion}/reschedule", (401, 400, 404, 403, 403, 400, 400, 404, 403)),
    ("POST", "/api/v1/infusions/{infusion}/observations/", (401, 403, 403, 400, 403, 400, 400, 404, 403)),
    ("POST", "/api/v1/infusions/{infusion}/administer", (401, 403, 403, 400, 403, 400, 400, 404, 403)),
    ("GET",  "/api/v1/fhir/BiologicallyDerivedProduct/{dose}", (401, 200, 404, 200, 200, 200, 200, 404, 200)),
    # Downloads (issue 12): records and labels are lab staff's; the certificate reaches the clinic once released.
    ("GET",  "/api/v1/batches/{din}/record.pdf",    (401, 403, 403, 200, 200, 200, 403, 403, 200)),
    ("GET",  "/api/v1/batches/{din}/labels.pdf",    (401, 403, 403, 200, 200, 200, 403, 403, 200)),
    ("GET",  "/api/v1/batches/{din}/labels.zpl",    (401, 403, 403, 200, 200, 200, 403, 403, 200)),
    ("GET",  "/api/v1/batches/{din}/certificate.pdf", (401, 403, 404, 200, 200, 200, 403, 404, 200)),
    ("GET",  "/api/v1/batches.csv",                 (401, 200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/api/v1/batches/{din}/timeline.csv",  (401, 200, 404, 200, 200, 200, 200, 404, 200)),
    ("GET",  "/api/v1/storage/units/",              (401, 403, 403, 200, 200, 200, 403, 403, 403)),
    ("GET",  "/api/v1/storage/units/{tank}/positions", (401, 403, 403, 200, 200, 200, 403, 403, 403)),
    ("POST", "/api/v1/storage/units/{tank}/readings", (401, 403, 403, 400, 403, 400, 403, 403, 403)),
    ("POST", "/api/v1/doses/{dose}/store",          (401, 403, 403, 400, 403, 403, 403, 403, 403)),
    ("POST", "/api/v1/doses/{dose}/thaw",           (401, 403, 403, 400, 403, 400, 400, 404, 403)),
]  # fmt: skip


@pytest.fixture
def callers(clinic_a, clinic_b, user_client) -> dict[str, APIClient]:
    return {
        "anonymous": APIClient(),
        "clinic_a": bearer(token_issue(clinic=clinic_a)[1]),
        "clinic_b": bearer(token_issue(clinic=clinic_b)[1]),
        "technician": user_client(Role.TECHNICIAN),
        "qc": user_client(Role.QC),
        "qa": user_client(Role.QA),
        "coordinator_a": user_client(Role.COORDINATOR, clinic_a),
        "coordinator_b": user_client(Role.COORDINATOR, clinic_b),
        "admin": user_client(Role.ADMIN),
    }


@pytest.fixture
def objects(batch_a) -> dict[str, Any]:
    """Values for the path placeholders: all of clinic A (set up directly: only access is under test)."""
    dose = Dose.objects.create(batch=batch_a, number=1, cells=100_000_000, volume_ml=50)
    infusion = Infusion.objects.create(dose=dose, scheduled_for=timezone.now(), route="iv")
    deviation = Deviation.objects.create(
        batch=batch_a, severity="minor", description="x", opened_at=timezone.now(), opened_by=UserFactory()
    )
    tank = _tank()
    return {
        "din": batch_a.din, "patient": batch_a.therapy.patient_id, "coi": batch_a.therapy.coi,
        "deviation": deviation.pk, "item": "qc_within_spec", "infusion": infusion.pk, "dose": dose.dose_id,
        "tank": tank.code,
    }  # fmt: skip


def _tank() -> Any:
    from storage.models import Container
    from tests.factories import LocationFactory

    site = Container.objects.create(code="SITE-M", name="Site", kind="site", capacity=1)
    return Container.objects.create(code="LN2-M", name="Tank", kind="ln2_tank", parent=site, capacity=1,
                                    temp_min_c=-196, temp_max_c=-150, location=LocationFactory())  # fmt: skip


@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_authorization_matrix(callers, objects, method, template, expected):
    path = template.format(**objects)
    got = {}
    for caller, client in callers.items():
        response = client.generic(method, path, "{}", content_type="application/json")
        got[caller] = response.status_code
    assert got == dict(zip(CALLERS, expected, strict=True))


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _shape(path: str) -> str:
    """``/api/v1/batches/<str:din>/`` and ``/api/v1/batches/{din}/`` both become ``/api/v1/batches/{}/``."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_every_api_route_is_in_the_matrix():
    routes = {_shape("/" + route) for route in _routes(get_resolver().url_patterns)}
    api_routes = {route for route in routes if route.startswith("/api/v1/")}
    listed = {_shape(template) for _, template, _ in MATRIX}
    assert api_routes - listed == set(), "add these routes to MATRIX"
    assert listed - api_routes == set(), "MATRIX lists routes that do not exist"
