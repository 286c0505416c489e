"""seed_demo: a demo a newcomer can click through, built by the real services."""

import pytest
from django.core.management import call_command

from batches.models import Batch
from batches.selectors import batch_growth, with_effective_steps
from compliance.audit import verify_chain
from compliance.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_covers_the_lifecycle_and_is_idempotent(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (Batch.objects.count(), User.objects.count())

    call_command("seed_demo")

    assert (Batch.objects.count(), User.objects.count()) == counts
    assert "nothing changed" in capsys.readouterr().out
    assert "qa " in first and "demo-password" in first
    statuses = set(Batch.objects.values_list("status", flat=True))
    assert {"awaiting_receipt", "received", "in_culture", "harvested", "pending_release",
            "quarantined", "rejected", "discarded"} <= statuses  # fmt: skip
    assert verify_chain().intact


def test_seed_demo_cultures_grow_realistically_over_weeks():
    call_command("seed_demo", quiet_logins=True)
    cultures = with_effective_steps(
        Batch.objects.filter(status="in_culture").select_related("therapy__protocol")
    )

    growth = {
        b.therapy.patient.code: batch_growth(b, b.effective_steps)
        for b in cultures.select_related("therapy__patient")
    }

    assert max(g.culture_day for g in growth.values()) > 28  # one overdue culture
    slow = growth["KEIO-0006"]
    assert slow.projection.doubling_time_days > 3.5  # the at-risk one
    assert 1.5 < growth["KEIO-0005"].projection.doubling_time_days < 2.5
