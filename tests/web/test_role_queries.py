"""The role worklists and the batch page run a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from batches.services import collection_create, step_record
from compliance.services.deviations import deviation_open
from tests.builders import formulated_batch
from tests.factories import coordinator_of, scan
from tests.web.conftest import login, new_batch

HOUR = dt.timedelta(hours=1)


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _batch_with_timeline(tech, entries: int):
    """A batch received ``entries`` + 1 hours ago whose timeline has ``entries`` entries (receipt, seeding, feedings)."""
    batch = new_batch(hours_ago=entries + 30)
    now, label = timezone.now(), scan(batch.din)
    start = now - (entries + 2) * HOUR
    step_record(batch=batch, kind="receipt", actor=tech, scanned_identifier=label, performed_at=start,
                temperature_c=8, seal_intact=True)  # fmt: skip
    if entries > 1:
        coordinator = coordinator_of(batch.therapy.patient.clinic)
        serum = collection_create(therapy=batch.therapy, kind="peripheral_blood", collected_at=start - HOUR,
                                  volume_ml=240, actor=coordinator)  # fmt: skip
        step_record(batch=batch, kind="seeding", actor=tech, scanned_identifier=label, performed_at=start + HOUR,
                    seeded_cells=20_000_000, medium_lot="M-1", serum_din=serum.din)  # fmt: skip
    for n in range(2, entries):
        step_record(batch=batch, kind="feeding", actor=tech, scanned_identifier=label,
                    performed_at=start + n * HOUR, medium_lot=f"M-{n}")  # fmt: skip
    return batch


def test_batch_page_queries_are_the_same_at_1_and_200_timeline_entries(client, staff):
    login(client, staff.qa)
    short = _batch_with_timeline(staff.tech, 1)
    long = _batch_with_timeline(staff.tech, 200)
    assert (
        len(client.get(reverse("batches:detail", args=[long.din])).content.decode().split('<li class="step'))
        == 201
    )
    client.get(reverse("batches:detail", args=[short.din]))  # both with their readiness facts stored

    one = _queries(client, reverse("batches:detail", args=[short.din]))
    two_hundred = _queries(client, reverse("batches:detail", args=[long.din]))

    assert one == two_hundred


def test_technician_batch_page_with_bench_forms_does_not_grow_with_the_timeline(client, staff):
    login(client, staff.tech)
    first = _batch_with_timeline(staff.tech, 3)
    second = _batch_with_timeline(staff.tech, 200)
    for batch in (first, second):  # readiness facts stored, as after any first view
        client.get(reverse("batches:detail", args=[batch.din]))

    assert _queries(client, reverse("batches:detail", args=[first.din])) == _queries(
        client, reverse("batches:detail", args=[second.din])
    )


def test_qc_worklist_queries_are_the_same_for_1_and_20_batches(client, staff):
    login(client, staff.qc)
    url = reverse("batches:worklists")
    formulated_batch(staff)
    one = _queries(client, url)
    for _ in range(19):
        formulated_batch(staff)

    twenty = _queries(client, url)

    page = client.get(url).content.decode()
    assert page.count("Enter result") == 20 * 11
    # session, user, roles, QC batches (with harvest time), their results, unread notifications
    assert one == twenty == 6


def test_qa_worklist_queries_are_the_same_for_1_and_20_rows(client, staff):
    login(client, staff.qa)
    url = reverse("batches:worklists")

    def add() -> None:
        batch = formulated_batch(staff)
        deviation_open(batch=batch, severity="minor", description="Label smudged", actor=staff.tech)

    add()
    one = _queries(client, url)
    for _ in range(19):
        add()

    twenty = _queries(client, url)

    page = client.get(url).content.decode()
    assert page.count("Label smudged") == 20
    # session, user, roles, release worklist, open deviations, open findings, open flags, notifications,
    # the latest completed sweep (QA's stale-sweeps banner)
    assert one == twenty == 9


def test_qa_worklist_lists_a_release_a_later_change_invalidated(client, staff):
    from batches.services import step_amend
    from compliance.readiness.bulk import refresh_stored_facts
    from tests.builders import released_batch

    batch = released_batch(staff, injured_days_ago=20)
    step_amend(step=batch.steps.get(kind="harvest"), actor=staff.tech, reason="count transcribed wrongly",
               viable_cells=149_000_000)  # fmt: skip
    refresh_stored_facts([batch.pk])  # what the Celery refresh after every change does
    login(client, staff.qa)

    section = client.get(reverse("batches:worklists")).content.decode().split('id="worklist-qa-release"')[1]

    row = section.split("</section>")[0]
    assert reverse("compliance:checklist", args=[batch.din]) in row and "re-review needed" in row
