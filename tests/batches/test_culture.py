"""Culture steps drive the batch lifecycle; each refusal says why and changes nothing."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from batches.models import Batch, CultureStep, Dose, Finding
from batches.selectors import effective_steps
from batches.services import collection_create, step_amend, therapy_create
from compliance.models import AuditEntry
from core.errors import DomainError
from tests.batches.conftest import DAY, HOUR, log
from tests.factories import PatientFactory, coordinator_of, protocol, scan

pytestmark = pytest.mark.django_db


def snapshot(batch: Batch) -> tuple:
    batch.refresh_from_db()
    return (
        batch.status,
        batch.steps.count(),
        Dose.objects.filter(batch=batch).count(),
        AuditEntry.objects.count(),
    )


def assert_refused(batch: Batch, code: str, call) -> DomainError:
    before = snapshot(batch)
    with pytest.raises(DomainError) as refused:
        call()
    assert code in [b.code for b in refused.value.blockers]
    assert snapshot(batch) == before
    return refused.value


def test_receipt_moves_the_batch_to_received(batch, technician):
    step = log(batch, "receipt", technician, temperature_c=18, seal_intact=True)

    batch.refresh_from_db()
    assert batch.status == "received"
    assert (step.performed_by, step.scanned_identifier) == (technician, scan(batch.din))
    assert not batch.findings.exists()


def test_the_full_culture_moves_the_batch_through_every_state(in_culture, technician):
    now = timezone.now()
    log(in_culture, "feeding", technician, medium_lot="M-2", performed_at=now - 15 * HOUR)
    log(
        in_culture,
        "cell_count",
        technician,
        viable_cells=40_000_000,
        viability_pct=95,
        confluence_pct=70,
        performed_at=now - 10 * HOUR,
    )
    log(
        in_culture,
        "passage",
        technician,
        viable_cells=60_000_000,
        seeded_cells=60_000_000,
        viability_pct=94,
        performed_at=now - 8 * HOUR,
    )
    log(
        in_culture,
        "harvest",
        technician,
        viable_cells=150_000_000,
        viability_pct=93,
        performed_at=now - 2 * HOUR,
    )
    assert Batch.objects.get(pk=in_culture.pk).status == "harvested"

    log(in_culture, "formulation", technician, doses=1, cells_per_dose=100_000_000, volume_ml_per_dose=50)

    in_culture.refresh_from_db()
    assert in_culture.status == "pending_release"
    (dose,) = in_culture.doses.all()
    assert (dose.dose_id, dose.cells, dose.status) == (f"{in_culture.din}-1", 100_000_000, "pending_release")
    assert CultureStep.objects.get(batch=in_culture, kind="passage").passage_number == 1


def test_step_in_the_wrong_state_is_refused(batch, technician):
    error = assert_refused(
        batch,
        "wrong_state",
        lambda: log(batch, "seeding", technician, seeded_cells=1_000_000, medium_lot="M", serum_din="x"),
    )
    assert "awaiting receipt" in str(error)


def test_wrong_check_character_is_refused_and_recorded(batch, technician):
    wrong_k = batch.din + ("0" if scan(batch.din)[-1] != "0" else "1")
    from batches.services import step_record

    with pytest.raises(DomainError, match="does not match DIN"):
        step_record(
            batch=batch,
            kind="receipt",
            actor=technician,
            scanned_identifier=wrong_k,
            temperature_c=5,
            seal_intact=True,
        )

    batch.refresh_from_db()
    assert batch.status == "awaiting_receipt" and not batch.steps.exists()
    failure = batch.findings.get()
    assert (failure.kind, failure.scanned_identifier, failure.recorded_by) == (
        "identity_mismatch",
        wrong_k,
        technician,
    )


def test_scanning_another_batch_is_refused_and_recorded(batch, therapy, technician):
    other = collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=timezone.now() - HOUR,
        volume_ml=20,
        actor=coordinator_of(therapy.patient.clinic),
    )
    from batches.services import step_record

    with pytest.raises(DomainError, match="wrong item"):
        step_record(
            batch=batch,
            kind="receipt",
            actor=technician,
            scanned_identifier=scan(other.din),
            temperature_c=5,
            seal_intact=True,
        )

    assert batch.findings.get().kind == "identity_mismatch"
    assert Batch.objects.get(pk=batch.pk).status == "awaiting_receipt"


def test_a_scan_without_check_character_is_refused(batch, technician):
    from batches.services import step_record

    with pytest.raises(DomainError, match="14 characters"):
        step_record(
            batch=batch,
            kind="receipt",
            actor=technician,
            scanned_identifier=batch.din,
            temperature_c=5,
            seal_intact=True,
        )


def test_missing_values_are_named(batch, technician):
    error = assert_refused(
        batch, "missing_field", lambda: log(batch, "receipt", technician, seal_intact=True)
    )
    assert "temperature_c" in str(error)


def test_future_step_is_refused(batch, technician):
    assert_refused(
        batch, "future_time",
        lambda: log(batch, "receipt", technician, temperature_c=5, seal_intact=True, performed_at=timezone.now() + DAY),
    )  # fmt: skip


def test_step_before_the_collection_is_refused(batch, technician):
    assert_refused(
        batch, "before_previous_step",
        lambda: log(batch, "receipt", technician, temperature_c=5, seal_intact=True, performed_at=timezone.now() - 3 * DAY),
    )  # fmt: skip


def test_receipt_out_of_range_records_findings_for_qa(batch, technician):
    log(batch, "receipt", technician, temperature_c=31, seal_intact=False)

    kinds = set(batch.findings.values_list("kind", flat=True))
    assert kinds == {"temperature_excursion", "seal_broken"}
    assert Batch.objects.get(pk=batch.pk).status == "received"


def test_late_receipt_is_a_finding(therapy, technician):
    batch = collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=timezone.now() - 3 * DAY,
        volume_ml=30,
        actor=coordinator_of(therapy.patient.clinic),
    ).batch

    log(batch, "receipt", technician, temperature_c=10, seal_intact=True)

    assert "72 h after collection" in batch.findings.get(kind="late_receipt").detail


def test_seeding_needs_autologous_serum_when_the_protocol_uses_it(received, technician):
    assert_refused(
        received,
        "missing_field",
        lambda: log(received, "seeding", technician, seeded_cells=1_000_000, medium_lot="M"),
    )


def test_serum_from_another_therapy_is_refused(received, technician):
    elsewhere = PatientFactory()
    stranger = therapy_create(patient=elsewhere, protocol=protocol(), actor=coordinator_of(elsewhere.clinic))
    foreign = collection_create(
        therapy=stranger,
        kind="peripheral_blood",
        collected_at=timezone.now() - DAY,
        volume_ml=240,
        actor=coordinator_of(stranger.patient.clinic),
    )

    error = assert_refused(
        received, "serum_not_autologous",
        lambda: log(received, "seeding", technician, seeded_cells=1_000_000, medium_lot="M", serum_din=foreign.din),
    )  # fmt: skip
    assert "autologous serum only" in str(error)


def test_bone_marrow_is_not_serum(received, therapy, technician):
    marrow = collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=timezone.now() - DAY,
        volume_ml=20,
        actor=coordinator_of(therapy.patient.clinic),
    )
    assert_refused(
        received, "serum_not_blood",
        lambda: log(received, "seeding", technician, seeded_cells=1_000_000, medium_lot="M", serum_din=marrow.din),
    )  # fmt: skip


def test_absurd_counts_are_refused_as_invalid_values(in_culture, technician):
    before = snapshot(in_culture)
    with pytest.raises(ValidationError):
        log(in_culture, "cell_count", technician, viable_cells=10, viability_pct=130)
    with pytest.raises(ValidationError):
        log(in_culture, "cell_count", technician, viable_cells=-5, viability_pct=90)
    assert snapshot(in_culture) == before


@pytest.fixture
def harvested(in_culture, technician):
    log(
        in_culture,
        "harvest",
        technician,
        viable_cells=300_000_000,
        viability_pct=92,
        performed_at=timezone.now() - HOUR,
    )
    return in_culture


def test_dose_over_the_patients_cells_per_kg_cap_is_refused(harvested, technician):
    # 40 kg x 3.34e6 cells/kg caps a dose at 1.336e8, below the protocol's 2e8 maximum.
    patient = harvested.therapy.patient
    type(patient).objects.filter(pk=patient.pk).update(weight_kg=40)  # cap 1.336e8
    error = assert_refused(
        harvested, "dose_over_cap",
        lambda: log(harvested, "formulation", technician, doses=1, cells_per_dose=150_000_000, volume_ml_per_dose=50),
    )  # fmt: skip
    assert "cap of 1.34e+08" in str(error)


def test_dose_outside_the_protocol_range_and_count_are_refused_together(harvested, technician):
    error = assert_refused(
        harvested, "dose_out_of_range",
        lambda: log(harvested, "formulation", technician, doses=3, cells_per_dose=10_000_000, volume_ml_per_dose=50),
    )  # fmt: skip
    assert {"dose_out_of_range", "dose_count"} <= {b.code for b in error.blockers}


def test_more_cells_than_harvested_is_refused(harvested, technician):
    from batches.models import ProcessingProtocol

    ProcessingProtocol.objects.filter(pk=harvested.therapy.protocol_id).update(doses_per_batch=2)
    assert_refused(
        harvested, "not_enough_cells",
        lambda: log(harvested, "formulation", technician, doses=2, cells_per_dose=200_000_000, volume_ml_per_dose=50),
    )  # fmt: skip


def test_amendment_keeps_the_original_and_needs_a_reason(in_culture, technician, qa_user):
    count = log(
        in_culture,
        "cell_count",
        technician,
        viable_cells=40_000_000,
        viability_pct=95,
        performed_at=timezone.now() - 5 * HOUR,
    )

    with pytest.raises(DomainError, match="needs a reason"):
        step_amend(step=count, actor=qa_user, reason=" ", viable_cells=4_000_000)
    fixed = step_amend(
        step=count, actor=qa_user, reason="transcription error: 4.0e6, not 4.0e7", viable_cells=4_000_000
    )

    assert CultureStep.objects.filter(pk=count.pk, viable_cells=40_000_000).exists()  # original untouched
    assert (fixed.amends, fixed.viable_cells, fixed.performed_by) == (count, 4_000_000, qa_user)
    current = [s for s in effective_steps(in_culture) if s.kind == "cell_count"]
    assert current == [fixed]
    entry = AuditEntry.objects.filter(table_name="batches_culturestep", object_pk=str(fixed.pk)).get()
    assert entry.reason == "transcription error: 4.0e6, not 4.0e7"


def test_a_step_is_amended_once_then_its_amendment_is(in_culture, technician):
    count = log(
        in_culture,
        "cell_count",
        technician,
        viable_cells=40_000_000,
        viability_pct=95,
        performed_at=timezone.now() - 5 * HOUR,
    )
    first = step_amend(step=count, actor=technician, reason="typo", viable_cells=41_000_000)

    with pytest.raises(DomainError, match="already corrected"):
        step_amend(step=count, actor=technician, reason="again", viable_cells=42_000_000)
    second = step_amend(step=first, actor=technician, reason="recount", viable_cells=42_000_000)
    assert second.amends == first


def test_collection_outside_the_harvest_window_is_refused(technician):
    patient = PatientFactory(injury_date=timezone.localdate() - dt.timedelta(days=35))
    therapy = therapy_create(
        patient=patient,
        protocol=protocol(),
        on=timezone.localdate() - dt.timedelta(days=10),
        actor=coordinator_of(patient.clinic),
    )

    with pytest.raises(DomainError, match="harvest") as refused:
        collection_create(
            therapy=therapy,
            kind="bone_marrow",
            collected_at=timezone.now(),
            volume_ml=30,
            actor=coordinator_of(therapy.patient.clinic),
        )

    assert [b.code for b in refused.value.blockers] == ["outside_window"]
    assert not therapy.collections.exists()
    # Blood for serum has no harvest window.
    assert collection_create(
        therapy=therapy,
        kind="peripheral_blood",
        collected_at=timezone.now(),
        volume_ml=240,
        actor=coordinator_of(therapy.patient.clinic),
    )


def test_ineligible_patient_gets_no_therapy_and_every_reason(db):
    patient = PatientFactory(malignancy_history=True, injury_type="transection", asia_grade="E")

    with pytest.raises(DomainError) as refused:
        therapy_create(patient=patient, protocol=protocol(), actor=coordinator_of(patient.clinic))

    assert {b.code for b in refused.value.blockers} == {"malignancy_history", "transected_cord", "asia_grade"}
    assert not patient.therapies.exists()


def test_eligible_therapy_keeps_its_eligibility_answer(therapy):
    assert therapy.eligibility == {"eligible": True, "reasons": []}
    assert therapy.coi.startswith("CHA9999")


def test_findings_stay_open_until_assessed(batch, technician):
    log(batch, "receipt", technician, temperature_c=40, seal_intact=True)
    assert Finding.objects.filter(batch=batch, assessed_at__isnull=True).count() == 1
