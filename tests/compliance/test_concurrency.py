"""Decisions under concurrency: lock then decide, one signature, one lock order (issue 9).

Every test commits for real (``transaction=True``): each thread has its own
database connection, so the locks are PostgreSQL's, not a test's simulation.
The interleavings that matter are forced, not hoped for: one thread holds a
lock inside an open transaction and the other is let go only once PostgreSQL
shows it waiting for a lock (``_wait_until_blocked``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from batches.models import Batch
from batches.services import scan_verify
from compliance.models import Deviation, QcResult, ReleaseDecision, Signature
from compliance.services.checklists import checklist_item_sign
from compliance.services.deviations import deviation_close, deviation_open
from compliance.services.release import batch_release
from compliance.services.signatures import signature_create, signer_authenticate
from compliance.tokens import token_issue
from core.errors import DomainError, SignatureRefused
from tests.api.conftest import bearer
from tests.builders import Staff, formulated_batch, record_qc, sign_checklist
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``work`` on its own connection; the list gets its result or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as error:  # reported by the test on the main thread
            outcome.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _wait_until_blocked(thread: threading.Thread, timeout: float = 20) -> None:
    """Return once another session of this database waits for a lock (or ``thread`` ended)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while thread.is_alive() and time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees one snapshot
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    assert not thread.is_alive(), "the other session never reached the lock"


def _releasable(staff: Staff) -> Batch:
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    sign_checklist(batch, staff)
    return batch


def _codes(error: Exception) -> set[str]:
    assert isinstance(error, DomainError), repr(error)
    return {b.code for b in error.blockers}


# --- One signature -----------------------------------------------------------------------------


def test_twenty_concurrent_signings_create_one_signature_and_nineteen_clean_409s():
    staff = Staff.create()
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    url = f"/api/v1/batches/{batch.din}/checklist/qc_within_spec/sign"
    key = token_issue(user=staff.qc)[1]
    barrier = threading.Barrier(20)

    def sign() -> tuple[int, Any]:
        client = bearer(key)
        barrier.wait(timeout=30)
        response = client.post(url, {"password": PASSWORD, "meaning": "reviewed"}, format="json")
        return response.status_code, response.json()

    runs = [_in_thread(sign) for _ in range(20)]
    for thread, _ in runs:
        thread.join()
    answers = [outcome[0] for _, outcome in runs]

    assert sorted(status for status, _ in answers) == [201] + [409] * 19
    refusals = [body for status, body in answers if status == 409]
    assert all([b["code"] for b in body["blockers"]] == ["already_signed"] for body in refusals)
    assert Signature.objects.filter(record_id=f"{batch.din}:qc_within_spec", signer=staff.qc).count() == 1


def test_database_refuses_a_repeat_signature_but_not_one_on_changed_content():
    staff = Staff.create()

    def sign(content: dict[str, str]) -> Signature:
        return signature_create(
            signer=staff.qa, meaning="reviewed", record_type="test", record_id="R-1", content=content
        )

    sign({"text": "v1"})
    with pytest.raises(DomainError) as refused:
        sign({"text": "v1"})
    assert _codes(refused.value) == {"already_signed"}
    sign({"text": "v2"})  # the record changed: the old signature no longer holds, a new one may be given
    assert Signature.objects.filter(record_id="R-1").count() == 2


# --- Lock then decide: release -------------------------------------------------------------------


def _open_minor_deviation(batch: Batch, staff: Staff) -> None:
    deviation_open(batch=batch, severity="minor", description="Label smudged", actor=staff.tech)


def _record_identity_finding(batch: Batch, staff: Staff) -> None:
    with pytest.raises(DomainError):
        scan_verify(batch=batch, scanned_identifier="NOT-THIS-BATCH", action="test", actor=staff.tech)


def _commit_failed_sterility_retest(batch: Batch, staff: Staff) -> None:
    QcResult.objects.create(
        batch=batch, test="sterility", result="growth", within_spec=False, specification={},
        tested_at=timezone.now(), tested_by=staff.qc,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("intrude", "blocker"),
    [
        (_open_minor_deviation, "deviation_open"),
        (_record_identity_finding, "finding_open"),
        (_commit_failed_sterility_retest, "qc_failed"),
    ],
)
def test_release_refused_for_what_was_committed_while_it_waited_for_the_batch_lock(intrude, blocker):
    staff = Staff.create()
    batch = _releasable(staff)
    with transaction.atomic():
        Batch.objects.select_for_update(no_key=True).get(pk=batch.pk)  # e.g. a QC analyst's write
        release, outcome = _in_thread(
            lambda: batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")
        )
        _wait_until_blocked(release)
        intrude(batch, staff)
    release.join()

    assert blocker in _codes(outcome[0])
    assert not ReleaseDecision.objects.filter(batch=batch).exists()
    assert Batch.objects.get(pk=batch.pk).status != "released"


