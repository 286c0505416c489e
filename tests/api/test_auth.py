"""Bearer tokens: who gets in, who gets a 401, throttling, sessions, and the issue_token command."""

import datetime as dt
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from api.auth import TokenRateThrottle
from compliance.models import ApiToken
from compliance.tokens import token_authenticate, token_hash, token_issue, token_revoke
from core.roles import Role
from tests.api.conftest import API, assert_problem, bearer

pytestmark = pytest.mark.django_db


def assert_unauthorized(response) -> dict:
    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"
    return body


def test_no_token_is_401_with_bearer_challenge():
    assert_unauthorized(APIClient().get(f"{API}/batches/"))


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer", "Bearer two parts", "bearer \xff"])
def test_invalid_token_is_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_unauthorized(client.get(f"{API}/batches/"))


def test_expired_token_is_401(clinic_a):
    _, key = token_issue(clinic=clinic_a, expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_unauthorized(bearer(key).get(f"{API}/batches/"))


def test_revoked_token_is_401(clinic_a):
    token, key = token_issue(clinic=clinic_a)
    assert bearer(key).get(f"{API}/batches/").status_code == 200
    token_revoke(token=token)
    assert_unauthorized(bearer(key).get(f"{API}/batches/"))


def test_token_of_inactive_user_or_clinic_is_401(user_with_role, clinic_a):
    user = user_with_role(Role.TECHNICIAN)
    _, user_key = token_issue(user=user)
    _, clinic_key = token_issue(clinic=clinic_a)
    user.is_active = False
    user.save()
    clinic_a.active = False
    clinic_a.save()
    assert_unauthorized(bearer(user_key).get(f"{API}/batches/"))
    assert_unauthorized(bearer(clinic_key).get(f"{API}/batches/"))


def test_only_the_hash_of_a_token_is_stored(clinic_a):
    token, key = token_issue(clinic=clinic_a)
    assert token.key_hash == token_hash(key) != key
    assert token.prefix == key[:8]
    assert not ApiToken.objects.filter(key_hash=key).exists()


def test_last_used_is_written_at_most_once_a_minute(clinic_a):
    token, key = token_issue(clinic=clinic_a)
    start = timezone.now()
    token_authenticate(key, now=start)
    token_authenticate(key, now=start + dt.timedelta(seconds=30))
    token.refresh_from_db()
    assert token.last_used_at == start
    token_authenticate(key, now=start + dt.timedelta(seconds=61))
    token.refresh_from_db()
    assert token.last_used_at == start + dt.timedelta(seconds=61)


def test_requests_over_the_token_rate_are_429(clinic_a, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "2/min"})
    cache.clear()
    client = bearer(token_issue(clinic=clinic_a)[1])
    other = bearer(token_issue(clinic=clinic_a)[1])
    assert [client.get(f"{API}/protocols/").status_code for _ in range(2)] == [200, 200]
    assert_problem(client.get(f"{API}/protocols/"), 429)
    assert other.get(f"{API}/protocols/").status_code == 200  # the limit is per token


def test_session_login_works_and_keeps_csrf_protection(user_with_role):
    user = user_with_role(Role.TECHNICIAN)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(f"{API}/batches/").status_code == 200
    body = assert_problem(client.post(f"{API}/collections/", {}, format="json"), 403)
    assert "CSRF" in body["detail"]


# --- issue_token ----------------------------------------------------------------------


def run_issue_token(*args: str) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_issue_token_for_a_clinic_prints_a_working_token_last(clinic_a):
    key = run_issue_token("--clinic", "CLINIC-A")
    token = token_authenticate(key)
    assert token is not None and token.clinic == clinic_a and token.expires_at is None
    assert bearer(key).get(f"{API}/protocols/").status_code == 200


def test_issue_token_for_a_user_with_expiry(user_with_role):
    user = user_with_role(Role.TECHNICIAN)
    key = run_issue_token("--user", user.username, "--expires-days", "3")
    token = token_authenticate(key)
    assert token.user == user
    assert dt.timedelta(days=2, hours=23) < token.expires_at - timezone.now() <= dt.timedelta(days=3)


@pytest.mark.parametrize(
    "args",
    [
        ("--clinic", "NOPE"),
        ("--user", "nobody"),
        ("--clinic", "CLINIC-A", "--user", "x"),
        (),
        ("--clinic", "CLINIC-A", "--expires-days", "0"),
        ("--clinic", "CLINIC-A", "--expires-days", "99999999999"),
    ],
)
def test_issue_token_refuses_bad_arguments(clinic_a, args):
    with pytest.raises(CommandError):
        call_command("issue_token", *args, stdout=StringIO())
