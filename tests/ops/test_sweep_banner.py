"""QA sees a banner when the background sweeps are stale; nobody else does, and it goes when a sweep completes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from core.roles import Role
from monitoring.models import SweepRun
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BANNER = "Background checks"


def page_for(role: Role) -> str:
    client = Client()
    client.force_login(UserFactory(role=role))
    response = client.get("/notifications/")
    assert response.status_code == 200
    return response.content.decode()


def test_qa_sees_the_banner_when_no_sweep_completed_recently_and_others_do_not():
    finished = timezone.now() - dt.timedelta(minutes=40)
    SweepRun.objects.create(name="sweep_all", started_at=finished, finished_at=finished, outcome="completed")
    assert BANNER in page_for(Role.QA)
    assert BANNER not in page_for(Role.TECHNICIAN)


def test_the_banner_goes_once_a_sweep_completes():
    assert BANNER in page_for(Role.QA)  # never swept
    now = timezone.now()
    SweepRun.objects.create(name="sweep_all", started_at=now, finished_at=now, outcome="completed")
    assert BANNER not in page_for(Role.QA)