# --- One lock order: signers against audited writers ---------------------------------------------


def _wrong_password_of_the_author(batch: Batch, staff: Staff) -> Any:
    with pytest.raises(SignatureRefused):
        signer_authenticate(user=staff.tech, password="wrong")
    return "refused"


def _checklist_signing_of_the_batch(batch: Batch, staff: Staff) -> Any:
    return checklist_item_sign(
        batch=batch, item_code="qc_within_spec", actor=staff.qc, password=PASSWORD, meaning="reviewed"
    )


@pytest.mark.parametrize("signer", [_wrong_password_of_the_author, _checklist_signing_of_the_batch])
def test_signer_waiting_for_a_deviation_writer_does_not_deadlock(signer):
    """The deviation holds the audit chain head and checks its user and batch keys at commit.

    The wrong-password case deadlocked before (user row FOR UPDATE against the
    deviation's key check on ``opened_by``); the checklist case is a guard of
    the batch-first order (the facts-version bump already made it wait).
    """
    staff = Staff.create()
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    with transaction.atomic():
        _open_minor_deviation(batch, staff)
        signing, outcome = _in_thread(lambda: signer(batch, staff))
        _wait_until_blocked(signing)
    signing.join()

    assert not isinstance(outcome[0], Exception), repr(outcome[0])
    assert Deviation.objects.filter(batch=batch).count() == 1


def test_concurrent_signers_and_deviation_writers_through_the_api_never_fail():
    staff = Staff.create()
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    qc = bearer(token_issue(user=staff.qc)[1])  # writer and signer are one user: their row is shared too
    barrier = threading.Barrier(12)

    def write_deviation(n: int) -> int:
        barrier.wait(timeout=30)
        body = {"severity": "minor", "description": f"Observation {n}"}
        return qc.post(f"/api/v1/batches/{batch.din}/deviations/", body, format="json").status_code

    def sign(password: str) -> int:
        barrier.wait(timeout=30)
        url = f"/api/v1/batches/{batch.din}/checklist/qc_within_spec/sign"
        return qc.post(url, {"password": password, "meaning": "reviewed"}, format="json").status_code

    work = [lambda n=n: write_deviation(n) for n in range(6)]
    work += [lambda: sign(PASSWORD) for _ in range(3)] + [lambda: sign("wrong") for _ in range(3)]
    runs = [_in_thread(w) for w in work]
    for thread, _ in runs:
        thread.join()
    statuses = [outcome[0] for _, outcome in runs]

    assert statuses[:6] == [201] * 6
    assert sorted(statuses[6:9]) == [201, 409, 409]
    # A wrong password is refused (403), unless the right one had already signed (409) first.
    assert set(statuses[9:]) <= {403, 409}
    assert Deviation.objects.filter(batch=batch).count() == 6


# --- Deviation closure ---------------------------------------------------------------------------


def test_concurrent_closures_of_the_last_two_deviations_lift_the_quarantine():
    # A guard: the closures now queue on the batch lock (before, the chain head happened to order them).
    staff = Staff.create()
    batch = formulated_batch(staff)
    for text in ("Incubator alarm", "Wrong medium lot"):
        deviation_open(batch=batch, severity="major", description=text, actor=staff.tech)
    first, second = Deviation.objects.filter(batch=batch).order_by("opened_at")
    assert Batch.objects.get(pk=batch.pk).status == "quarantined"

    def close(deviation: Deviation, qa: Any) -> Deviation:
        return deviation_close(
            deviation=deviation, actor=qa, password=PASSWORD, impact_assessment="No impact", capa="Retrain"
        )

    with transaction.atomic():
        close(first, staff.qa)
        other, outcome = _in_thread(lambda: close(second, staff.qa2))
        _wait_until_blocked(other)
    other.join()

    assert not isinstance(outcome[0], Exception), repr(outcome[0])
    assert Batch.objects.get(pk=batch.pk).status == "pending_release"
