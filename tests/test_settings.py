"""Production refuses to start without its secrets; no secret lives in the repository."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "LIMS_ENV": "production",
    "SECRET_KEY": "a-long-random-secret-for-this-test-only",
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
