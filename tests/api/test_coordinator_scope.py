"""A coordinator belongs to exactly one clinic; missing scoping data refuses, never widens."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from batches.models import Patient
from compliance.models import User
from compliance.tokens import token_issue
from core.roles import Role
from tests.api.conftest import API, assert_problem, bearer
from tests.api.test_errors import patient_body
from tests.builders import Staff, released_batch
from tests.factories import PASSWORD, ClinicFactory, UserFactory, unbound_coordinator

pytestmark = pytest.mark.django_db


def test_coordinator_token_without_clinic_is_refused_on_lists_fhir_and_registration(clinic_a, clinic_b):
    batch = released_batch(Staff.create())  # another clinic's batch, with a dose
    client = bearer(token_issue(user=unbound_coordinator())[1])

    for path in (
        f"{API}/batches/",
        f"{API}/patients/",
        f"{API}/fhir/BiologicallyDerivedProduct/{batch.din}-1",
    ):
        assert (
            assert_problem(client.get(path), 403)["detail"]
            == "This coordinator account is not bound to a clinic."
        )
    assert_problem(client.post(f"{API}/patients/", patient_body(clinic="CLINIC-B"), format="json"), 403)
    assert not Patient.objects.filter(clinic=clinic_b).exists()


def test_coordinator_bound_to_a_clinic_still_registers_for_it(user_client, clinic_a):
    client = user_client(Role.COORDINATOR, clinic_a)
    created = client.post(f"{API}/patients/", patient_body(), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["clinic"] == "CLINIC-A"


def test_database_refuses_a_coordinator_without_a_clinic():
    with pytest.raises(IntegrityError, match="coordinator must belong to a clinic"), transaction.atomic():
        UserFactory(role=Role.COORDINATOR, clinic=None)
    assert not User.objects.filter(groups__name=Role.COORDINATOR).exists()


def test_database_refuses_clearing_a_coordinators_clinic():
    coordinator = UserFactory(role=Role.COORDINATOR, clinic=ClinicFactory())
    with pytest.raises(IntegrityError, match="coordinator must belong to a clinic"), transaction.atomic():
        User.objects.filter(pk=coordinator.pk).update(clinic=None)
    coordinator.refresh_from_db()
    assert coordinator.clinic_id is not None


def test_create_user_refuses_a_coordinator_without_a_clinic():
    with pytest.raises(CommandError, match="clinic: A coordinator must belong to a clinic"):
        call_command("create_user", "mika", role="coordinator", full_name="Mika Ito", password=PASSWORD)
    assert not User.objects.filter(username="mika").exists()


def test_admin_form_refuses_a_coordinator_without_a_clinic(client, admin_user):
    from django.contrib.auth.models import Group

    user = UserFactory(role=Role.TECHNICIAN)
    client.force_login(admin_user)
    coordinator = Group.objects.get(name=Role.COORDINATOR)

    response = client.post(
        f"/admin/compliance/user/{user.pk}/change/",
        {"username": user.username, "full_name": user.full_name, "is_active": "on",
         "groups": [coordinator.pk], "clinic": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"},
    )  # fmt: skip

    assert response.status_code == 200
    assert "A coordinator must belong to a clinic." in response.content.decode()
    assert not user.groups.filter(name=Role.COORDINATOR).exists()
