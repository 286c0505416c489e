"""Health endpoints for load balancers and operators.

* ``/healthz`` (liveness): the process answers and the database says ``SELECT 1``.
  Cheap on purpose; no authentication, no other work.
* ``/readyz`` (readiness): the database, the broker, and the age of the last
  completed background sweep against ``SWEEP_STALE_AFTER``. 503 with every
  check's state when any fails, so a dead worker or beat (flags silently going
  stale) is visible to whatever polls it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

BROKER_TIMEOUT_SECONDS = 1.0


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any failure to reach the database is "unhealthy"
        return False
    return True


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; no authentication, no other work."""
    if not _database_ok():
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})


def _broker() -> dict[str, object]:
    """Redis answers PING within a second (or, without Redis, the filesystem queue is writable)."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        return {"ok": folder.is_dir() and folder.exists(), "kind": "filesystem"}
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS
    )
    try:
        return {"ok": bool(client.ping()), "kind": "redis"}
    except (redis.RedisError, OSError):
        return {"ok": False, "kind": "redis"}
    finally:
        client.close()


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the background sweeps are all healthy; else 503."""
    from monitoring.runs import sweep_staleness

    database = _database_ok()
    checks: dict[str, dict[str, object]] = {"database": {"ok": database}, "broker": _broker()}
    checks["sweeps"] = sweep_staleness() if database else {"ok": False, "reason": "database unavailable"}
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
