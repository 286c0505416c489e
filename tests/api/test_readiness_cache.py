"""Readiness served from cached facts is never stale: every kind of write changes the answer at once.

The readiness endpoint reads the batch row (status, ``facts_version``) and the
batch's readiness facts cached under that version; database triggers bump the
version on every write to a table the facts come from (``batches/facts.py``).
Each test warms the cache, writes through a service (or raw SQL), and checks
that the endpoint's answer changed and equals the uncached ``batch_readiness``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from batches.models import Batch, Location
from batches.services import custody_transfer, step_amend
from batches.services.expiry import dose_expiry_sweep
from compliance.models import AuditEntry, Deviation
from compliance.roles import Role
from compliance.selectors import batch_readiness, cached_batch_facts, facts_cache_key
from compliance.services.deviations import deviation_close, deviation_open
from compliance.services.qc import qc_result_record
from compliance.services.release import batch_release
from compliance.services.scheduling import infusion_cancel, infusion_schedule
from tests.api.conftest import API
from tests.builders import Staff, formulated_batch, record_qc, released_batch, sign_checklist
from tests.factories import PASSWORD, LocationFactory, scan

pytestmark = pytest.mark.django_db

INJURED_DAYS_AGO = 28  # asked 5 days ahead: day 33, inside the sub-acute window (31-180)
IN_WINDOW = dt.timedelta(days=5)


@pytest.fixture
def staff() -> Staff:
    return Staff.create()


@pytest.fixture
def qa_client(user_client) -> APIClient:
    return user_client(Role.QA)


def _at() -> dt.datetime:
    return timezone.now() + IN_WINDOW


def answer(client: APIClient, batch: Batch, at: dt.datetime) -> dict[str, Any]:
    """The endpoint's answer, checked against the uncached one; returns it."""
    response = client.get(f"{API}/batches/{batch.din}/readiness", {"at": at.isoformat()})
    assert response.status_code == 200, response.content
    body = response.json()
    fresh = batch_readiness(
        Batch.objects.select_related("therapy__patient", "therapy__protocol").get(pk=batch.pk), at
    )
    assert body["ready"] == fresh.ready
    assert [(b["code"], b["detail"]) for b in body["blockers"]] == [
        (b.code, b.detail) for b in fresh.blockers
    ]
    assert [(d["dose_id"], d["ready"], [b["code"] for b in d["blockers"]]) for d in body["doses"]] == [
        (d.dose_id, d.ready, [b.code for b in d.blockers]) for d in fresh.doses
    ]
    return body


def warm(client: APIClient, batch: Batch, at: dt.datetime) -> dict[str, Any]:
    """Ask until the answer comes from the cache (asserted: the endpoint reads token and batch only)."""
    answer(client, batch, at)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"{API}/batches/{batch.din}/readiness", {"at": at.isoformat()})
    assert len(queries) == 2, [q["sql"] for q in queries]
    return answer(client, batch, at)


def codes(body: dict[str, Any]) -> set[str]:
    return {b["code"] for b in body["blockers"]}


def test_a_qc_result_changes_the_answer_at_once(staff, qa_client):
    batch, at = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    before = warm(qa_client, batch, at)
    assert "viability result missing" in {b["detail"] for b in before["blockers"]}
    qc_result_record(batch=batch, test="viability", value=92, actor=staff.qc, tested_at=timezone.now())
    after = answer(qa_client, batch, at)
    assert "viability result missing" not in {b["detail"] for b in after["blockers"]}


