"""seed_demo: a demo a newcomer can click through, built by the real services."""

import pytest
from django.core.management import call_command

from batches.models import Batch, Dose, Flag
from batches.selectors import batch_growth, with_effective_steps
from compliance.models import Deviation, Infusion, ReleaseDecision, Signature, User
from compliance.readiness import batch_readiness
from compliance.selectors import release_signature_valid
from core.audit import verify_chain
from monitoring.sweeps import sweep_all

pytestmark = pytest.mark.django_db


def _batch(code: str) -> Batch:
    return Batch.objects.select_related("therapy__protocol", "therapy__patient").get(
        therapy__patient__code=code
    )


def test_seed_demo_covers_the_lifecycle_and_is_idempotent(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (Batch.objects.count(), User.objects.count(), Signature.objects.count())

    call_command("seed_demo")

    assert (Batch.objects.count(), User.objects.count(), Signature.objects.count()) == counts
    assert "nothing changed" in capsys.readouterr().out
    assert "qa " in first and "demo-password" in first
    statuses = set(Batch.objects.values_list("status", flat=True))
    assert {"awaiting_receipt", "received", "in_culture", "harvested", "pending_release", "released",
            "quarantined", "rejected", "discarded", "expired", "infused"} <= statuses  # fmt: skip
    assert verify_chain().intact


def test_seed_demo_quarantines_rejects_and_releases_with_segregation_of_duties():
    call_command("seed_demo", quiet_logins=True)

    quarantined = Batch.objects.filter(status="quarantined")
    assert quarantined.exists()
    for batch in quarantined:
        assert batch.deviations.filter(
            status=Deviation.Status.OPEN, severity__in=["major", "critical"]
        ).exists()
    out_of_spec = _batch("KEIO-0018")
    assert out_of_spec.status == "quarantined"
    assert out_of_spec.deviations.get().qc_result.test == "viability"

    rejection = ReleaseDecision.objects.get(batch__status="rejected")
    assert rejection.decision == "reject" and "Mycoplasma" in rejection.reason
    assert rejection.signature.signer.username == "qa"

    # Segregation of duties: the releaser never performs steps or QC.
    qa = User.objects.get(username="qa")
    assert not Batch.objects.filter(steps__performed_by=qa).exists()
    assert not Batch.objects.filter(qc_results__tested_by=qa).exists()
    decisions = ReleaseDecision.objects.filter(decision="release")
    assert decisions.count() >= 4
    assert {d.signature.signer.username for d in decisions} == {"qa"}


def test_seed_demo_has_doses_ready_now_scheduled_infused_and_expired():
    call_command("seed_demo", quiet_logins=True)

    released = [b for b in Batch.objects.filter(status="released") if batch_readiness(b).ready]
    assert released, "at least one released dose is ready for infusion now"
    assert all(release_signature_valid(b) for b in released)
    assert Infusion.objects.filter(status="scheduled", dose__batch__status="released").exists()

    infused = _batch("KEIO-0016")
    assert infused.status == "infused"
    infusion = Infusion.objects.get(dose__batch=infused)
    assert infusion.status == "administered" and infusion.observations.filter(kind="follow_up").exists()

    expired = _batch("KEIO-0017")
    dose = Dose.objects.get(batch=expired)
    assert expired.status == "expired" and dose.status == "unavailable"
    assert not batch_readiness(expired).ready


def test_seed_demo_sweeps_open_an_overdue_and_an_at_risk_flag():
    call_command("seed_demo", quiet_logins=True)

    sweep_all()

    open_flags = Flag.objects.filter(resolved_at__isnull=True)
    overdue = open_flags.filter(kind=Flag.Kind.CULTURE_OVERDUE).values_list(
        "batch__therapy__patient__code", flat=True
    )
    at_risk = open_flags.filter(kind=Flag.Kind.CULTURE_AT_RISK).values_list(
        "batch__therapy__patient__code", flat=True
    )
    assert "KEIO-0007" in overdue
    assert "KEIO-0006" in at_risk
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
