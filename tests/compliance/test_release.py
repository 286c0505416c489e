"""QC, deviations, checklist, signatures and release: nothing leaves without QA."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from batches.models import Batch, Dose, Finding
from batches.services import step_amend
from compliance.models import AuditEntry, Deviation, QcResult, Signature, User
from compliance.selectors import checklist_status
from compliance.services.checklists import checklist_item_sign
from compliance.services.deviations import (
    deviation_close,
    deviation_investigate,
    deviation_open,
    finding_assess,
)
from compliance.services.qc import qc_result_record
from compliance.services.release import batch_release
from core.errors import DomainError, NotPermitted, SignatureRefused
from core.roles import Role
from tests.builders import formulated_batch, record_qc, released_batch, sign_checklist
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def codes(error) -> set[str]:
    return {b.code for b in error.value.blockers}


def test_happy_path_release_gives_every_dose_its_expiry(staff):
    batch = released_batch(staff)

    assert batch.status == "released"
    (dose,) = batch.doses.all()
    assert dose.status == "available"
    assert dose.expires_at == batch.release_decisions.get().decided_at + dt.timedelta(hours=30 * 24)
    signature = batch.release_decisions.get().signature
    assert (signature.printed_name, signature.meaning, signature.signer) == (
        "Hanako QA",
        "approved",
        staff.qa,
    )


def test_release_is_refused_with_every_blocker_and_changes_nothing(staff):
    batch = formulated_batch(staff)
    record_qc(batch, staff, sterility="growth")  # opens a critical deviation and quarantines
    batch.refresh_from_db()
    assert batch.status == "quarantined"

    with pytest.raises(DomainError) as refused:
        batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")

    assert {"wrong_state", "checklist_incomplete", "qc_failed", "deviation_open"} <= codes(refused)
    assert Batch.objects.get(pk=batch.pk).status == "quarantined"
    assert not Signature.objects.filter(record_type="batch_release").exists()


def test_oos_opens_a_deviation_quarantines_and_retest_needs_an_investigation(staff):
    batch = formulated_batch(staff)

    failed = qc_result_record(batch=batch, test="viability", value=55, actor=staff.qc)

    assert not failed.within_spec
    deviation = failed.deviation
    assert (deviation.severity, deviation.status) == ("major", "open")
    assert Batch.objects.get(pk=batch.pk).status == "quarantined"
    with pytest.raises(DomainError) as refused:
        qc_result_record(batch=batch, test="viability", value=85, actor=staff.qc)
    assert codes(refused) == {"investigation_required"}

    deviation_investigate(deviation=deviation, actor=staff.qa, investigation="Counting error: clumped sample")
    retest = qc_result_record(batch=batch, test="viability", value=85, actor=staff.qc)

    assert retest.within_spec and retest.retest_of == failed
    assert QcResult.objects.filter(batch=batch, test="viability").count() == 2  # both stay visible


def test_closing_the_last_blocking_deviation_lifts_quarantine_then_release_succeeds(staff):
    batch = formulated_batch(staff)
    record_qc(batch, staff, viability=60)
    deviation = Deviation.objects.get(batch=batch)
    deviation_investigate(deviation=deviation, actor=staff.qa2, investigation="Instrument calibration drift")
    qc_result_record(batch=batch, test="viability", value=90, actor=staff.qc)

    deviation_close(
        deviation=deviation,
        actor=staff.qa2,
        password=PASSWORD,
        impact_assessment="Retest valid",
        capa="Recalibrate weekly",
    )

    batch.refresh_from_db()
    assert batch.status == "pending_release"
    assert (
        deviation.closure_signature is None
        and Deviation.objects.get(pk=deviation.pk).closure_signature.meaning == "approved"
    )
    sign_checklist(batch, staff)
    batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")
    assert Batch.objects.get(pk=batch.pk).status == "released"


def test_minor_deviation_needs_a_signed_assessment_not_closure(staff):
    from compliance.services.deviations import deviation_assess

    batch = formulated_batch(staff)
    record_qc(batch, staff)
    deviation = deviation_open(
        batch=batch, severity="minor", description="Label printer jam; relabelled", actor=staff.tech
    )
    assert Batch.objects.get(pk=batch.pk).status == "pending_release"  # minor: no quarantine
    sign_checklist_except = [e.item.code for e in checklist_status(batch).items if not e.complete]
    assert "deviations_closed" in sign_checklist_except

    deviation_assess(
        deviation=deviation, actor=staff.qa2, password=PASSWORD, impact_assessment="No product impact"
    )
    sign_checklist(batch, staff)
    batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")

    assert Batch.objects.get(pk=batch.pk).status == "released"


def test_a_finding_blocks_release_until_qa_assesses_it(staff):
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    finding = Finding.objects.create(
        batch=batch, kind="temperature_excursion", detail="26 °C in transit", occurred_at=timezone.now()
    )

    status = {e.item.code: e for e in checklist_status(batch).items}
    assert status["custody_identity"].evidence.ok is False
    with pytest.raises(DomainError) as refused:
        checklist_item_sign(
            batch=batch, item_code="custody_identity", actor=staff.qa2, password=PASSWORD, meaning="reviewed"
        )
    assert codes(refused) == {"evidence_failing"}

    finding_assess(finding=finding, actor=staff.qa2, password=PASSWORD, assessment="Within stability data")
    sign_checklist(batch, staff)
    batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")


def test_a_change_after_signing_invalidates_the_signatures_and_reopens_the_item(staff):
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    sign_checklist(batch, staff)
    assert checklist_status(batch).complete

    count = batch.steps.get(kind="cell_count")
    step_amend(step=count, actor=staff.tech, reason="transcription error", viable_cells=61_000_000)

    status = {e.item.code: e for e in checklist_status(batch).items}
    assert not status["batch_record_complete"].complete
    assert all(not valid for _, valid in status["batch_record_complete"].signatures)
    assert status["qc_within_spec"].complete  # a QC signature covers QC only
    with pytest.raises(DomainError) as refused:
        batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")
    assert "checklist_incomplete" in codes(refused)


def test_release_signature_becomes_invalid_when_the_record_changes(staff):
    from compliance.selectors import release_signature_valid

    batch = released_batch(staff)
    assert release_signature_valid(batch) is True

    step_amend(
        step=batch.steps.get(kind="harvest"),
        actor=staff.tech,
        reason="late correction",
        viable_cells=140_000_000,
    )

    assert release_signature_valid(batch) is False


def test_segregation_of_duties(staff):
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    checklist_item_sign(
        batch=batch,
        item_code="batch_record_complete",
        actor=staff.tech2,
        password=PASSWORD,
        meaning="reviewed",
    )

    with pytest.raises(NotPermitted, match="you reviewed this item"):
        checklist_item_sign(
            batch=batch,
            item_code="batch_record_complete",
            actor=staff.tech2,
            password=PASSWORD,
            meaning="verified",
        )
    with pytest.raises(NotPermitted, match="performed steps"):
        checklist_item_sign(
            batch=batch,
            item_code="batch_record_complete",
            actor=staff.tech,
            password=PASSWORD,
            meaning="verified",
        )
    with pytest.raises(NotPermitted, match="is reviewed by qc"):
        checklist_item_sign(
            batch=batch, item_code="qc_within_spec", actor=staff.tech, password=PASSWORD, meaning="reviewed"
        )
    # The QC analyst tested this batch: even holding the QA role too, they cannot release it.
    staff.qc.groups.add(Group.objects.get(name=Role.QA))
    analyst_with_qa_role = User.objects.get(pk=staff.qc.pk)
    with pytest.raises(NotPermitted, match="Segregation of duties"):
        batch_release(batch=batch, actor=analyst_with_qa_role, password=PASSWORD, decision="release")
    with pytest.raises(NotPermitted, match="Only QA"):
        batch_release(batch=batch, actor=staff.tech2, password=PASSWORD, decision="release")


def test_wrong_passwords_lock_signing_for_15_minutes_and_every_failure_is_recorded(staff):
    batch = formulated_batch(staff)
    record_qc(batch, staff)

    def sign(password):
        checklist_item_sign(
            batch=batch, item_code="qc_within_spec", actor=staff.qc, password=password, meaning="reviewed"
        )

    for _ in range(5):
        with pytest.raises(SignatureRefused) as refused:
            sign("wrong")
        assert refused.value.code == "wrong_password"
    with pytest.raises(SignatureRefused) as refused:
        sign(PASSWORD)  # the right password, but locked
    assert refused.value.code == "signing_locked"
    failures = AuditEntry.objects.filter(
        table_name="compliance_user", object_pk=str(staff.qc.pk), reason__startswith="signature refused"
    )
    assert failures.count() == 5, "the five counted failures; the attempt while locked is refused uncounted"
    assert not Signature.objects.filter(signer=staff.qc).exists()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        sign(PASSWORD)
    assert Signature.objects.filter(signer=staff.qc, meaning="reviewed").count() == 1


def test_attempts_while_locked_do_not_extend_the_lock(staff):
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    start = timezone.now()

    def sign(password):
        checklist_item_sign(
            batch=batch, item_code="qc_within_spec", actor=staff.qc, password=password, meaning="reviewed"
        )

    for _ in range(5):
        with pytest.raises(SignatureRefused):
            sign("wrong")
    locked_until = User.objects.get(pk=staff.qc.pk).signing_locked_until
    # Someone keeps hammering during the lock, with wrong and right passwords, until minute 14.
    for minute in range(1, 15):
        with time_machine.travel(start + dt.timedelta(minutes=minute)):
            for password in ("wrong", "wrong", PASSWORD):
                with pytest.raises(SignatureRefused) as refused:
                    sign(password)
                assert refused.value.code == "signing_locked"
    assert User.objects.get(pk=staff.qc.pk).signing_locked_until == locked_until
    with time_machine.travel(locked_until + dt.timedelta(seconds=1)):
        sign(PASSWORD)  # the lock ended when it said it would
    assert Signature.objects.filter(signer=staff.qc, meaning="reviewed").count() == 1


def test_reject_needs_a_reason_and_makes_doses_unavailable(staff):
    batch = formulated_batch(staff)
    with pytest.raises(DomainError) as refused:
        batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="reject")
    assert codes(refused) == {"reason_required"}

    batch_release(
        batch=batch, actor=staff.qa, password=PASSWORD, decision="reject", reason="Viability trend poor"
    )

    assert Batch.objects.get(pk=batch.pk).status == "rejected"
    assert set(Dose.objects.filter(batch=batch).values_list("status", flat=True)) == {"unavailable"}


def test_endotoxin_limit_is_k_over_m_from_the_route_and_dose(staff):
    batch = formulated_batch(staff)  # IV: K = 5 EU/kg; 68.5 kg, 50 mL per dose -> 6.85 EU/mL

    high = qc_result_record(batch=batch, test="endotoxin", value=7.0, actor=staff.qc)

    assert not high.within_spec
    assert high.specification["limit"] == "6.850"
    assert high.deviation.severity == "critical"


def test_qc_result_needs_the_protocol_test_and_a_possible_value(staff):
    batch = formulated_batch(staff)
    with pytest.raises(DomainError) as refused:
        qc_result_record(batch=batch, test="cd19", value=1, actor=staff.qc)
    assert codes(refused) == {"unknown_test"}
    with pytest.raises(DomainError):
        qc_result_record(batch=batch, test="viability", value=140, actor=staff.qc)
    with pytest.raises(DomainError):
        qc_result_record(batch=batch, test="sterility", result="maybe", actor=staff.qc)
    with pytest.raises(NotPermitted):
        qc_result_record(batch=batch, test="viability", value=90, actor=staff.tech)
    assert not QcResult.objects.filter(batch=batch).exists()


def test_checklist_keeps_the_template_version_the_batch_started_with(staff):
    from compliance.models import ChecklistTemplate

    batch = formulated_batch(staff)
    ChecklistTemplate.objects.create(
        code="GCTP-RELEASE", version=2, name="v2", effective_from=timezone.now() + dt.timedelta(days=1)
    )

    assert checklist_status(batch).template.version == 1