def test_a_deviation_opened_then_closed_changes_the_answer_at_once(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    assert warm(qa_client, batch, at)["ready"] is True
    deviation = deviation_open(batch=batch, severity="minor", description="Label smudged", actor=staff.tech)
    opened = answer(qa_client, batch, at)
    assert (opened["ready"], opened["status"]) == (False, "released")  # minor: the status did not change
    assert codes(opened) == {"deviation_open", "signature_invalid"}  # a deviation is part of the record
    warm(qa_client, batch, at)
    deviation_close(deviation=Deviation.objects.get(pk=deviation.pk), actor=staff.qa, password=PASSWORD,
                    impact_assessment="None.", capa="Reprint.")  # fmt: skip
    assert codes(answer(qa_client, batch, at)) == {
        "signature_invalid"
    }  # the closed deviation still changed the record


def test_a_step_amendment_invalidates_the_release_signature_at_once(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    assert warm(qa_client, batch, at)["ready"] is True
    step_amend(
        step=batch.steps.get(kind="harvest"), actor=staff.tech, reason="late fix", viable_cells=149_000_000
    )
    assert codes(answer(qa_client, batch, at)) == {"signature_invalid"}


def test_a_custody_finding_changes_the_answer_at_once(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    assert warm(qa_client, batch, at)["ready"] is True
    fridge = LocationFactory(code="COLD-1", kind=Location.Kind.COLD_STORAGE)
    custody_transfer(batch=batch, to_location=fridge, seal_intact=False, scanned_identifier=scan(batch.din),
                     actor=staff.tech, temperature_c=5)  # fmt: skip
    assert batch.findings.filter(custody_transfer__to_location=fridge).exists()
    assert codes(answer(qa_client, batch, at)) == {"signature_invalid"}


def test_release_changes_the_answer_at_once(staff, qa_client):
    batch, at = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    record_qc(batch, staff)
    sign_checklist(batch, staff)
    assert codes(warm(qa_client, batch, at)) == {"not_released"}
    batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision="release")
    assert answer(qa_client, batch, at)["ready"] is True


def test_scheduling_and_cancelling_an_infusion_change_the_answer_at_once(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    assert warm(qa_client, batch, at)["ready"] is True
    infusion = infusion_schedule(dose=batch.doses.get(), scheduled_for=at, route="iv", actor=staff.qa)
    scheduled = answer(qa_client, batch, at)
    assert codes(scheduled) == {"already_scheduled"}
    assert scheduled["doses"][0]["infusion"] == str(infusion.pk)
    warm(qa_client, batch, at)
    infusion_cancel(infusion=infusion, reason="patient unwell", actor=staff.qa)
    assert answer(qa_client, batch, at)["ready"] is True


def test_dose_expiry_by_the_sweep_changes_the_answer_at_once(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    assert warm(qa_client, batch, at)["ready"] is True
    dose = batch.doses.get()
    result = dose_expiry_sweep(now=dose.expires_at + dt.timedelta(minutes=1))
    assert result.doses_expired == 1
    expired = answer(qa_client, batch, at)  # asked about a time before the expiry: the dose is gone anyway
    assert expired["status"] == "expired"
    assert codes(expired) == {"not_released"}  # the status, read from the row on every request
    assert [b["code"] for b in expired["doses"][0]["blockers"]] == [
        "not_released",
        "dose_unavailable",
    ]  # the facts


def test_a_raw_sql_change_of_the_injury_date_changes_the_answer_at_once(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    assert warm(qa_client, batch, at)["ready"] is True
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE batches_patient SET injury_date = injury_date - 300 WHERE id = %s",
            [batch.therapy.patient_id],
        )
    assert codes(answer(qa_client, batch, at)) == {"outside_window"}


def test_the_version_bump_writes_no_audit_entry(staff):
    batch = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    version = Batch.objects.get(pk=batch.pk).facts_version
    entries = AuditEntry.objects.filter(table_name="batches_batch").count()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE batches_patient SET weight_kg = 71 WHERE id = %s", [batch.therapy.patient_id])
    assert Batch.objects.get(pk=batch.pk).facts_version > version
    assert AuditEntry.objects.filter(table_name="batches_batch").count() == entries
    assert AuditEntry.objects.filter(
        table_name="batches_patient", object_pk=str(batch.therapy.patient_id)
    ).exists()


def test_a_version_is_never_reused_after_a_rollback(staff):
    """Facts cached inside a transaction that rolls back are keyed by a version no commit will carry."""
    batch = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    with pytest.raises(RuntimeError), transaction.atomic():
        qc_result_record(batch=batch, test="viability", value=92, actor=staff.qc, tested_at=timezone.now())
        inside = Batch.objects.get(pk=batch.pk)
        assert "viability" not in cached_batch_facts(inside).qc_pending  # cached from uncommitted rows
        raise RuntimeError("roll back")
    qc_result_record(batch=batch, test="cd73", value=99, actor=staff.qc, tested_at=timezone.now())
    after = Batch.objects.get(pk=batch.pk)
    assert facts_cache_key(after) != facts_cache_key(inside)
    assert "viability" in cached_batch_facts(after).qc_pending


def test_saving_a_stale_batch_object_does_not_move_the_version_back(staff):
    batch = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    stale = Batch.objects.get(pk=batch.pk)
    record_qc(batch, staff)
    current = Batch.objects.get(pk=batch.pk).facts_version
    assert current > stale.facts_version
    stale.save()  # every column, the old facts_version included (as the admin would)
    assert Batch.objects.get(pk=batch.pk).facts_version == current


def test_readiness_from_a_warm_cache_costs_two_queries(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    path = f"{API}/batches/{batch.din}/readiness"
    qa_client.get(path, {"at": at.isoformat()})
    with CaptureQueriesContext(connection) as queries:
        assert qa_client.get(path, {"at": at.isoformat()}).json()["ready"] is True
    token, row = (q["sql"] for q in queries)
    # The token with its user and the user's roles (a subquery), then the batch row scoped to the caller.
    assert token.startswith('SELECT "compliance_apitoken"') and '"compliance_user_groups"' in token
    assert row.startswith('SELECT "batches_batch"."id", "batches_batch"."din", "batches_batch"."therapy_id"')
