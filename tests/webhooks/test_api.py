# ruff: noqa: F401, F811 - the clinic fixtures are imported from tests/api/conftest.py
"""A clinic manages its own endpoints and sees its own events; another clinic's are not found."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from compliance.tokens import token_issue
from core.roles import Role
from tests.api.conftest import (
    API,
    assert_problem,
    bearer,
    clinic_a,
    clinic_a_client,
    clinic_b,
    clinic_b_client,
    user_client,
    user_with_role,
)
from tests.factories import coordinator_of
from webhooks import delivery
from webhooks.models import OutboxEvent, WebhookEndpoint
from webhooks.outbox import emit

pytestmark = pytest.mark.django_db
ENDPOINTS = f"{API}/webhooks/endpoints/"
EVENTS = f"{API}/webhooks/events/"


def register(client: APIClient, url: str, events: list[str] | None = None, **extra: object):
    return client.post(
        ENDPOINTS, {"url": url, "events": events or ["batch.released"], **extra}, format="json"
    )


def test_register_returns_the_secret_once(clinic_a_client, receiver):
    response = register(clinic_a_client, receiver.url("a"), ["batch.released", "infusion.scheduled"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert (body["clinic"], body["events"], body["active"]) == (
        "CLINIC-A",
        ["batch.released", "infusion.scheduled"],
        True,
    )
    listed = clinic_a_client.get(ENDPOINTS).json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in clinic_a_client.get(f"{ENDPOINTS}{body['id']}/").json()
    assert body["secret"] not in clinic_a_client.get(ENDPOINTS).content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00::5]/hook",
        "http://93.184.215.14/hook",
    ],
)
def test_registering_a_private_address_or_plain_http_url_is_refused(clinic_a_client, url):
    body = assert_problem(register(clinic_a_client, url), 400)
    assert list(body["errors"]) == ["url"]
    assert not WebhookEndpoint.objects.exists()


def test_unknown_or_no_events_are_refused(clinic_a_client, receiver):
    body = assert_problem(register(clinic_a_client, receiver.url("a"), ["batch.exploded"]), 400)
    assert list(body["errors"]) == ["events.0"]
    body = assert_problem(
        clinic_a_client.post(ENDPOINTS, {"url": receiver.url("a"), "events": []}, format="json"), 400
    )
    assert list(body["errors"]) == ["events"]


def test_another_clinics_endpoint_and_events_are_not_found(
    clinic_a_client, clinic_b_client, clinic_a, receiver
):
    endpoint = register(clinic_a_client, receiver.url("a")).json()
    emit(clinic_id=clinic_a.pk, type="batch.released", key="k1", data={"din": "A999926000001"})
    event = OutboxEvent.objects.get()
    assert clinic_b_client.get(ENDPOINTS).json() == []
    assert clinic_b_client.get(EVENTS).json()["results"] == []
    for path in (f"{ENDPOINTS}{endpoint['id']}/", f"{EVENTS}{event.id}/"):
        assert_problem(clinic_b_client.get(path), 404)
    assert_problem(
        clinic_b_client.patch(f"{ENDPOINTS}{endpoint['id']}/", {"active": False}, format="json"), 404
    )
    assert_problem(clinic_b_client.post(f"{ENDPOINTS}{endpoint['id']}/rotate-secret"), 404)
    assert_problem(clinic_b_client.post(f"{EVENTS}{event.id}/redeliver"), 404)
    assert WebhookEndpoint.objects.get().active


def test_a_clinic_cannot_register_for_another(clinic_a_client, clinic_b, receiver):
    body = assert_problem(register(clinic_a_client, receiver.url("a"), clinic="CLINIC-B"), 400)
    assert list(body["errors"]) == ["clinic"]


def test_change_rotate_and_deactivate(clinic_a_client, receiver):
    created = register(clinic_a_client, receiver.url("a")).json()
    path = f"{ENDPOINTS}{created['id']}/"
    changed = clinic_a_client.patch(
        path, {"events": ["dose.expiring"], "url": receiver.url("b")}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["events"] == ["dose.expiring"]
    assert_problem(clinic_a_client.patch(path, {"url": "https://192.168.0.10/x"}, format="json"), 400)
    assert WebhookEndpoint.objects.get().url == receiver.url("b")
    rotated = clinic_a_client.post(f"{path}rotate-secret").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert WebhookEndpoint.objects.get().secret == rotated["secret"]
    assert clinic_a_client.delete(path).status_code == 204
    assert clinic_a_client.get(path).json()["active"] is False


def test_roles_coordinator_of_own_clinic_and_admin_may_manage_technician_may_not(
    clinic_a, user_client, receiver
):
    coordinator = bearer(token_issue(user=coordinator_of(clinic_a))[1])
    assert register(coordinator, receiver.url("a")).status_code == 201
    admin = user_client(Role.ADMIN)
    assert_problem(register(admin, receiver.url("b")), 400)  # lab-wide: must name the clinic
    assert register(admin, receiver.url("b"), clinic="CLINIC-A").status_code == 201
    assert len(admin.get(ENDPOINTS).json()) == 2
    for role in (Role.TECHNICIAN, Role.QA, Role.QC):
        assert_problem(user_client(role).get(ENDPOINTS), 403)
    assert_problem(APIClient().get(ENDPOINTS), 401)


def test_failed_events_are_listed_with_their_status_and_redelivered_by_hand(
    clinic_a_client, clinic_a, receiver
):
    endpoint = register(clinic_a_client, receiver.url("a")).json()
    receiver.secrets["a"] = WebhookEndpoint.objects.get().secret
    emit(clinic_id=clinic_a.pk, type="batch.released", key="k1", data={"din": "A999926000001"})
    OutboxEvent.objects.update(status=OutboxEvent.Status.FAILED, last_error="HTTP 503: down")
    listed = clinic_a_client.get(EVENTS, {"status": "failed"}).json()["results"]
    [event] = listed
    assert (event["status"], event["last_error"], event["endpoint"]) == (
        "failed",
        "HTTP 503: down",
        endpoint["id"],
    )
    assert event["webhook_id"] == event["id"]
    response = clinic_a_client.post(f"{EVENTS}{event['id']}/redeliver")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert delivery.drain() == delivery.DrainResult(delivered=1)
    assert [d.webhook_id for d in receiver.verified()] == [event["id"]]
    assert clinic_a_client.get(f"{EVENTS}{event['id']}/").json()["status"] == "delivered"
    assert_problem(clinic_a_client.get(EVENTS, {"status": "lost"}), 400)


@pytest.mark.parametrize("rows", [1, 20])
def test_event_list_queries_do_not_grow_with_rows(clinic_a_client, clinic_a, receiver, rows):
    register(clinic_a_client, receiver.url("a"))
    for n in range(rows):
        emit(clinic_id=clinic_a.pk, type="batch.released", key=f"k{n}", data={"n": n})
    clinic_a_client.get(EVENTS)  # warm-up: the token's last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = clinic_a_client.get(EVENTS)
    assert len(response.json()["results"]) == rows
    # 1 token and its clinic, 2 count, 3 events with endpoint and clinic.
    assert len(queries) == 3


@pytest.mark.parametrize("rows", [1, 20])
def test_endpoint_list_queries_do_not_grow_with_rows(clinic_a_client, receiver, rows):
    for n in range(rows):
        register(clinic_a_client, receiver.url(f"e{n}"))
    clinic_a_client.get(ENDPOINTS)
    with CaptureQueriesContext(connection) as queries:
        assert len(clinic_a_client.get(ENDPOINTS).json()) == rows
    # 1 token and its clinic, 2 endpoints with their clinic.
    assert len(queries) == 2


def test_webhook_endpoints_are_in_the_schema(clinic_a_client):
    schema = APIClient().get("/api/schema/?format=json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/webhooks/endpoints/",
        "/api/v1/webhooks/endpoints/{id}/",
        "/api/v1/webhooks/endpoints/{id}/rotate-secret",
        "/api/v1/webhooks/events/",
        "/api/v1/webhooks/events/{id}/",
        "/api/v1/webhooks/events/{id}/redeliver",
    } <= paths
