"""List pages run a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from batches.models import Batch, Flag
from batches.services import collection_create, step_record, therapy_create
from tests.factories import PatientFactory, coordinator_of, protocol, scan
from tests.web.conftest import login

DAY = dt.timedelta(days=1)


def _chronic_batch(tech, *, seeded: bool) -> Batch:
    """A chronic-protocol batch received 34 days ago and, if ``seeded``, seeded 33 days ago:
    then its feeding is due and its culture overdue (maximum 28 days)."""
    now = timezone.now()
    patient = PatientFactory(injury_date=timezone.localdate() - 240 * DAY)
    therapy = therapy_create(
        patient=patient, protocol=protocol("SCI-CHRONIC-IT"), actor=coordinator_of(patient.clinic)
    )
    batch = collection_create(
        therapy=therapy,
        kind="bone_marrow",
        collected_at=now - 35 * DAY,
        volume_ml=30,
        actor=coordinator_of(therapy.patient.clinic),
    ).batch
    label = scan(batch.din)
    step_record(batch=batch, kind="receipt", actor=tech, scanned_identifier=label, performed_at=now - 34 * DAY,
                temperature_c=8, seal_intact=True)  # fmt: skip
    if seeded:
        step_record(batch=batch, kind="seeding", actor=tech, scanned_identifier=label,
                    performed_at=now - 33 * DAY, seeded_cells=5_000_000, medium_lot="M-1")  # fmt: skip
        step_record(batch=batch, kind="cell_count", actor=tech, scanned_identifier=label,
                    performed_at=now - 30 * DAY, viable_cells=9_000_000, viability_pct=95)  # fmt: skip
    now = timezone.now()
    Flag.objects.create(batch=batch, kind=Flag.Kind.CULTURE_OVERDUE, severity="critical", detail="Overdue.",
                        first_seen_at=now, last_seen_at=now)  # fmt: skip
    return batch


def _add_batches(tech, n: int) -> None:
    for i in range(n):
        _chronic_batch(tech, seeded=i % 2 == 0)


def _count(client, url: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('class="mono"><a href="/batches/') >= rows
    return len(queries)


def test_batch_list_queries_are_the_same_for_1_and_20_batches(client, staff):
    login(client, staff.tech)
    url = reverse("batches:list")
    _add_batches(staff.tech, 1)
    one = _count(client, url, 1)
    _add_batches(staff.tech, 19)

    twenty = _count(client, url, 20)

    # session, user, the user's roles, status counts, page count, batches (with open-flag counts),
    # their effective steps, unread notifications
    assert one == twenty == 8


def test_worklists_queries_are_the_same_for_1_and_20_rows_per_list(client, staff):
    login(client, staff.tech)  # the bench worklist (QC's and QA's: test_role_queries)
    url = reverse("batches:worklists")
    _add_batches(staff.tech, 2)  # one seeded (feeding due, overdue), one awaiting seeding
    one = _count(client, url, 2)
    _add_batches(staff.tech, 38)

    twenty = _count(client, url, 40)

    # session, user, the user's roles, feeding due, awaiting seeding, culture overdue,
    # open flags (with batch and acknowledger), unread notifications
    assert one == twenty == 8


def test_notifications_queries_do_not_grow_with_rows(client, staff):
    from batches.models import Notification

    login(client, staff.tech)
    url = reverse("batches:notifications")
    batch = _chronic_batch(staff.tech, seeded=False)
    flag = Flag.objects.get(batch=batch)
    Notification.objects.create(flag=flag, user=staff.tech, event="opened", severity="critical",
                                created_at=timezone.now())  # fmt: skip
    one = _count(client, url, 1)
    for _ in range(19):
        other = Flag.objects.get(batch=_chronic_batch(staff.tech, seeded=False))
        Notification.objects.create(flag=other, user=staff.tech, event="opened", severity="critical",
                                    created_at=timezone.now())  # fmt: skip

    assert _count(client, url, 20) == one
