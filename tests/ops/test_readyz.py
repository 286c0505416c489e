"""/readyz tells a load balancer or an operator about the database, the broker and stale sweeps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from monitoring.models import SweepRun

pytestmark = pytest.mark.django_db


def completed(minutes_ago: float) -> SweepRun:
    finished = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return SweepRun.objects.create(
        name="sweep_all",
        started_at=finished - dt.timedelta(seconds=3),
        finished_at=finished,
        outcome="completed",
    )


def test_ready_when_the_database_the_broker_and_a_recent_sweep_are_fine(client):
    completed(minutes_ago=2)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert 100 <= body["checks"]["sweeps"]["age_seconds"] <= 140
    assert body["checks"]["sweeps"]["threshold_seconds"] == 900


def test_a_stale_sweep_makes_it_unready_and_says_how_stale(client):
    completed(minutes_ago=20)
    body = client.get("/readyz").json()
    assert body["status"] == "unavailable"
    assert body["checks"]["sweeps"]["ok"] is False
    assert body["checks"]["sweeps"]["age_seconds"] >= 20 * 60


def test_no_sweep_ever_is_unready(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["sweeps"]["last_completed_at"] is None


def test_a_failed_run_does_not_count_as_a_sweep(client):
    SweepRun.objects.create(
        name="sweep_all", started_at=timezone.now(), finished_at=timezone.now(), outcome="failed"
    )
    assert client.get("/readyz").status_code == 503


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_a_dead_broker_makes_it_unready(client):
    completed(minutes_ago=1)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "kind": "redis"}


def test_healthz_stays_cheap_and_ignores_the_sweeps(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert client.get("/healthz").status_code == 200
