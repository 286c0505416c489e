"""docker-compose.yml is valid Compose and keeps its secrets out of the repository.

No database and no Django needed: ``pytest tests/test_compose.py -p no:django``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = {"postgres", "redis", "web", "worker", "beat"}
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY", re.IGNORECASE)
REQUIRED_INTERPOLATION = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]*\}$")


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whether written as a mapping or a list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def test_compose_file_matches_the_compose_specification() -> None:
    check_jsonschema = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(check_jsonschema), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_has_a_healthcheck_and_no_secret_is_written_down() -> None:
    compose = load_compose()
    assert "version" not in compose
    services = compose["services"]
    assert set(services) == SERVICES

    for name, service in services.items():
        healthcheck = service.get("healthcheck") or {}
        assert healthcheck.get("test"), f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name} disables its healthcheck"
        for dependency in (service.get("depends_on") or {}).values():
            assert dependency["condition"] == "service_healthy", name

        env = environment(service)
        for key, value in env.items():
            if SECRET_NAMES.search(key):
                assert REQUIRED_INTERPOLATION.match(value), (
                    f"{name}: {key} must be ${{{key}:?...}}, not a value"
                )
        if "DATABASE_URL" in env:
            password = re.match(r"^[a-z]+://[^:@/]+:([^@]*)@", env["DATABASE_URL"])
            assert password and REQUIRED_INTERPOLATION.match(password.group(1)), name

    lims_env = environment(services["web"])
    assert lims_env["LIMS_ENV"] == "production"
    assert lims_env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert lims_env["ALLOWED_HOSTS"].startswith("${ALLOWED_HOSTS:?")
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert "healthz" in web_check or "healthcheck.py web" in web_check  # the script GETs /healthz
