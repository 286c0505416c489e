"""The admin registers endpoints through the same checks, shows failures and redelivers by hand."""

from __future__ import annotations

import pytest

from compliance.models import AuditEntry
from tests.factories import ClinicFactory, coordinator_of
from tests.webhooks.conftest import subscribe
from webhooks import delivery
from webhooks.models import OutboxEvent, WebhookEndpoint
from webhooks.outbox import emit
from webhooks.services import endpoint_rotate_secret

pytestmark = pytest.mark.django_db
ADD = "/admin/webhooks/webhookendpoint/add/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def form(clinic, url: str) -> dict[str, object]:
    return {"clinic": clinic.pk, "url": url, "events": ["batch.released", "dose.expiring"], "active": "on"}


def test_admin_registers_an_endpoint_and_shows_the_secret_once(admin_client, receiver):
    clinic = ClinicFactory()
    response = admin_client.post(ADD, form(clinic, receiver.url("a")), follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()  # the message after saving
    assert endpoint.events == ["batch.released", "dose.expiring"]
    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page


def test_admin_refuses_a_private_address(admin_client):
    clinic = ClinicFactory()
    response = admin_client.post(ADD, form(clinic, "https://10.0.0.8/hook"))
    assert response.status_code == 200  # the form again, with the error
    assert "private, loopback, link-local or reserved" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_admin_lists_failed_events_and_redelivers_them(admin_client, receiver):
    clinic = ClinicFactory()
    subscribe(receiver, clinic, "a")
    emit(clinic_id=clinic.pk, type="batch.released", key="k", data={"din": "A999926000001"})
    OutboxEvent.objects.update(status=OutboxEvent.Status.FAILED, last_error="HTTP 500")
    listing = admin_client.get("/admin/webhooks/outboxevent/?status__exact=failed").content.decode()
    event = OutboxEvent.objects.get()
    assert str(event.id) in listing
    admin_client.post(
        "/admin/webhooks/outboxevent/", {"action": "redeliver", "_selected_action": [str(event.id)]}
    )
    assert delivery.drain() == delivery.DrainResult(delivered=1)
    assert [d.webhook_id for d in receiver.verified()] == [str(event.id)]


def test_endpoint_changes_are_audited_without_the_secret(receiver):
    clinic = ClinicFactory()
    endpoint = subscribe(receiver, clinic, "a")
    _, rotated = endpoint_rotate_secret(endpoint=endpoint, actor=coordinator_of(clinic))
    entries = AuditEntry.objects.filter(table_name="webhooks_webhookendpoint", object_pk=str(endpoint.pk))
    assert entries.count() == 2
    recorded = " ".join(str((e.before, e.after)) for e in entries)
    assert receiver.secrets["a"] not in recorded and rotated not in recorded
    assert "secret" in recorded  # the change is recorded, masked


def test_admin_offers_no_delete(admin_client, receiver):
    endpoint = subscribe(receiver, ClinicFactory(), "a")
    response = admin_client.post(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
