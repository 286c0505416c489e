"""Several checklist items signed in one act (21 CFR 11.200(a)(1)(i)): one password, one signature each."""

from __future__ import annotations

import threading

import pytest

from compliance.models import Signature, User
from compliance.selectors import checklist_status
from compliance.services.checklists import checklist_item_sign, checklist_items_sign
from core.errors import DomainError, SignatureRefused
from tests.builders import Staff, formulated_batch, record_qc
from tests.compliance.test_concurrency import _in_thread
from tests.factories import PASSWORD

QA_ITEMS = [
    ("custody_identity", "reviewed"),
    ("deviations_closed", "reviewed"),
    ("culture_within_limits", "reviewed"),
]


def _checklist_signatures(batch):
    return Signature.objects.filter(record_type="checklist_item", record_id__startswith=f"{batch.din}:")


@pytest.fixture
def staff(db):
    return Staff.create()


@pytest.fixture
def batch(staff):
    return formulated_batch(staff)


def test_one_act_gives_each_item_its_own_signature_and_manifestation(staff, batch):
    signatures = checklist_items_sign(batch=batch, selections=QA_ITEMS, actor=staff.qa, password=PASSWORD)

    assert [s.record_id for s in signatures] == [f"{batch.din}:{code}" for code, _ in QA_ITEMS]
    assert {(s.printed_name, s.meaning, s.signer_id) for s in signatures} == {
        ("Hanako QA", "reviewed", staff.qa.pk)
    }
    assert len({s.pk for s in signatures}) == 3
    complete = {e.item.code for e in checklist_status(batch).items if e.complete}
    assert complete == {code for code, _ in QA_ITEMS}


def test_a_wrong_password_signs_nothing_and_counts_as_one_failure(staff, batch):
    with pytest.raises(SignatureRefused) as refused:
        checklist_items_sign(batch=batch, selections=QA_ITEMS, actor=staff.qa, password="wrong")

    assert refused.value.code == "wrong_password"
    assert not _checklist_signatures(batch).exists()
    assert User.objects.get(pk=staff.qa.pk).signing_failures == 1


def test_signing_lockout_is_respected(staff, batch):
    for _ in range(5):
        with pytest.raises(SignatureRefused):
            checklist_items_sign(batch=batch, selections=QA_ITEMS, actor=staff.qa, password="wrong")

    with pytest.raises(SignatureRefused) as refused:
        checklist_items_sign(batch=batch, selections=QA_ITEMS, actor=staff.qa, password=PASSWORD)

    assert refused.value.code == "signing_locked"
    assert not _checklist_signatures(batch).exists()


def test_one_refused_item_refuses_the_whole_act_before_the_password_is_taken(staff, batch):
    selections = [*QA_ITEMS, ("qc_within_spec", "reviewed")]  # QC's item, and its evidence fails

    with pytest.raises(DomainError) as refused:
        checklist_items_sign(batch=batch, selections=selections, actor=staff.qa, password="wrong")

    assert {b.code for b in refused.value.blockers} == {"role"}
    assert "qc_within_spec" in refused.value.blockers[0].english
    assert not _checklist_signatures(batch).exists()
    assert User.objects.get(pk=staff.qa.pk).signing_failures == 0  # no attempt spent


def test_every_reason_is_given_at_once(staff, batch):
    checklist_item_sign(batch=batch, item_code="batch_record_complete", actor=staff.tech, password=PASSWORD,
                        meaning="reviewed")  # fmt: skip
    selections = [("qc_within_spec", "reviewed"), ("batch_record_complete", "verified"), ("nope", "reviewed")]

    with pytest.raises(DomainError) as refused:
        checklist_items_sign(batch=batch, selections=selections, actor=staff.tech, password=PASSWORD)

    assert [b.code for b in refused.value.blockers] == ["role", "segregation", "unknown_item"]
    assert _checklist_signatures(batch).count() == 1


def test_segregation_of_duties_holds_within_one_act(staff, batch):
    """A person cannot review and verify one item in one act (tech2 performed no step of the batch)."""
    selections = [("batch_record_complete", "reviewed"), ("batch_record_complete", "verified")]

    with pytest.raises(DomainError) as refused:
        checklist_items_sign(batch=batch, selections=selections, actor=staff.tech2, password=PASSWORD)

    assert {b.code for b in refused.value.blockers} == {"not_reviewed"}
    assert not _checklist_signatures(batch).exists()


def test_failing_evidence_refuses(staff, batch):
    with pytest.raises(DomainError) as refused:
        checklist_items_sign(batch=batch, selections=[("qc_within_spec", "reviewed")], actor=staff.qc,
                             password=PASSWORD)  # fmt: skip

    assert [b.code for b in refused.value.blockers] == ["evidence_failing"]


def test_nothing_selected_is_refused(staff, batch):
    with pytest.raises(DomainError) as refused:
        checklist_items_sign(batch=batch, selections=[], actor=staff.qa, password=PASSWORD)

    assert [b.code for b in refused.value.blockers] == ["nothing_selected"]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_acts_sign_each_item_once_and_refuse_the_rest_cleanly():
    staff = Staff.create()
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    barrier = threading.Barrier(20)

    def sign():
        barrier.wait(timeout=30)
        return checklist_items_sign(batch=batch, selections=QA_ITEMS, actor=staff.qa, password=PASSWORD)

    runs = [_in_thread(sign) for _ in range(20)]
    for thread, _ in runs:
        thread.join()
    outcomes = [outcome[0] for _, outcome in runs]

    signed = [o for o in outcomes if isinstance(o, list)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(signed) == 1 and len(refused) == 19, outcomes
    assert all({b.code for b in error.blockers} == {"already_signed"} for error in refused)
    assert _checklist_signatures(batch).count() == 3
    assert User.objects.get(pk=staff.qa.pk).signing_failures == 0
