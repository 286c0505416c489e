"""The technician's forms on the batch page: log a step, transfer custody, acknowledge flags."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from batches.models import CultureStep, CustodyTransfer, Finding, Flag, Location, Notification
from tests.factories import LocationFactory, UserFactory, scan
from tests.web.conftest import login, new_batch


def _receipt(batch, **overrides):
    data = {
        "kind": "receipt",
        "scanned_identifier": scan(batch.din),
        "temperature_c": "8",
        "seal_intact": "yes",
    }
    return {**data, **overrides}


def test_technician_logs_a_receipt_and_the_batch_becomes_received(client, staff, batch):
    login(client, staff.tech)

    response = client.post(reverse("batches:step_log", args=[batch.din]), _receipt(batch), follow=True)

    batch.refresh_from_db()
    assert batch.status == "received"
    step = CultureStep.objects.get(batch=batch)
    assert (step.kind, step.performed_by, step.seal_intact) == ("receipt", staff.tech, True)
    assert response.redirect_chain == [(reverse("batches:detail", args=[batch.din]), 302)]
    assert "Receipt logged; the batch is received." in response.content.decode()


def test_wrong_scan_is_refused_in_words_and_only_the_identity_finding_is_kept(client, staff, batch):
    other = new_batch()
    login(client, staff.tech)

    response = client.post(
        reverse("batches:step_log", args=[batch.din]), _receipt(batch, scanned_identifier=scan(other.din))
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "Refused:" in page
    assert f"Scanned item {other.din} is not batch {batch.din}: wrong item." in page
    batch.refresh_from_db()
    assert batch.status == "awaiting_receipt"
    assert not CultureStep.objects.filter(batch=batch).exists()
    (finding,) = Finding.objects.filter(batch=batch)
    assert finding.kind == Finding.Kind.IDENTITY_MISMATCH
    assert 'value="8"' in page  # the technician's entries are kept for the next try


def test_a_scan_without_its_check_character_is_refused(client, staff, batch):
    login(client, staff.tech)

    response = client.post(
        reverse("batches:step_log", args=[batch.din]), _receipt(batch, scanned_identifier=batch.din)
    )

    assert response.status_code == 422
    assert "must be the DIN with its check character" in response.content.decode()
    assert not CultureStep.objects.filter(batch=batch).exists()


def test_missing_values_of_the_kind_are_field_errors_and_nothing_is_recorded(client, staff, batch):
    login(client, staff.tech)

    response = client.post(
        reverse("batches:step_log", args=[batch.din]), _receipt(batch, temperature_c="", seal_intact="")
    )

    assert response.status_code == 422
    assert response.context["step_form"].errors.keys() == {"temperature_c", "seal_intact"}
    assert not Finding.objects.exists() and not CultureStep.objects.exists()


def test_a_step_the_status_does_not_allow_is_refused_with_the_reason(client, staff, batch):
    login(client, staff.tech)
    data = {"kind": "feeding", "scanned_identifier": scan(batch.din), "medium_lot": "M-1"}

    response = client.post(reverse("batches:step_log", args=[batch.din]), data)

    assert response.status_code == 422
    assert "A feeding step needs the batch in culture; it is awaiting receipt." in response.content.decode()


def test_step_fields_swap_by_kind_over_htmx(client, staff, batch):
    login(client, staff.tech)
    url = reverse("batches:step_fields", args=[batch.din])

    response = client.get(url, {"kind": "seeding"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="seeded_cells"' in page and 'name="medium_lot"' in page and 'name="serum_din"' in page
    assert 'name="temperature_c"' not in page and "<html" not in page
    plain = client.get(url, {"kind": "seeding"})
    assert plain.status_code == 302 and plain.url.endswith("?kind=seeding#log-step")


def test_custody_form_records_a_transfer(client, staff, batch):
    box = LocationFactory(code="SHIPPER-1", kind=Location.Kind.TRANSPORT)
    login(client, staff.tech)
    data = {
        "to_location": box.pk,
        "temperature_c": "6.5",
        "seal_intact": "yes",
        "scanned_identifier": scan(batch.din),
    }

    response = client.post(reverse("batches:custody_log", args=[batch.din]), data, follow=True)

    transfer = CustodyTransfer.objects.get(batch=batch)
    assert (transfer.to_location, transfer.sequence, transfer.performed_by) == (box, 1, staff.tech)
    assert "Custody transfer #1 to SHIPPER-1 recorded." in response.content.decode()


def test_custody_form_offers_active_locations_only(client, staff, batch):
    LocationFactory(code="OLD-FRIDGE", active=False)
    LocationFactory(code="INC-2")
    login(client, staff.tech)

    page = client.get(reverse("batches:detail", args=[batch.din])).content.decode()

    assert "INC-2" in page and "OLD-FRIDGE" not in page


def test_csrf_is_enforced_on_forms(staff, batch):
    client = login(Client(enforce_csrf_checks=True), staff.tech)

    response = client.post(reverse("batches:step_log", args=[batch.din]), _receipt(batch))

    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == "awaiting_receipt"
    assert not CultureStep.objects.exists()


@pytest.fixture
def flag(batch):
    now = timezone.now()
    return Flag.objects.create(
        batch=batch, kind=Flag.Kind.SEEDING_OVERDUE, severity="warning", detail="Seeding was due yesterday.",
        first_seen_at=now, last_seen_at=now,
    )  # fmt: skip


def test_open_flag_is_acknowledged_from_the_worklists(client, staff, flag):
    login(client, staff.tech)
    assert "Seeding was due yesterday." in client.get(reverse("batches:worklists")).content.decode()

    response = client.post(reverse("batches:flag_acknowledge", args=[flag.pk]), {"note": "seeding at 14:00"})

    assert response.status_code == 302 and response.url == reverse("batches:worklists")
    flag.refresh_from_db()
    assert (flag.acknowledged_by, flag.acknowledgement_note) == (staff.tech, "seeding at 14:00")


def test_notifications_list_badge_and_mark_read(client, staff, flag):
    mine = Notification.objects.create(
        flag=flag, user=staff.tech, event="opened", severity="warning", created_at=timezone.now()
    )
    theirs = Notification.objects.create(
        flag=flag, user=UserFactory(), event="opened", severity="warning",
        created_at=timezone.now() - dt.timedelta(minutes=1),
    )  # fmt: skip
    login(client, staff.tech)

    page = client.get(reverse("batches:notifications")).content.decode()
    assert "Seeding was due yesterday." in page
    assert '<span class="badge" title="unread">1</span>' in page

    client.post(reverse("batches:notification_read", args=[mine.pk]))
    assert client.post(reverse("batches:notification_read", args=[theirs.pk])).status_code == 404

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    assert 'title="unread"' not in client.get(reverse("batches:list")).content.decode()
