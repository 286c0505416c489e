"""Events reach the right clinic's receiver, signed, once; retried with the same id; failed after 24 h."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from standardwebhooks import Webhook

from batches.models import Batch
from compliance.services.deviations import deviation_open
from compliance.services.release import batch_release
from compliance.services.scheduling import infusion_cancel, infusion_schedule
from tests.builders import Staff, formulated_batch, record_qc, released_batch, sign_checklist
from tests.factories import PASSWORD, coordinator_of
from tests.webhooks.conftest import clinic_of, subscribe
from webhooks import delivery
from webhooks.models import EventType, OutboxEvent
from webhooks.services import event_redeliver

pytestmark = pytest.mark.django_db
E = EventType
ST = OutboxEvent.Status


def in_window(batch: Batch) -> dt.datetime:
    """Day 35 after injury: inside the sub-acute infusion window (day 31-180)."""
    injury = batch.therapy.patient.injury_date
    return timezone.make_aware(dt.datetime.combine(injury + dt.timedelta(days=35), dt.time(10)))


def releasable(staff: Staff) -> Batch:
    batch = formulated_batch(staff)
    record_qc(batch, staff)
    sign_checklist(batch, staff)
    return batch


def release(batch: Batch, staff: Staff, decision: str = "release", reason: str = "") -> None:
    batch_release(batch=batch, actor=staff.qa, password=PASSWORD, decision=decision, reason=reason)


def test_release_delivers_exactly_the_right_event_to_the_right_clinic_only(staff, receiver):
    mine, other = releasable(staff), releasable(staff)
    subscribe(receiver, clinic_of(mine), "mine")
    subscribe(receiver, clinic_of(other), "other")
    release(mine, staff)

    assert delivery.drain() == delivery.DrainResult(delivered=1)
    assert receiver.verified("other") == []
    [got] = receiver.deliveries
    assert got.verified and got.path == "mine"
    assert got.type == "batch.released"
    data = got.payload["data"]
    assert (data["din"], data["coi"], data["status"]) == (mine.din, mine.therapy.coi, "released")
    assert {"ready", "blockers", "projected_ready_on", "doses"} <= set(data["readiness"])
    assert data["readiness"]["doses"][0]["dose_id"] == f"{mine.din}-1"
    assert data["link"].endswith(f"/api/v1/batches/{mine.din}/")
    event = OutboxEvent.objects.get()
    assert got.webhook_id == str(event.id)
    assert (event.status, event.attempts, event.last_status_code) == (ST.DELIVERED, 1, 200)
    # Nothing of the other clinic travels in the payload.
    body = got.body.decode()
    for foreign in (other.din, other.therapy.coi, clinic_of(other).code, other.therapy.patient.code):
        assert foreign not in body
    assert delivery.drain() == delivery.DrainResult()  # nothing due: delivered once


def test_an_endpoint_gets_only_the_events_it_subscribed_to(staff, receiver):
    batch = releasable(staff)
    subscribe(receiver, clinic_of(batch), "infusions", [E.INFUSION_SCHEDULED])
    inactive = subscribe(receiver, clinic_of(batch), "inactive", [E.BATCH_RELEASED])
    inactive.active = False
    inactive.save(update_fields=["active"])
    release(batch, staff)
    assert not OutboxEvent.objects.exists()


def test_a_rolled_back_change_emits_nothing(staff, receiver):
    batch = releasable(staff)
    subscribe(receiver, clinic_of(batch), "mine")
    with pytest.raises(RuntimeError), transaction.atomic():
        release(batch, staff)
        assert OutboxEvent.objects.count() == 1  # written in the transaction of the release...
        raise RuntimeError("the request failed after the release")
    assert not OutboxEvent.objects.exists()  # ...and gone with it


def test_receiver_down_event_is_retried_and_arrives_later_with_the_same_id(staff, receiver):
    batch = releasable(staff)
    subscribe(receiver, clinic_of(batch), "mine")
    release(batch, staff)
    receiver.script.append(503)
    assert delivery.drain() == delivery.DrainResult(retried=1)  # answered 503
    event = OutboxEvent.objects.get()
    first_id = receiver.deliveries[0].webhook_id
    assert (event.status, event.attempts, event.last_status_code) == (ST.PENDING, 1, 503)
    assert timezone.now() < event.next_attempt_at <= timezone.now() + dt.timedelta(seconds=31)

    receiver.stop()  # now not even listening
    with time_machine.travel(event.next_attempt_at + dt.timedelta(seconds=1), tick=True):
        assert delivery.drain() == delivery.DrainResult(retried=1)
    event.refresh_from_db()
    assert event.attempts == 2 and "Connection" in event.last_error

    receiver.start()  # back, on the same port
    with time_machine.travel(event.next_attempt_at + dt.timedelta(seconds=1), tick=True):
        assert delivery.drain() == delivery.DrainResult(delivered=1)
    event.refresh_from_db()
    assert (event.status, event.attempts) == (ST.DELIVERED, 3)
    assert [d.webhook_id for d in receiver.deliveries] == [first_id, first_id] == [str(event.id)] * 2
    assert all(d.verified for d in receiver.deliveries)


def test_backoff_grows_with_jitter_and_stays_capped():
    waits = [delivery.backoff(n).total_seconds() for n in range(1, 12) for _ in range(20)]
    assert all(15 <= w <= 7200 for w in waits)
    assert len(set(waits)) > 100  # jittered
    assert max(delivery.backoff(3).total_seconds() for _ in range(50)) <= 120
    assert (
        min(delivery.backoff(9).total_seconds() for _ in range(50)) >= 3600
    )  # capped at 2 h, jitter to half


@override_settings(WEBHOOKS_RETRY_WINDOW=3600)
def test_failed_after_the_retry_window_then_redelivered_by_hand(staff, receiver):
    batch = releasable(staff)
    subscribe(receiver, clinic_of(batch), "mine")
    release(batch, staff)
    event = OutboxEvent.objects.get()
    receiver.stop()
    moment = timezone.now()
    while event.status == ST.PENDING:
        moment = max(moment, event.next_attempt_at) + dt.timedelta(seconds=1)
        with time_machine.travel(moment, tick=False):
            delivery.drain()
        event.refresh_from_db()
    assert event.status == ST.FAILED
    assert event.last_attempt_at >= event.retry_until  # the last attempt is at the end of the window
    assert 4 <= event.attempts <= 12  # exponential: not one attempt a minute

    receiver.start()
    event_redeliver(event=event, actor=coordinator_of(clinic_of(batch)))
    assert delivery.drain() == delivery.DrainResult(delivered=1)
    assert [d.webhook_id for d in receiver.verified()] == [str(event.id)]


def test_a_redirect_is_not_followed(staff, receiver):
    batch = releasable(staff)
    subscribe(receiver, clinic_of(batch), "mine")
    receiver.redirect_to = receiver.url("elsewhere")
    receiver.script.append(302)
    release(batch, staff)
    assert delivery.drain() == delivery.DrainResult(retried=1)
    assert [d.path for d in receiver.deliveries] == ["mine"]
    assert "HTTP 302" in OutboxEvent.objects.get().last_error


def test_rejection_quarantine_and_infusions_are_announced(staff, receiver):
    rejected, quarantined = releasable(staff), releasable(staff)
    released = released_batch(staff, injured_days_ago=20)
    for batch, name in ((rejected, "a"), (quarantined, "b"), (released, "c")):
        subscribe(receiver, clinic_of(batch), name)
    release(rejected, staff, "reject", reason="mix-up at labelling")
    deviation_open(batch=quarantined, severity="major", description="incubator alarm", actor=staff.tech)
    dose = released.doses.get()
    coordinator = coordinator_of(clinic_of(released))
    infusion = infusion_schedule(dose=dose, scheduled_for=in_window(released), route="iv", actor=coordinator)
    infusion_cancel(infusion=infusion, reason="patient has a fever", actor=coordinator)
    delivery.drain()

    got = {(d.path, d.type): d.payload["data"] for d in receiver.verified()}
    assert set(got) == {
        ("a", "batch.rejected"),
        ("b", "batch.quarantined"),
        ("c", "infusion.scheduled"),
        ("c", "infusion.cancelled"),
    }
    assert got[("a", "batch.rejected")]["status"] == "rejected"
    assert got[("b", "batch.quarantined")]["readiness"]["ready"] is False
    scheduled, cancelled = got[("c", "infusion.scheduled")], got[("c", "infusion.cancelled")]
    assert scheduled["infusion"]["dose_id"] == cancelled["infusion"]["dose_id"] == dose.dose_id
    assert (scheduled["infusion"]["status"], cancelled["infusion"]["status"]) == ("scheduled", "cancelled")
    assert scheduled["readiness"]["doses"][0]["ready"] is False  # the dose is taken by the infusion
    assert cancelled["infusion"]["cancel_reason"] == "patient has a fever"


def test_doses_expiring_announced_once_by_the_sweep(staff, receiver):
    from monitoring.sweeps import sweep_expiry

    batch = released_batch(staff)
    subscribe(receiver, clinic_of(batch), "mine", [E.DOSE_EXPIRING])
    expires = batch.doses.get().expires_at
    with time_machine.travel(expires - dt.timedelta(hours=30), tick=True):
        sweep_expiry()
        assert not OutboxEvent.objects.exists()  # not yet within the warning
    for hours in (20, 19):  # a later sweep finds the flag open: no second event
        with time_machine.travel(expires - dt.timedelta(hours=hours), tick=True):
            sweep_expiry()
            delivery.drain()
    [got] = receiver.verified()
    assert got.type == "dose.expiring"
    assert got.payload["data"]["expiring_doses"] == [
        {"dose_id": f"{batch.din}-1", "expires_at": expires.isoformat()}
    ]


def test_projection_change_of_a_day_or_more_is_announced(staff, receiver):
    from batches.signals import ProjectionDates, projection_changed

    batch = formulated_batch(staff)
    subscribe(receiver, clinic_of(batch), "mine", [E.BATCH_PROJECTION_CHANGED])
    d = dt.date(2026, 12, 20)
    day = dt.timedelta(days=1)
    first = ProjectionDates(d, d - day, d + 2 * day)
    moved = ProjectionDates(d, d - day, d + 3 * day)  # the interval's high end moved a day
    with transaction.atomic():
        projection_changed.send(Batch, batch=batch, previous=None, current=first)
        projection_changed.send(Batch, batch=batch, previous=first, current=first)  # no move: nothing
        projection_changed.send(Batch, batch=batch, previous=first, current=moved)
        projection_changed.send(Batch, batch=batch, previous=first, current=moved)  # a replay: nothing
    delivery.drain()
    got = [d.payload["data"] for d in receiver.verified()]
    assert [g["projection"]["projected_ready_between"] for g in got] == [
        ["2026-12-19", "2026-12-22"],
        ["2026-12-19", "2026-12-23"],
    ]
    assert got[1]["previous_projection"]["projected_ready_between"] == ["2026-12-19", "2026-12-22"]
    assert got[1]["din"] == batch.din


def test_a_deactivated_endpoint_is_not_called(staff, receiver):
    from webhooks.services import endpoint_deactivate

    batch = releasable(staff)
    endpoint = subscribe(receiver, clinic_of(batch), "mine")
    release(batch, staff)
    endpoint_deactivate(endpoint=endpoint, actor=coordinator_of(clinic_of(batch)))
    assert delivery.drain() == delivery.DrainResult(retried=1)
    assert receiver.deliveries == []


def test_payload_is_the_signed_body(staff, receiver):
    batch = releasable(staff)
    subscribe(receiver, clinic_of(batch), "mine")
    release(batch, staff)
    delivery.drain()
    [got] = receiver.verified()
    assert json.loads(got.body) == OutboxEvent.objects.get().payload
    assert got.headers["content-type"] == "application/json"


def test_rejection_at_re_review_announces_the_rejection_and_each_cancelled_infusion(staff, receiver):
    from batches.services import step_amend
    from compliance.services.release_review import batch_release_review

    batch = released_batch(staff, injured_days_ago=20)
    coordinator = coordinator_of(clinic_of(batch))
    infusion = infusion_schedule(
        dose=batch.doses.get(), scheduled_for=in_window(batch), route="iv", actor=coordinator
    )
    subscribe(receiver, clinic_of(batch), "mine", [E.BATCH_REJECTED, E.INFUSION_CANCELLED])
    step_amend(step=batch.steps.get(kind="harvest"), actor=staff.tech, reason="count transcribed wrongly",
               viable_cells=149_000_000)  # fmt: skip
    batch_release_review(
        batch=batch, actor=staff.qa, password=PASSWORD, decision="reject", reason="count changed"
    )
    delivery.drain()
    got = {d.type: d.payload["data"] for d in receiver.verified()}
    assert set(got) == {"batch.rejected", "infusion.cancelled"}
    assert got["batch.rejected"]["status"] == "rejected"
    assert got["infusion.cancelled"]["infusion"]["id"] == str(infusion.pk)
    assert got["infusion.cancelled"]["infusion"]["status"] == "cancelled"


def test_after_a_rotation_both_secrets_verify_for_a_day_then_only_the_new(staff, receiver):
    from webhooks.services import endpoint_rotate_secret

    batch = releasable(staff)
    endpoint = subscribe(receiver, clinic_of(batch), "mine")
    old = receiver.secrets["mine"]
    _, new = endpoint_rotate_secret(endpoint=endpoint, actor=coordinator_of(clinic_of(batch)))
    release(batch, staff)
    delivery.drain()
    [got] = receiver.deliveries
    assert got.verified  # the receiver still has the old secret
    assert Webhook(new).verify(got.body, got.headers) == got.payload

    event = OutboxEvent.objects.get()
    event_redeliver(event=event, actor=coordinator_of(clinic_of(batch)))
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25), tick=True):
        delivery.drain()
        late = receiver.deliveries[-1]
        assert not late.verified  # the old secret no longer signs
        assert Webhook(new).verify(late.body, late.headers)["type"] == "batch.released"
    assert old != new
