#!/usr/bin/env python3
"""Container healthchecks for docker-compose.yml (standard library only).

``healthcheck.py web``: GET /healthz on the local gunicorn must answer 200. The
request names the first ALLOWED_HOSTS entry as its Host and says it came over
HTTPS (X-Forwarded-Proto), so production's host check and SSL redirect pass.

``healthcheck.py beat SCHEDULE``: beat has written its schedule file and the
Celery broker accepts a connection.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path


def health_host() -> str:
    """A Host header that ALLOWED_HOSTS accepts ('*' and '.domain' forms handled)."""
    first = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip()
    if not first or first == "*":
        return "localhost"
    return first.lstrip(".")


def check_web() -> bool:
    """True when /healthz answers 200."""
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        headers={"Host": health_host(), "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (fixed local http URL)
        return response.status == 200


def check_beat(schedule: str) -> bool:
    """True when the schedule file exists and the broker accepts a connection."""
    if not any(Path(schedule).parent.glob(Path(schedule).name + "*")):
        return False
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lims.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=5)
    return True


def main(argv: list[str]) -> int:
    """Exit 0 when healthy, 1 otherwise."""
    try:
        if argv[:1] == ["web"]:
            return 0 if check_web() else 1
        if argv[:1] == ["beat"] and len(argv) == 2:
            return 0 if check_beat(argv[1]) else 1
    except Exception as error:  # any failure means unhealthy
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    print("usage: healthcheck.py web | beat SCHEDULE_FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
