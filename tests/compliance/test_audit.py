"""The audit trail: attributed, old and new values, append-only, tamper-evident."""

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from batches.domain import BatchStatus
from batches.models import Batch, Clinic
from batches.services import batch_transition, clinic_create
from compliance.models import AuditChainHead, AuditEntry
from core.audit import audit_context, verify_chain
from tests.factories import BatchFactory, ClinicFactory

pytestmark = pytest.mark.django_db


def entries_for(obj) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(table_name=obj._meta.db_table, object_pk=str(obj.pk)).order_by("seq")
    )


def test_service_change_records_actor_reason_and_old_and_new_values(technician):
    batch = BatchFactory()
    batch_transition(batch=batch, to=BatchStatus.RECEIVED, actor=technician, reason="intake checks passed")

    last = entries_for(batch)[-1]
    assert last.action == "UPDATE"
    assert last.before["status"] == "awaiting_receipt"
    assert last.after["status"] == "received"
    assert last.actor_id == technician.pk
    assert last.actor_name == "Taro Technician"
    assert last.reason == "intake checks passed"


def test_insert_records_the_full_new_row():
    clinic = clinic_create(code="KEIO", name="Keio clinic")

    (entry,) = entries_for(clinic)
    assert entry.action == "INSERT"
    assert entry.before is None
    assert entry.after == {"id": clinic.pk, "code": "KEIO", "name": "Keio clinic", "active": True}
    assert entry.reason == "clinic registered"


def test_admin_change_is_attributed_to_the_signed_in_user(client, admin_user):
    clinic = ClinicFactory(code="KEIO", name="Keio clinic")
    client.force_login(admin_user)

    response = client.post(
        f"/admin/batches/clinic/{clinic.pk}/change/",
        {"code": "KEIO", "name": "Keio University clinic", "active": "on"},
        HTTP_X_REQUEST_ID="req-admin-1",
    )

    assert response.status_code == 302
    last = entries_for(clinic)[-1]
    assert last.before == {"name": "Keio clinic"}
    assert last.after == {"name": "Keio University clinic"}
    assert last.actor_id == admin_user.pk
    assert last.request_id == "req-admin-1"
    assert last.context["source"] == f"POST /admin/batches/clinic/{clinic.pk}/change/"


def test_raw_queryset_update_is_recorded_with_the_process_as_actor():
    clinic = ClinicFactory(name="Old name")

    Clinic.objects.filter(pk=clinic.pk).update(name="New name")

    last = entries_for(clinic)[-1]
    assert (last.before, last.after) == ({"name": "Old name"}, {"name": "New name"})
    assert last.actor_id is None
    assert last.context["os_user"]  # a shell or script change still says who ran it
    assert last.actor_name.startswith(last.context["os_user"] + "@")


def test_raw_sql_update_is_recorded_with_the_context_actor(technician):
    clinic = ClinicFactory(name="Old name")

    with audit_context(actor=technician, reason="typo corrected"), connection.cursor() as cursor:
        cursor.execute("UPDATE batches_clinic SET name = 'Fixed' WHERE id = %s", [clinic.pk])

    last = entries_for(clinic)[-1]
    assert last.after == {"name": "Fixed"}
    assert (last.actor_id, last.reason) == (technician.pk, "typo corrected")


def test_a_save_that_changes_nothing_adds_no_entry():
    clinic = ClinicFactory()
    before = AuditEntry.objects.count()

    clinic.save()

    assert AuditEntry.objects.count() == before


def test_password_changes_are_recorded_without_the_hash_and_logins_are_not(technician):
    technician.set_password("another-long-password")
    technician.save()
    technician.last_login = technician.date_joined
    technician.save()

    last = entries_for(technician)[-1]
    assert last.after == {"password": "(changed; value not recorded)"}


