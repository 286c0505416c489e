"""Twenty bedside submissions of one infusion at once, each its own client and connection: one administers.

The service locks the batch row, then the infusion, and re-reads its status before
deciding; the others are refused with ``wrong_state`` and change nothing.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from batches.models import Batch
from compliance.models import Infusion
from compliance.services.scheduling import infusion_schedule
from core.roles import Role
from tests.builders import Staff, ready_batch
from tests.factories import ClinicFactory, UserFactory, scan
from tests.web.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 20


def test_twenty_concurrent_bedside_scans_administer_the_dose_once():
    staff = Staff.create()
    clinic = ClinicFactory(code="KEIO")
    coordinator = UserFactory(role=Role.COORDINATOR, clinic=clinic)
    batch = ready_batch(staff, clinic)
    infusion = infusion_schedule(dose=batch.doses.get(), scheduled_for=timezone.now() + dt.timedelta(minutes=5),
                                 route="iv", actor=staff.qa)  # fmt: skip
    url = reverse("coordinator:bedside", args=[infusion.pk])
    form = {"scanned_identifier": f"{scan(batch.din)}-1", "wristband": batch.therapy.coi}
    clients = [login(Client(), coordinator) for _ in range(CLIENTS)]
    barrier, statuses, lock = threading.Barrier(CLIENTS), [], threading.Lock()

    def submit(client: Client) -> None:
        try:
            barrier.wait(timeout=30)
            status = client.post(url, form).status_code
        except Exception as error:  # reported below, on the main thread
            status = repr(error)
        finally:
            connection.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses, key=str) == [302] + [422] * (CLIENTS - 1)
    assert Infusion.objects.get(pk=infusion.pk).status == "administered"
    assert Batch.objects.get(pk=batch.pk).status == "infused"
