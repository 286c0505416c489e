"""Outbound requests cannot be turned against our own network (SSRF), nor hang, nor flood us."""

from __future__ import annotations

import socket

import pytest
from django.test import override_settings

from tests.webhooks.conftest import clinic_of, subscribe
from webhooks import delivery, transport
from webhooks.models import OutboxEvent
from webhooks.safety import Target, UnsafeURL, check_url

NO_LOOPBACK = override_settings(WEBHOOKS_ALLOW_LOOPBACK=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hook",  # private
        "https://172.16.3.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
        "https://100.64.0.1/hook",  # shared address space (CGNAT)
        "https://0.0.0.0/hook",  # unspecified
        "https://224.0.0.1/hook",  # multicast
        "https://240.0.0.1/hook",  # reserved
        "https://[fd00::1]/hook",  # IPv6 unique local
        "https://[fe80::1]/hook",  # IPv6 link-local
        "https://[::ffff:10.0.0.1]/hook",  # a private IPv4 in IPv6 clothing
        "https://127.0.0.1/hook",  # loopback, outside development and tests
        "https://[::1]/hook",
        "https://localhost/hook",  # a name that resolves to loopback
    ],
)
@NO_LOOPBACK
def test_private_loopback_link_local_and_reserved_addresses_are_refused(url):
    with pytest.raises(UnsafeURL, match="private, loopback, link-local or reserved"):
        check_url(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.215.14/hook", "must use https"),
        ("ftp://93.184.215.14/hook", "must start with https://"),
        ("https:///hook", "must start with https://"),
        ("https://user:secret@93.184.215.14/hook", "user name or password"),
        ("https://93.184.215.14:99999/hook", "not a valid URL"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_other_unsafe_urls_are_refused_with_a_reason(url, why):
    with pytest.raises(UnsafeURL, match=why):
        check_url(url)


def test_a_public_https_url_is_accepted_with_the_address_checked():
    target = check_url("https://93.184.215.14:8443/hooks/lims?clinic=a")
    assert target == Target("https", "93.184.215.14", 8443, "/hooks/lims?clinic=a", "93.184.215.14")


@override_settings(WEBHOOKS_ALLOWED_NETWORKS=["10.20.0.0/16"], WEBHOOKS_ALLOW_LOOPBACK=False)
def test_the_allow_list_admits_named_private_networks_only_over_https():
    assert check_url("https://10.20.1.2/hook").address == "10.20.1.2"
    with pytest.raises(UnsafeURL):
        check_url("https://10.21.1.2/hook")
    with pytest.raises(UnsafeURL, match="must use https"):
        check_url("http://10.20.1.2/hook")


def test_http_is_allowed_to_loopback_in_the_test_settings_only():
    assert check_url("http://127.0.0.1:8000/hook").scheme == "http"
    with NO_LOOPBACK, pytest.raises(UnsafeURL):
        check_url("http://127.0.0.1:8000/hook")


def test_the_connection_goes_to_the_checked_address_not_a_fresh_lookup(receiver):
    """A name that no longer resolves (or resolves elsewhere) is not looked up again."""
    target = Target("http", "clinic.example", receiver.port, "/pinned", "127.0.0.1")
    response = transport.post(target, b"{}", {"Content-Type": "application/json"})
    assert response.status == 200
    [got] = receiver.deliveries
    assert got.path == "pinned" and got.headers["host"] == f"clinic.example:{receiver.port}"


@override_settings(WEBHOOKS_MAX_RESPONSE_BYTES=1024)
def test_a_large_reply_is_read_only_up_to_the_cap(receiver):
    receiver.reply_body = b"x" * 5_000_000
    response = transport.post(check_url(receiver.url("big")), b"{}", {})
    assert response.status == 200 and len(response.body) == 1024


@override_settings(WEBHOOKS_READ_TIMEOUT=0.3)
def test_a_receiver_that_does_not_answer_times_out(receiver):
    receiver.delay = 2
    with pytest.raises(socket.timeout):
        transport.post(check_url(receiver.url("slow")), b"{}", {})


@pytest.mark.django_db
def test_the_url_is_checked_again_at_delivery(staff, receiver):
    """Registered while allowed; by delivery the name points somewhere refused: nothing is sent."""
    from tests.webhooks.test_delivery import releasable, release

    batch = releasable(staff)
    subscribe(receiver, clinic_of(batch), "mine")
    release(batch, staff)
    with NO_LOOPBACK:
        assert delivery.drain() == delivery.DrainResult(retried=1)
    assert receiver.deliveries == []
    assert OutboxEvent.objects.get().last_error.startswith("Refused: 127.0.0.1 is a private")


@pytest.mark.parametrize(
    "url", ["https://a\x00b/hook", "https://" + "a" * 300 + "/hook", "https://[::1/hook"]
)
def test_malformed_hosts_are_refused_not_crashed_on(url):
    with pytest.raises(UnsafeURL):
        check_url(url)
