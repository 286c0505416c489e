"""Property-based test of the whole API against its own OpenAPI schema (schemathesis).

Every operation of ``/api/schema/?format=json`` gets a few generated requests
(explicit examples, then fuzzing: ``max_examples`` each, derandomized so CI
sees the same cases every run), sent in-process through the WSGI application
with a QA user's token and with a clinic system's token. Generated path values
rarely name a real object, so every other case is pointed at real ones (a
released batch, its dose and checklist items, a deviation, an infusion) and its
body and query reach the serializers and services instead of stopping at 404.

Checks, on every response:

* ``not_a_server_error``: never a 5xx, whatever the client sends (API.md).
* ``response_schema_conformance``: a body of a documented status matches its schema.
* ``content_type_conformance``: JSON bodies and problem+json errors as documented.

Not checked: ``status_code_conformance``. Every endpoint documents the statuses
the contract names (2xx, 400, 401, 403, 404, 409), but two kinds of answer are
left out of the schema on purpose: 429 (per-token throttling) and the 405 or
415 DRF gives for a method or media type an operation does not have. They are
correct answers that a fuzzer can provoke, not defects, and listing them on
every operation would only add noise to the published contract.
The coverage phase (every boundary and negative case the schema implies) is
off: it is not bounded by ``max_examples`` and would take minutes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from compliance.roles import Role
from compliance.services.deviations import deviation_open
from compliance.services.scheduling import infusion_schedule
from compliance.tokens import token_issue
from tests.builders import Staff, formulated_batch, released_batch
from tests.factories import scan

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}
)


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The WSGI application, on the test's own connection.

    Django closes the connection at the start and end of every request
    (``close_old_connections``); inside a test that would drop the test
    transaction, so the handlers are disconnected for the test's duration.
    """
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def real_objects(db: None) -> dict[str, Any]:
    """A released batch with a scheduled infusion, and a formulated one with an open minor deviation."""
    staff = Staff.create()
    released = released_batch(staff, injured_days_ago=28)
    dose = released.doses.get()
    infusion = infusion_schedule(dose=dose, scheduled_for=timezone.now() + dt.timedelta(days=5), route="iv",
                                 actor=staff.qa)  # fmt: skip
    formulated = formulated_batch(staff)
    deviation = deviation_open(batch=formulated, severity="minor", description="Label smudged", actor=staff.tech)
    return {
        "staff": staff,
        "clinic": released.therapy.patient.clinic,
        "values": {
            "din": itertools.cycle([released.din, scan(formulated.din), formulated.din, scan(released.din)]),
            "dose_id": itertools.cycle([dose.dose_id]),
            "item_code": itertools.cycle(["custody_identity", "deviations_closed", "batch_record_complete"]),
            "id": itertools.cycle([str(deviation.pk), str(infusion.pk), str(released.therapy.patient.pk)]),
        },
    }


@pytest.fixture(params=["qa", "clinic"])
def token(request: pytest.FixtureRequest, real_objects: dict[str, Any]) -> str:
    if request.param == "qa":
        return token_issue(user=real_objects["staff"].qa)[1]
    return token_issue(clinic=real_objects["clinic"])[1]


@pytest.fixture
def api_schema(wsgi_app: Any, token: str) -> Any:
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")
_turn = itertools.count()


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: Any, token: str, real_objects: dict[str, Any]) -> None:
    if next(_turn) % 2 and case.path_parameters:
        values = real_objects["values"]
        case.path_parameters = {
            name: next(values[name]) if name in values else value for name, value in case.path_parameters.items()
        }
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
