"""Readiness served from stored facts is never stale: every kind of write changes the answer at once.

The readiness endpoint reads, in one query, the batch row (status, ``facts_version``)
joined with the batch's stored readiness facts (``BatchFacts``) and uses them while
their version is the batch's; database triggers bump the version on every write to
a table the facts come from (``batches/facts.py``). Each test warms the stored facts,
writes through a service (or raw SQL), and checks that the endpoint's answer changed
and equals the uncached ``batch_readiness``. Then: how facts are stored (exactly,
unaudited, never replacing newer ones) and the lean endpoint's JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from batches.domain.eligibility import PatientFacts, ProtocolRules
from batches.models import Batch, BatchFacts, Location
from batches.services import custody_transfer, step_amend
from compliance.models import AuditEntry, Deviation
from compliance.readiness import batch_readiness
from compliance.readiness import rules as rd
from compliance.readiness import stored as stored_facts
from compliance.readiness.facts import ReadinessFacts, batch_facts
from compliance.readiness.stored import FACTS_FORMAT, cached_batch_facts, facts_from_json, store_batch_facts
from compliance.services.deviations import deviation_close, deviation_open
from compliance.services.qc import qc_result_record
from compliance.services.release import batch_release
from compliance.services.scheduling import infusion_cancel, infusion_schedule
from core.roles import Role
from monitoring.expiry import dose_expiry_sweep
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
        (b.code, b.english) for b in fresh.blockers
    ]
    assert [(d["dose_id"], d["ready"], [b["code"] for b in d["blockers"]]) for d in body["doses"]] == [
        (d.dose_id, d.ready, [b.code for b in d.blockers]) for d in fresh.doses
    ]
    return body


def warm(client: APIClient, batch: Batch, at: dt.datetime) -> dict[str, Any]:
    """Ask until the answer comes from stored facts (asserted: one statement reads token and batch)."""
    answer(client, batch, at)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"{API}/batches/{batch.din}/readiness", {"at": at.isoformat()})
    assert len(queries) == 1, [q["sql"] for q in queries]
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
    """Facts stored inside a transaction that rolls back go with it; their version is never carried again."""
    batch = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    with pytest.raises(RuntimeError), transaction.atomic():
        qc_result_record(batch=batch, test="viability", value=92, actor=staff.qc, tested_at=timezone.now())
        inside = Batch.objects.get(pk=batch.pk)
        assert "viability" not in cached_batch_facts(inside).qc_pending  # read from uncommitted rows
        assert BatchFacts.objects.get(batch_id=batch.pk).version == inside.facts_version  # and stored
        raise RuntimeError("roll back")
    assert not BatchFacts.objects.filter(batch_id=batch.pk, version=inside.facts_version).exists()
    qc_result_record(batch=batch, test="cd73", value=99, actor=staff.qc, tested_at=timezone.now())
    after = Batch.objects.get(pk=batch.pk)
    assert after.facts_version != inside.facts_version
    assert "viability" in cached_batch_facts(after).qc_pending


def test_saving_a_stale_batch_object_does_not_move_the_version_back(staff):
    batch = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    stale = Batch.objects.get(pk=batch.pk)
    record_qc(batch, staff)
    current = Batch.objects.get(pk=batch.pk).facts_version
    assert current > stale.facts_version
    stale.save()  # every column, the old facts_version included (as the admin would)
    assert Batch.objects.get(pk=batch.pk).facts_version == current


def test_readiness_from_a_warm_cache_costs_one_query(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    path = f"{API}/batches/{batch.din}/readiness"
    qa_client.get(path, {"at": at.isoformat()})
    with CaptureQueriesContext(connection) as queries:
        assert qa_client.get(path, {"at": at.isoformat()}).json()["ready"] is True
    (executed,) = (q["sql"] for q in queries)
    assert executed.startswith("EXECUTE lims_")  # prepared at the first request on this connection
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE name = %s", [executed[8:].split("(")[0]]
        )
        (statement,) = cursor.fetchone()
    # The token with its user and the user's roles (a subquery), and beside it the batch row with its clinic.
    assert '"compliance_apitoken"' in statement and '"compliance_user_groups"' in statement
    assert 'SELECT "batches_batch"."id", "batches_batch"."din", "batches_batch"."therapy_id"' in statement


def test_a_bearer_token_of_another_clinic_does_not_see_the_batch(staff):
    from compliance.tokens import token_issue
    from tests.api.conftest import bearer
    from tests.factories import ClinicFactory

    batch = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    path = f"{API}/batches/{batch.din}/readiness"
    own = bearer(token_issue(clinic=batch.therapy.patient.clinic)[1])
    other = bearer(token_issue(clinic=ClinicFactory())[1])
    assert own.get(path).status_code == 200
    response = other.get(path)
    assert response.status_code == 404 and batch.din in response.json()["detail"]
    assert bearer("not-a-token").get(path).status_code == 401


# --- Stored facts (BatchFacts) ---------------------------------------------------------


def _facts(**changes: Any) -> ReadinessFacts:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    facts = ReadinessFacts(
        din="B999926000001",
        release_signature_valid=None,
        qc_pending=("viability",),
        qc_failed=(),
        open_deviations=(("major", 'it\'s "quoted" — and not ASCII'),),
        doses=(
            rd.DoseState(
                "B999926000001-1",
                "available",
                dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=tokyo),
                "42",
                "scheduled",
            ),
            rd.DoseState("B999926000001-2", "pending_release", None, None, None),
        ),
        patient=PatientFacts(dt.date(2026, 2, 29 - 1), "B", "contusion", False, Decimal("70.25")),
        protocol=ProtocolRules("MSC-SCI-2", ("A", "B"), 14, None, 31, 180),
        projected_ready_on=dt.date(2026, 12, 24),
    )
    return replace(facts, **changes)


@pytest.mark.parametrize(
    "facts",
    [_facts(), _facts(release_signature_valid=True, projected_ready_on=None, doses=(), qc_pending=())],
    ids=["full", "empty"],
)
def test_facts_round_trip_through_storage_exactly(staff, facts):
    batch = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    row = Batch.objects.get(pk=batch.pk)
    assert store_batch_facts([(row, facts)])
    stored = BatchFacts.objects.get(batch_id=batch.pk)  # read back from jsonb, not from the dict written
    assert stored.version == row.facts_version
    back = facts_from_json(stored.facts, therapy_id=row.therapy_id)
    assert back == facts
    for mine, theirs in zip(back.doses, facts.doses, strict=True):  # same instant and same offset
        assert (mine.expires_at and mine.expires_at.utcoffset()) == (
            theirs.expires_at and theirs.expires_at.utcoffset()
        )
    assert type(back.patient.weight_kg) is Decimal and type(back.qc_failed) is tuple
    assert facts_from_json(stored.facts, therapy_id=row.therapy_id + 1) is None  # another therapy: recomputed


def test_real_facts_round_trip_through_storage_exactly(staff, qa_client):
    batch = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    qa_client.get(f"{API}/batches/{batch.din}/readiness")  # stores them
    row = Batch.objects.select_related("therapy__patient", "therapy__protocol").get(pk=batch.pk)
    stored = BatchFacts.objects.get(batch_id=batch.pk)
    assert stored.version == row.facts_version
    assert facts_from_json(stored.facts, therapy_id=row.therapy_id) == batch_facts(row)


def test_stale_stored_facts_are_recomputed(staff, qa_client):
    batch, at = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    warm(qa_client, batch, at)
    stored = BatchFacts.objects.get(batch_id=batch.pk)
    qc_result_record(batch=batch, test="viability", value=92, actor=staff.qc, tested_at=timezone.now())
    current = Batch.objects.get(pk=batch.pk).facts_version
    assert stored.version < current  # the row is stale now
    assert "viability result missing" not in {b["detail"] for b in answer(qa_client, batch, at)["blockers"]}
    assert BatchFacts.objects.get(batch_id=batch.pk).version == current  # recomputed and stored


def test_stored_facts_of_another_format_are_recomputed(staff, qa_client):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    warm(qa_client, batch, at)
    BatchFacts.objects.filter(batch_id=batch.pk).update(facts={"format": 0, "ready": "garbage"})
    assert answer(qa_client, batch, at)["ready"] is True
    assert BatchFacts.objects.get(batch_id=batch.pk).facts["format"] == FACTS_FORMAT
    warm(qa_client, batch, at)


def test_storing_never_replaces_newer_facts(staff):
    batch = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    old = Batch.objects.get(pk=batch.pk)
    record_qc(batch, staff)
    new = Batch.objects.get(pk=batch.pk)
    assert store_batch_facts([(new, _facts(qc_pending=()))])
    assert store_batch_facts([(old, _facts())])  # a slow reader of the older version comes last
    stored = BatchFacts.objects.get(batch_id=batch.pk)
    assert (stored.version, stored.facts["qc_pending"]) == (new.facts_version, [])


def test_the_stored_row_is_not_audited_and_does_not_bump_the_version(staff, qa_client):
    batch = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    version = Batch.objects.get(pk=batch.pk).facts_version
    entries = AuditEntry.objects.count()
    assert qa_client.get(f"{API}/batches/{batch.din}/readiness").status_code == 200
    assert BatchFacts.objects.get(batch_id=batch.pk).version == version  # stored, at the version read
    assert Batch.objects.get(pk=batch.pk).facts_version == version  # the write bumped nothing
    assert AuditEntry.objects.count() == entries
    assert not AuditEntry.objects.filter(table_name=BatchFacts._meta.db_table).exists()


def test_a_failure_to_store_does_not_fail_the_request(staff, qa_client, monkeypatch):
    batch, at = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO), _at()
    monkeypatch.setattr(stored_facts, "_UPSERT", "INSERT INTO no_such_table VALUES (%s, %s, %s, %s)")
    assert answer(qa_client, batch, at)["ready"] is True  # computed, not stored; the transaction lives on
    assert not BatchFacts.objects.filter(batch_id=batch.pk).exists()


def test_the_refresh_command_stores_missing_and_stale_facts(staff, qa_client):
    batches = [released_batch(staff, injured_days_ago=INJURED_DAYS_AGO) for _ in range(3)]
    call_command("refresh_readiness_facts", stdout=StringIO())  # without --all: only stale stored rows
    assert not BatchFacts.objects.exists()
    call_command("refresh_readiness_facts", "--all", "--chunk", "2", stdout=StringIO())
    versions = dict(Batch.objects.values_list("id", "facts_version"))
    assert dict(BatchFacts.objects.values_list("batch_id", "version")) == versions
    deviation_open(batch=batches[0], severity="minor", description="Label smudged", actor=staff.tech)
    out = StringIO()
    call_command("refresh_readiness_facts", stdout=out)
    assert "stored for 1 of 1 batches" in out.getvalue()
    at = _at()
    with CaptureQueriesContext(connection) as queries:  # current for every batch: the warm cost at once
        for batch in batches:
            qa_client.get(f"{API}/batches/{batch.din}/readiness", {"at": at.isoformat()})
    assert len(queries) <= len(batches) + 1  # + at most one last_used_at write
    assert codes(answer(qa_client, batches[0], at)) == {"deviation_open", "signature_invalid"}


# --- The lean readiness path: same JSON as the serializer, same rows as the ORM ------------------


def test_the_readiness_json_is_the_serializers(staff, qa_client):
    from api.gmp import serializers as s
    from api.gmp.views import readiness_data
    from compliance.readiness.stored import readiness_batches

    released = released_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    infusion_schedule(dose=released.doses.get(), scheduled_for=_at(), route="iv", actor=staff.qa)
    growing = formulated_batch(staff, injured_days_ago=INJURED_DAYS_AGO)
    tokyo = (timezone.now() + IN_WINDOW).astimezone(dt.timezone(dt.timedelta(hours=9)))
    for batch in (released, growing):
        for at in (tokyo, tokyo.astimezone(dt.UTC), tokyo.replace(microsecond=0)):
            body = qa_client.get(f"{API}/batches/{batch.din}/readiness", {"at": at.isoformat()}).json()
            row = readiness_batches().get(pk=batch.pk)  # the ORM form of the endpoint's query
            expected = json.loads(JSONRenderer().render(s.ReadinessOut(readiness_data(row, at)).data))
            assert body == expected
            assert list(body) == list(expected) and list(body["doses"][0]) == list(expected["doses"][0])
    assert body["projected_ready_on"] is not None and body["doses"][0]["expires_at"] is None
    assert released.doses.get().expires_at is not None


def test_the_token_columns_need_no_database_converter():
    """``token_authenticate`` builds its models from the driver's values: that holds while no column converts."""
    from batches.models import Clinic
    from compliance.models import ApiToken, User

    for model in (ApiToken, User, Clinic):
        for field in model._meta.concrete_fields:
            column = field.get_col(model._meta.db_table)
            assert not field.get_db_converters(connection) + connection.ops.get_db_converters(column), field