def test_role_membership_changes_are_recorded(technician):
    group = technician.groups.get()
    technician.groups.remove(group)

    removal = AuditEntry.objects.filter(table_name="compliance_user_groups").last()
    assert removal.action == "DELETE"
    assert removal.before["user_id"] == technician.pk


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE compliance_auditentry SET reason = 'edited' WHERE seq = (SELECT max(seq) FROM compliance_auditentry)",
        "DELETE FROM compliance_auditentry WHERE seq = (SELECT max(seq) FROM compliance_auditentry)",
        "TRUNCATE compliance_auditentry",
    ],
)
def test_audit_entries_cannot_be_changed_or_deleted_even_with_raw_sql(sql):
    ClinicFactory()
    with (
        pytest.raises(ProgrammingError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)


@pytest.mark.parametrize(
    "sql", ["DELETE FROM compliance_auditchainhead", "TRUNCATE compliance_auditchainhead"]
)
def test_audit_chain_head_cannot_be_deleted_or_truncated_even_with_raw_sql(sql):
    ClinicFactory()
    head = AuditChainHead.objects.values_list("last_seq", "last_hash").get()
    with (
        pytest.raises(ProgrammingError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert AuditChainHead.objects.values_list("last_seq", "last_hash").get() == head
    ClinicFactory()  # audited writes go on
    assert verify_chain().intact


def test_regulated_tables_cannot_be_truncated_even_with_raw_sql():
    clinic = ClinicFactory()
    with pytest.raises(IntegrityError, match="TRUNCATE"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE batches_clinic CASCADE")
    assert Clinic.objects.filter(pk=clinic.pk).exists()


def test_a_missing_chain_head_refuses_audited_writes_until_restored_and_never_restarts_at_one():
    ClinicFactory(code="C0")
    last = AuditEntry.objects.order_by("-seq").first()
    _tamper_head("DELETE FROM compliance_auditchainhead")

    with pytest.raises(InternalError, match="chain head is missing"), transaction.atomic():
        ClinicFactory(code="C1")
    assert not Clinic.objects.filter(code="C1").exists()
    report = verify_chain()
    assert not report.intact
    assert f"the chain head is missing (entries run to #{last.seq})" in report.problem

    call_command("verify_audit_chain", "--restore-head")
    ClinicFactory(code="C1")
    assert AuditEntry.objects.order_by("-seq").first().seq == last.seq + 1
    assert verify_chain().intact


def test_regulated_records_cannot_be_deleted():
    clinic = ClinicFactory()
    with pytest.raises(IntegrityError, match="never deleted"), transaction.atomic():
        Clinic.objects.filter(pk=clinic.pk).delete()
    assert Clinic.objects.filter(pk=clinic.pk).exists()


def test_admin_offers_no_delete_for_regulated_records(client, admin_user):
    clinic = ClinicFactory()
    client.force_login(admin_user)

    response = client.post(f"/admin/batches/clinic/{clinic.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Clinic.objects.filter(pk=clinic.pk).exists()


def _tamper(sql: str, params: list) -> None:
    """What a superuser could do behind the application's back."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE compliance_auditentry DISABLE TRIGGER audit_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE compliance_auditentry ENABLE TRIGGER audit_append_only")


def _tamper_head(sql: str) -> None:
    """A superuser removing the chain head with the triggers off."""
    with connection.cursor() as cursor:  # the test's transaction is still open: reset by hand
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql)
        cursor.execute("RESET session_replication_role")


def test_verify_audit_chain_passes_on_an_intact_trail(capsys):
    for n in range(3):
        ClinicFactory(code=f"C{n}")

    call_command("verify_audit_chain")

    assert "Audit chain intact" in capsys.readouterr().out


def test_verify_audit_chain_names_the_edited_entry():
    clinics = [ClinicFactory(code=f"C{n}") for n in range(3)]
    target = entries_for(clinics[1])[0]
    _tamper(
        'UPDATE compliance_auditentry SET after = after || \'{"name": "forged"}\' WHERE seq = %s',
        [target.seq],
    )

    with pytest.raises(CommandError, match=rf"entry #{target.seq} \(batches_clinic {clinics[1].pk}\)"):
        call_command("verify_audit_chain")


def test_verify_names_a_deleted_entry_and_a_removed_tail():
    clinics = [ClinicFactory(code=f"C{n}") for n in range(3)]
    middle = entries_for(clinics[1])[0].seq
    _tamper("DELETE FROM compliance_auditentry WHERE seq = %s", [middle])

    report = verify_chain()
    assert (report.intact, report.broken_seq) == (False, middle + 1)
    assert f"#{middle} to #{middle} are missing" in report.problem

    last = entries_for(clinics[2])[0].seq
    _tamper("DELETE FROM compliance_auditentry WHERE seq >= %s", [middle])
    report = verify_chain()
    assert report.broken_seq == middle
    assert f"entries removed (#{middle} to #{last})" in report.problem
    assert last > middle
    with pytest.raises(CommandError, match="entries removed"):
        call_command("verify_audit_chain", "--restore-head")  # the head exists: nothing to restore


def test_verify_streams_in_pages_and_still_finds_the_break():
    clinics = [ClinicFactory(code=f"C{n}") for n in range(5)]
    target = entries_for(clinics[3])[0]
    _tamper("UPDATE compliance_auditentry SET actor_name = 'someone else' WHERE seq = %s", [target.seq])

    report = verify_chain(batch_size=2)

    assert report.broken_seq == target.seq
    assert "content does not match" in report.problem


def test_every_regulated_model_is_audited_and_undeletable():
    from core.audit import audited_models

    labels = {spec.model._meta.label for spec in audited_models()}
    expected = {
        "batches.Clinic", "batches.Location", "batches.ProcessingProtocol", "batches.Patient",
        "batches.Therapy", "batches.Collection", "batches.Batch", "batches.Dose", "compliance.User",
    }  # fmt: skip
    assert expected <= labels
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT event_object_table FROM information_schema.triggers WHERE trigger_name = 'lims_no_delete'"
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert {Batch._meta.db_table, Clinic._meta.db_table} <= protected


def test_token_issue_and_revocation_are_audited_without_the_hash_and_use_is_not(technician):
    from compliance.tokens import token_authenticate, token_issue, token_revoke

    token, key = token_issue(user=technician, actor=technician)
    token_authenticate(key)
    token_revoke(token=token)

    issued, revoked = entries_for(token)
    assert issued.action == "INSERT" and issued.after["key_hash"] == "(changed; value not recorded)"
    assert issued.reason == "API token issued" and issued.actor_id == technician.pk
    assert list(revoked.after) == ["revoked_at"] and revoked.reason == "API token revoked"


def test_admin_revokes_a_token_and_never_shows_its_hash(client, admin_user, technician):
    from compliance.models import ApiToken
    from compliance.tokens import token_authenticate, token_issue

    token, key = token_issue(user=technician)
    client.force_login(admin_user)

    page = client.get(f"/admin/compliance/apitoken/{token.pk}/change/")
    response = client.post(
        "/admin/compliance/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )

    assert page.status_code == 200 and token.key_hash not in page.content.decode()
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert token_authenticate(key) is None
    assert entries_for(token)[-1].actor_id == admin_user.pk
