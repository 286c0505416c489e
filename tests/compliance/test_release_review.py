"""An invalidated release never dead-ends: QA sees why, and re-signs the release or rejects."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from batches.models import Batch, Dose
from batches.services import step_amend
from compliance.models import AuditEntry, Infusion, ReleaseDecision, User
from compliance.readiness import batch_readiness
from compliance.selectors import checklist_status, release_signature_valid
from compliance.services.checklists import checklist_item_sign
from compliance.services.release_review import batch_decide, batch_release_review
from compliance.services.scheduling import infusion_schedule
from core.errors import DomainError, NotPermitted
from tests.builders import Staff, released_batch
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def in_window(batch: Batch) -> dt.datetime:
    injury = batch.therapy.patient.injury_date
    return timezone.make_aware(dt.datetime.combine(injury + dt.timedelta(days=35), dt.time(10)))


def codes(blockers) -> set[str]:
    return {b.code for b in blockers}


def amended_after_release(staff: Staff) -> Batch:
    """A released batch whose harvest count was corrected afterwards: a genuine change to the record."""
    batch = released_batch(staff, injured_days_ago=20)
    step_amend(step=batch.steps.get(kind="harvest"), actor=staff.tech, reason="count transcribed wrongly",
               viable_cells=149_000_000)  # fmt: skip
    return batch


def resign_invalid_items(batch: Batch, staff: Staff) -> None:
    """The checklist items covering the changed sections, signed again over the current record."""
    reviewers = {"technician": staff.tech, "qc": staff.qc, "qa": staff.qa2}
    verifiers = {"technician": staff.tech2, "qc": staff.qa2, "qa": staff.qa2}
    for entry in checklist_status(batch).items:
        valid = {s.meaning for s, ok in entry.signatures if ok}
        if "reviewed" not in valid:
            checklist_item_sign(batch=batch, item_code=entry.item.code, actor=reviewers[entry.item.role],
                                password=PASSWORD, meaning="reviewed")  # fmt: skip
        if entry.item.requires_second_person and "verified" not in valid:
            checklist_item_sign(batch=batch, item_code=entry.item.code, actor=verifiers[entry.item.role],
                                password=PASSWORD, meaning="verified")  # fmt: skip


def test_changed_record_after_release_shows_why_then_qa_re_releases_and_the_dose_is_ready(staff):
    batch = amended_after_release(staff)
    blocker = next(
        b for b in batch_readiness(batch, in_window(batch)).blockers if b.code == "signature_invalid"
    )
    assert "(steps)" in blocker.english and "re-sign the release or reject" in blocker.english

    with pytest.raises(DomainError) as refused:  # the checklist items over the steps no longer hold either
        batch_decide(batch=batch, actor=staff.qa, password=PASSWORD, decision="release", reason="checked")
    assert codes(refused.value.blockers) == {"checklist_incomplete"}
    resign_invalid_items(batch, staff)

    batch_decide(batch=batch, actor=staff.qa, password=PASSWORD, decision="release",
                 reason="Corrected harvest count reviewed; dose still within specification")  # fmt: skip

    batch.refresh_from_db()
    assert batch.status == "released" and release_signature_valid(batch) is True
    assert batch_readiness(batch, in_window(batch)).ready is True
    first, second = ReleaseDecision.objects.filter(batch=batch).order_by("decided_at")
    assert (first.decision, second.decision) == ("release", "release")
    assert (
        first.signature.content_hash != second.signature.content_hash
    )  # the old signature is kept as it was
    assert AuditEntry.objects.filter(
        table_name="compliance_releasedecision",
        object_pk=str(second.pk),
        reason__startswith="release re-review",
    ).exists()


def test_qa_rejects_at_re_review_and_the_scheduled_infusion_is_cancelled(staff):
    batch = released_batch(staff, injured_days_ago=20)
    infusion = infusion_schedule(
        dose=batch.doses.get(), scheduled_for=in_window(batch), route="iv", actor=staff.qa
    )
    step_amend(
        step=batch.steps.get(kind="harvest"), actor=staff.tech, reason="recount", viable_cells=40_000_000
    )

    batch_decide(batch=batch, actor=staff.qa, password=PASSWORD, decision="reject", reason="Too few cells")

    batch.refresh_from_db()
    assert batch.status == "rejected"
    assert Dose.objects.get(batch=batch).status == "unavailable"
    assert Infusion.objects.get(pk=infusion.pk).status == "cancelled"
    assert list(ReleaseDecision.objects.filter(batch=batch).values_list("decision", flat=True)) == [
        "release",
        "reject",
    ]
    assert "signature_invalid" not in codes(batch_readiness(batch).blockers)  # no release left to re-sign


def test_re_review_is_refused_while_the_release_signature_holds(staff):
    batch = released_batch(staff, injured_days_ago=20)
    with pytest.raises(DomainError) as refused:
        batch_decide(
            batch=batch, actor=staff.qa, password=PASSWORD, decision="reject", reason="second thoughts"
        )
    assert codes(refused.value.blockers) == {"wrong_state"}
    assert Batch.objects.get(pk=batch.pk).status == "released"
    assert ReleaseDecision.objects.filter(batch=batch).count() == 1


def test_re_review_needs_qa_a_reason_and_no_own_steps(staff):
    batch = amended_after_release(staff)
    with pytest.raises(NotPermitted):
        batch_release_review(batch=batch, actor=staff.tech2, password=PASSWORD, decision="reject", reason="x")
    with pytest.raises(DomainError) as refused:
        batch_release_review(batch=batch, actor=staff.qa, password=PASSWORD, decision="reject", reason=" ")
    assert codes(refused.value.blockers) == {"reason_required"}
    staff.tech.groups.add(*staff.qa.groups.all())  # a QA who performed steps of this batch
    tech_and_qa = User.objects.get(pk=staff.tech.pk)
    with pytest.raises(NotPermitted, match="Segregation"):
        batch_release_review(batch=batch, actor=tech_and_qa, password=PASSWORD, decision="reject", reason="x")
    assert ReleaseDecision.objects.filter(batch=batch).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_re_releases_create_one_new_decision():
    staff = Staff.create()
    batch = amended_after_release(staff)
    resign_invalid_items(batch, staff)
    barrier, outcomes = threading.Barrier(2), []

    def attempt(user) -> None:
        try:
            barrier.wait()
            batch_release_review(batch=Batch.objects.get(pk=batch.pk), actor=user, password=PASSWORD,
                                 decision="release", reason="reviewed")  # fmt: skip
            outcomes.append("released")
        except DomainError as error:
            outcomes.append(",".join(b.code for b in error.blockers))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(user,)) for user in (staff.qa, staff.qa2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["released", "wrong_state"]
    assert ReleaseDecision.objects.filter(batch=batch).count() == 2
