"""Rate limits hold across processes, and guessing tokens is throttled per client address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from api.auth import FailedAuthThrottle
from compliance.tokens import token_issue
from tests.api.conftest import API, assert_problem, bearer

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_throttle_cache_is_shared_never_per_process():
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend in {
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.db.DatabaseCache",
    }


@pytest.mark.django_db
def test_wrong_tokens_from_one_address_get_429_and_other_addresses_do_not(monkeypatch, clinic_a):
    monkeypatch.setattr(FailedAuthThrottle, "THROTTLE_RATES", {"failed_auth": "5/min"})
    guesser = bearer("not-a-token")
    for _ in range(5):
        assert_problem(guesser.get(f"{API}/protocols/", REMOTE_ADDR="203.0.113.7"), 401)
    body = assert_problem(guesser.get(f"{API}/protocols/", REMOTE_ADDR="203.0.113.7"), 429)
    assert "seconds" in body["detail"] or body["detail"]
    refused = guesser.get(f"{API}/protocols/", REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # Another client is not punished for the guesser, and valid tokens elsewhere work.
    assert_problem(guesser.get(f"{API}/protocols/", REMOTE_ADDR="198.51.100.9"), 401)
    ok = bearer(token_issue(clinic=clinic_a)[1]).get(f"{API}/protocols/", REMOTE_ADDR="198.51.100.9")
    assert ok.status_code == 200


@pytest.mark.django_db
def test_a_valid_token_is_not_counted_as_a_failure(monkeypatch, clinic_a):
    monkeypatch.setattr(FailedAuthThrottle, "THROTTLE_RATES", {"failed_auth": "2/min"})
    client = bearer(token_issue(clinic=clinic_a)[1])
    assert all(client.get(f"{API}/protocols/", REMOTE_ADDR="192.0.2.1").status_code == 200 for _ in range(5))


CLIENT_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import django
    django.setup()
    from rest_framework.test import APIClient
    from api.auth import TokenRateThrottle
    TokenRateThrottle.THROTTLE_RATES = {"token": "20/min"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + sys.argv[1])
    print(json.dumps([client.get("/api/v1/protocols/").status_code for _ in range(15)]))
    """
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "RedisCache" not in settings.CACHES["default"]["BACKEND"],
    reason="exact counts need Redis INCR; the database cache (no REDIS_URL) shares counts but not atomically",
)
def test_one_token_is_limited_across_two_processes(clinic_a):
    """Two separate Python processes (two gunicorn workers) share one token's count, exactly."""
    _, key = token_issue(clinic=clinic_a)
    env = {
        **os.environ,
        "LIMS_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "lims.settings_test",
        "DATABASE_URL": _url_of_this_test_database(),
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT_SCRIPT, key], cwd=ROOT, env=env, stdout=subprocess.PIPE
        )
        for _ in range(2)
    ]
    statuses = [status for run in runs for status in json.loads(run.communicate(timeout=120)[0])]
    assert statuses.count(200) == 20, statuses
    assert statuses.count(429) == 10, statuses


def _url_of_this_test_database() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_the_schema_documents_429_on_every_operation():
    schema = APIClient().get("/api/schema/?format=json")  # public outside production
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    operations = [op for item in paths.values() for method, op in item.items() if method in {"get", "post"}]
    assert operations and all("429" in op["responses"] for op in operations)
