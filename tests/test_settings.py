"""Production refuses to start without its secrets; no secret lives in the repository."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "LIMS_ENV": "production",
    "SECRET_KEY": "a-long-random-secret-for-this-test-only-7f3a9c2e1b8d4f6a0e5c9b7d3a1f",
    "ALLOWED_HOSTS": "lims.example.org",
    "DATABASE_URL": "postgres://lims@db.invalid:5432/lims",
}


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with exactly ``env`` (plus PATH)."""
    code = "import django; from django.conf import settings; settings.DEBUG; print('DEBUG', settings.DEBUG)"
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "lims.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without_each_secret(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = load_settings(env)
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr


def test_production_is_the_default_profile_and_runs_without_debug():
    env = {k: v for k, v in PRODUCTION.items() if k != "LIMS_ENV"}
    result = load_settings(env)
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


def test_an_unknown_profile_is_refused():
    assert "LIMS_ENV must be" in load_settings({**PRODUCTION, "LIMS_ENV": "staging"}).stderr


@pytest.mark.parametrize(
    "key", ["insecure-development-key-never-used-in-production", "django-insecure-" + "x" * 50, "short-key"]
)
def test_production_refuses_the_development_or_a_weak_secret_key(key):
    result = load_settings({**PRODUCTION, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY is the development key or too weak" in result.stderr


def test_production_refuses_debug():
    result = load_settings({**PRODUCTION, "DJANGO_DEBUG": "true"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be off in production" in result.stderr


def test_check_deploy_is_clean_in_production():
    env = {"PATH": os.environ["PATH"], **PRODUCTION, "DATABASE_URL": os.environ.get("DATABASE_URL", "")}
    if not env["DATABASE_URL"]:
        pytest.skip("needs a DATABASE_URL to connect the checks to")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_every_page_carries_a_content_security_policy_without_inline_script(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'"


def test_the_api_schema_needs_a_login_in_production():
    code = (
        "import django; django.setup(); from django.conf import settings;"
        "print(settings.SPECTACULAR_SETTINGS['SERVE_PERMISSIONS'])"
    )
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "lims.settings", **PRODUCTION}

    def run(extra: dict[str, str]) -> str:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    assert "IsAuthenticated" in run({})
    assert "AllowAny" in run({"API_SCHEMA_PUBLIC": "true"})
