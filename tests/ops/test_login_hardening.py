"""Login lockout (django-axes) per account and per client, and the TOTP second factor (django-otp).

Through the real login form and the admin's, with real password checks. The
signing re-authentication is not part of either and keeps its own lockout.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.services.signatures import signer_authenticate
from core.errors import SignatureRefused
from core.roles import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def attempt(client: Client, username: str, password: str, ip: str = "203.0.113.10", url: str = LOGIN):  # type: ignore[no-untyped-def]
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and "login" not in response["Location"]


def test_five_wrong_passwords_lock_the_account_even_with_the_right_one_and_from_elsewhere():
    user = UserFactory(role=Role.TECHNICIAN)
    client = Client()
    statuses = [attempt(client, user.username, "wrong").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the form again with its error, then the fifth locks
    locked = attempt(client, user.username, PASSWORD, ip="198.51.100.20")
    assert locked.status_code == 429
    assert "Login locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_one_client_guessing_many_accounts_is_locked_out_but_other_clients_are_not():
    users = [UserFactory(role=Role.TECHNICIAN) for _ in range(6)]
    guesser = Client()
    for user in users[:5]:
        attempt(guesser, user.username, "wrong", ip="203.0.113.99")
    assert attempt(guesser, users[5].username, PASSWORD, ip="203.0.113.99").status_code == 429
    assert logged_in(attempt(Client(), users[5].username, PASSWORD, ip="198.51.100.1"))


def test_the_admin_login_is_locked_too():
    admin = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(5):
        attempt(client, admin.username, "wrong", url="/admin/login/")
    assert attempt(client, admin.username, PASSWORD, url="/admin/login/").status_code == 429


def test_a_success_resets_the_count():
    user = UserFactory(role=Role.TECHNICIAN)
    for _ in range(4):
        attempt(Client(), user.username, "wrong")
    assert logged_in(attempt(Client(), user.username, PASSWORD))
    for _ in range(4):
        attempt(Client(), user.username, "wrong")
    assert logged_in(attempt(Client(), user.username, PASSWORD))


def test_signing_failures_do_not_lock_the_login_and_login_failures_do_not_lock_signing():
    qa = UserFactory(role=Role.QA)
    for _ in range(5):
        with pytest.raises(SignatureRefused):
            signer_authenticate(user=qa, password="wrong")
    assert logged_in(attempt(Client(), qa.username, PASSWORD))  # signing is locked, login is not

    tech = UserFactory(role=Role.TECHNICIAN)
    for _ in range(5):
        attempt(Client(), tech.username, "wrong")
    signer_authenticate(user=tech, password=PASSWORD)  # login is locked, signing is not


@override_settings(SECOND_FACTOR_ROLES=["qa", "admin"])
def test_qa_must_enrol_and_verify_a_totp_code_before_any_page():
    qa = UserFactory(role=Role.QA)
    client = Client()
    assert logged_in(attempt(client, qa.username, PASSWORD))
    page = client.get("/notifications/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/second-factor/")
    assert client.get("/api/v1/batches/").status_code == 403  # the session API too

    enrol = client.get("/accounts/second-factor/")
    assert "authenticator" in enrol.content.decode() and "<svg" in enrol.content.decode()
    device = TOTPDevice.objects.get(user=qa, confirmed=False)
    wrong = client.post("/accounts/second-factor/", {"token": "000000", "next": "/notifications/"})
    assert wrong.status_code == 200 and "not correct" in wrong.content.decode()
    assert client.get("/notifications/").status_code == 302
    with time_machine.travel(
        timezone.now() + dt.timedelta(seconds=5)
    ):  # django-otp throttles after a failure
        code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        done = client.post("/accounts/second-factor/", {"token": code, "next": "/notifications/"})
    assert done.status_code == 302 and done["Location"] == "/notifications/"
    assert client.get("/notifications/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed

    # The next login asks for a code from the same device (no new enrolment).
    again = Client()
    attempt(again, qa.username, PASSWORD)
    assert "Enter the six-digit code" in again.get("/accounts/second-factor/").content.decode()
    assert TOTPDevice.objects.filter(user=qa).count() == 1


@override_settings(SECOND_FACTOR_ROLES=["qa", "admin"])
def test_a_technician_is_not_asked_unless_they_enrolled():
    tech = UserFactory(role=Role.TECHNICIAN)
    client = Client()
    attempt(client, tech.username, PASSWORD)
    assert client.get("/notifications/").status_code == 200
    TOTPDevice.objects.create(user=tech, name="phone", confirmed=True)
    client = Client()
    attempt(client, tech.username, PASSWORD)
    assert client.get("/notifications/").status_code == 302


@override_settings(SECOND_FACTOR_ROLES=["qa", "admin"])
def test_the_next_parameter_cannot_send_a_verified_user_off_site():
    qa = UserFactory(role=Role.QA)
    device = TOTPDevice.objects.create(user=qa, name="phone", confirmed=True)
    client = Client()
    attempt(client, qa.username, PASSWORD)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    done = client.post("/accounts/second-factor/", {"token": code, "next": "https://evil.example/"})
    assert done["Location"] == "/"
