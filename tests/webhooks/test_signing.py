"""Deliveries are signed to the Standard Webhooks spec: the published library verifies them, and only them."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks.delivery import signed_request
from webhooks.models import OutboxEvent
from webhooks.services import new_secret

SECRET = new_secret()


def event() -> OutboxEvent:
    return OutboxEvent(id=uuid.uuid4(), payload={"type": "batch.released", "data": {"din": "A999926000001"}})


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_a_delivery_verifies_with_the_published_library():
    e = event()
    body, headers = signed_request(e, SECRET, now())
    assert Webhook(SECRET).verify(body, headers) == e.payload
    assert headers["webhook-id"] == str(e.id)
    assert headers["webhook-signature"].startswith("v1,")


def test_the_secret_has_the_standard_form():
    assert SECRET.startswith("whsec_") and len(Webhook(SECRET)._whsecret) == 32
    assert new_secret() != SECRET


def test_a_tampered_body_fails_verification():
    body, headers = signed_request(event(), SECRET, now())
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(SECRET).verify(body.replace(b"A999926000001", b"A999926000002"), headers)


def test_a_tampered_signature_or_id_fails_verification():
    body, headers = signed_request(event(), SECRET, now())
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, {**headers, "webhook-signature": "v1," + "A" * 44})
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, {**headers, "webhook-id": str(uuid.uuid4())})


def test_another_secret_fails_verification():
    body, headers = signed_request(event(), SECRET, now())
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_an_expired_or_future_timestamp_fails_verification():
    body, headers = signed_request(event(), SECRET, now() - dt.timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(body, headers)
    body, headers = signed_request(event(), SECRET, now() + dt.timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="too new"):
        Webhook(SECRET).verify(body, headers)


def test_a_replayed_timestamp_does_not_verify_under_a_new_one():
    body, headers = signed_request(event(), SECRET, now() - dt.timedelta(minutes=1))
    fresh = str(int(now().timestamp()))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, {**headers, "webhook-timestamp": fresh})


def test_each_attempt_is_signed_afresh_with_the_same_id():
    e = event()
    first = signed_request(e, SECRET, now() - dt.timedelta(minutes=2))[1]
    second = signed_request(e, SECRET, now())[1]
    assert first["webhook-id"] == second["webhook-id"]
    assert first["webhook-signature"] != second["webhook-signature"]


def test_a_tokyo_time_signs_the_same_instant():
    """The library drops the zone of the time it signs: we hand it UTC."""
    e = event()
    at = now()
    tokyo = at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert signed_request(e, SECRET, tokyo) == signed_request(e, SECRET, at)
