"""A lease per sweep run, so two beats or two workers never run the same sweep twice at once.

Scale-out puts two Celery workers (and, by mistake, two beats) on one database.
The sweeps are idempotent already (flags are reconciled against a partial unique
index), but doubled runs waste the database and can race on notifications. So
every scheduled sweep runs inside :func:`sweep_lease`:

1. ``pg_try_advisory_lock`` on a key per sweep name: a second caller does not
   wait, it skips. The lock belongs to the database session, so a worker killed
   with SIGKILL mid-sweep releases it when its connection dies, and the
   redelivered task (``acks_late`` + ``reject_on_worker_lost``) runs again.
2. Under the lock, re-read the latest finished run: if one finished less than
   ``min_interval`` ago, this call is a duplicate from a second beat and skips.
3. Otherwise record a ``SweepRun``, run, and mark it completed (or failed).

Decide after you lock: the skip decision is taken only while holding the lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.utils import timezone

from monitoring.models import SweepRun

logger = logging.getLogger(__name__)

# A duplicate beat fires within seconds of the real one; a real schedule is minutes apart.
DEFAULT_MIN_INTERVAL = dt.timedelta(seconds=60)
KEEP_RUNS = dt.timedelta(days=30)


def _lock_key(name: str) -> str:
    return f"lims.sweep.{name}"


def _try_lock(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [_lock_key(name)])
        return bool(cursor.fetchone()[0])


def _unlock(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_lock_key(name)])


@contextmanager
def sweep_lease(
    name: str, *, min_interval: dt.timedelta = DEFAULT_MIN_INTERVAL, now: dt.datetime | None = None
) -> Iterator[SweepRun | None]:
    """Yield a new ``SweepRun`` to run under, or ``None`` when this run must be skipped.

    The caller runs the sweep only when it gets a run; on an exception the run
    is marked failed and the exception propagates (Celery retries it).
    """
    if not _try_lock(name):
        logger.info("sweep %s skipped: another run holds the lease", name)
        yield None
        return
    try:
        started = now or timezone.now()
        latest = latest_completed(name)
        if latest is not None and latest.finished_at and started - latest.finished_at < min_interval:
            logger.info("sweep %s skipped: a run finished at %s", name, latest.finished_at.isoformat())
            yield None
            return
        run = SweepRun.objects.create(name=name, started_at=started, worker=socket.gethostname())
        try:
            yield run
        except BaseException:
            SweepRun.objects.filter(pk=run.pk).update(
                outcome=SweepRun.Outcome.FAILED, finished_at=timezone.now()
            )
            raise
        run.finished_at = timezone.now()
        run.outcome = SweepRun.Outcome.COMPLETED
        run.save(update_fields=["finished_at", "outcome", "summary"])
        SweepRun.objects.filter(name=name, started_at__lt=started - KEEP_RUNS).delete()
    finally:
        _unlock(name)


def latest_completed(name: str) -> SweepRun | None:
    """The most recent run of sweep ``name`` that completed."""
    return (
        SweepRun.objects.filter(name=name, outcome=SweepRun.Outcome.COMPLETED)
        .order_by("-finished_at")
        .first()
    )


def sweep_staleness(*, now: dt.datetime | None = None, name: str = "sweep_all") -> dict[str, object]:
    """How old the last completed sweep is, against ``SWEEP_STALE_AFTER`` (seconds).

    ``ok`` is False when no sweep has completed within the threshold, which is
    what an operator (``/readyz``) and QA (the banner) need to see.
    """
    now = now or timezone.now()
    threshold = dt.timedelta(seconds=settings.SWEEP_STALE_AFTER)
    latest = latest_completed(name)
    finished = latest.finished_at if latest else None
    age = (now - finished) if finished else None
    return {
        "ok": age is not None and age <= threshold,
        "last_completed_at": finished.isoformat() if finished else None,
        "age_seconds": round(age.total_seconds()) if age is not None else None,
        "threshold_seconds": round(threshold.total_seconds()),
    }
