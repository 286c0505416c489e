"""The coordinator's pages through the Django client: own clinic only, every form, refusals change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from batches.models import Batch, Clinic
from compliance.models import AdministrationAttempt, Infusion, InfusionObservation
from compliance.services.scheduling import infusion_administer, infusion_schedule
from tests.builders import Staff, ready_batch
from tests.factories import ClinicFactory, coordinator_of, scan
from tests.web.conftest import login, new_batch

pytestmark = pytest.mark.django_db
LOCAL = "%Y-%m-%dT%H:%M"


def local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime(LOCAL)


def scheduled(batch: Batch, staff: Staff, minutes: int = 1) -> Infusion:
    return infusion_schedule(
        dose=batch.doses.get(), scheduled_for=timezone.now() + dt.timedelta(minutes=minutes), route="iv",
        actor=staff.qa,
    )  # fmt: skip


@pytest.fixture
def ready(staff: Staff, clinic: Clinic) -> Batch:
    return ready_batch(staff, clinic)


@pytest.fixture
def other_clinic_coordinator(db: None):
    return coordinator_of(ClinicFactory(code="OTHER"))


# --- worklist and home ------------------------------------------------------------------


def test_coordinator_home_lists_own_therapies_batches_readiness_and_doses(client, coordinator, ready, staff):
    elsewhere = new_batch()  # another clinic's
    awaiting = new_batch(coordinator.clinic)

    page = login(client, coordinator).get("/")

    html = page.content.decode()
    assert page.status_code == 200
    assert f">{ready.therapy.coi}<" in html and f">{awaiting.therapy.coi}<" in html
    assert f">{elsewhere.therapy.coi}<" not in html
    assert reverse("batches:detail", args=[elsewhere.din]) not in html
    assert "Awaiting receipt" in html and "Released" in html  # readable status names, not codes
    assert 'class="din-k"' in html  # the DIN printed with its check character set apart
    assert reverse("coordinator:schedule", args=[f"{ready.din}-1"]) in html
    assert "Not ready" in html  # the batch awaiting receipt says why not
    assert "not released by QA" in html


def test_worklist_shows_an_upcoming_infusion_with_its_time_zone(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff, minutes=90)

    html = login(client, coordinator).get(reverse("coordinator:worklist")).content.decode()

    assert reverse("coordinator:infusion", args=[infusion.pk]) in html
    assert timezone.localtime(infusion.scheduled_for).strftime("%Y-%m-%d %H:%M JST") in html


@pytest.mark.parametrize("role", ["technician", "qc", "qa", "admin"])
def test_worklist_is_refused_to_other_roles_with_a_page_not_a_bare_403(client, users, role):
    response = login(client, users[role]).get(reverse("coordinator:worklist"))

    assert response.status_code == 403
    html = response.content.decode()
    assert "Go to your home page" in html and 'href="/"' in html and "<nav>" in html


@pytest.mark.parametrize("role", ["technician", "qc", "qa", "admin"])
def test_home_of_roles_without_a_clinic_worklist_is_a_page(client, users, role):
    assert login(client, users[role]).get("/").status_code == 200


def test_worklist_refuses_a_coordinator_bound_to_no_clinic(client):
    from tests.factories import unbound_coordinator

    assert login(client, unbound_coordinator()).get(reverse("coordinator:worklist")).status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("coordinator:worklist"))

    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- scheduling -------------------------------------------------------------------------


def test_coordinator_schedules_an_infusion_of_a_ready_dose(client, coordinator, ready):
    url = reverse("coordinator:schedule", args=[f"{ready.din}-1"])
    when = timezone.now() + dt.timedelta(days=2)
    login(client, coordinator)
    assert client.get(url).status_code == 200

    response = client.post(url, {"scheduled_for": local(when)})

    infusion = Infusion.objects.get(dose__batch=ready)
    assert response.status_code == 302 and response["Location"] == reverse(
        "coordinator:infusion", args=[infusion.pk]
    )
    assert infusion.status == "scheduled" and infusion.route == "iv" and infusion.created_by == coordinator
    assert local(infusion.scheduled_for) == local(when)


def test_scheduling_in_the_past_is_refused_with_the_reason_and_nothing_created(client, coordinator, ready):
    url = reverse("coordinator:schedule", args=[f"{ready.din}-1"])

    response = login(client, coordinator).post(
        url, {"scheduled_for": local(timezone.now() - dt.timedelta(days=1))}
    )

    assert response.status_code == 422
    assert "An infusion is scheduled in the future." in response.content.decode()
    assert not Infusion.objects.exists()


def test_scheduling_a_batch_not_released_lists_every_reason(client, coordinator, clinic):
    batch = new_batch(clinic)
    Batch.objects.filter(pk=batch.pk)  # awaiting receipt: no doses at all
    url = reverse("coordinator:schedule", args=[f"{batch.din}-1"])

    assert login(client, coordinator).get(url).status_code == 404  # no dose 1 yet


def test_scheduling_form_errors_are_shown_and_nothing_created(client, coordinator, ready):
    url = reverse("coordinator:schedule", args=[f"{ready.din}-1"])

    response = login(client, coordinator).post(url, {"scheduled_for": "next tuesday"})

    assert response.status_code == 422 and "errorlist" in response.content.decode()
    assert not Infusion.objects.exists()


def test_another_clinics_dose_is_not_found_and_not_scheduled(client, other_clinic_coordinator, ready):
    url = reverse("coordinator:schedule", args=[f"{ready.din}-1"])
    login(client, other_clinic_coordinator)

    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"scheduled_for": local(timezone.now() + dt.timedelta(days=1))}).status_code == 404
    )
    assert not Infusion.objects.exists()


@pytest.mark.parametrize("role", ["technician", "qc", "admin"])
def test_roles_that_do_not_schedule_are_refused(client, users, ready, role):
    url = reverse("coordinator:schedule", args=[f"{ready.din}-1"])

    response = login(client, users[role]).post(
        url, {"scheduled_for": local(timezone.now() + dt.timedelta(days=1))}
    )

    assert response.status_code == 403
    assert not Infusion.objects.exists()


def test_qa_may_schedule_for_any_clinic(client, staff, ready):
    url = reverse("coordinator:schedule", args=[f"{ready.din}-1"])

    response = login(client, staff.qa).post(
        url, {"scheduled_for": local(timezone.now() + dt.timedelta(days=1))}
    )

    assert response.status_code == 302 and Infusion.objects.filter(status="scheduled").count() == 1


# --- cancel and reschedule --------------------------------------------------------------


def test_cancel_needs_a_reason_then_frees_the_dose(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)
    url = reverse("coordinator:cancel", args=[infusion.pk])
    login(client, coordinator)

    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 422 and Infusion.objects.get(pk=infusion.pk).status == "scheduled"

    response = client.post(url, {"reason": "Patient has a fever"})

    infusion.refresh_from_db()
    assert response.status_code == 302
    assert (infusion.status, infusion.cancel_reason) == ("cancelled", "Patient has a fever")


def test_reschedule_with_a_reason_cancels_and_schedules_anew(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)
    when = timezone.now() + dt.timedelta(days=3)

    response = login(client, coordinator).post(
        reverse("coordinator:reschedule", args=[infusion.pk]),
        {"scheduled_for": local(when), "reason": "Flight moved"},
    )

    new = Infusion.objects.get(status="scheduled")
    assert response.status_code == 302 and response["Location"] == reverse(
        "coordinator:infusion", args=[new.pk]
    )
    assert new.rescheduled_from_id == infusion.pk and local(new.scheduled_for) == local(when)
    assert Infusion.objects.get(pk=infusion.pk).cancel_reason == "rescheduled: Flight moved"


def test_reschedule_without_a_reason_changes_nothing(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)

    response = login(client, coordinator).post(
        reverse("coordinator:reschedule", args=[infusion.pk]),
        {"scheduled_for": local(timezone.now() + dt.timedelta(days=3))},
    )

    assert response.status_code == 422
    assert list(Infusion.objects.values_list("pk", "status")) == [(infusion.pk, "scheduled")]


def test_reschedule_into_the_past_is_refused_and_the_infusion_stays(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)

    response = login(client, coordinator).post(
        reverse("coordinator:reschedule", args=[infusion.pk]),
        {"scheduled_for": local(timezone.now() - dt.timedelta(days=3)), "reason": "oops"},
    )

    assert response.status_code == 422 and "scheduled in the future" in response.content.decode()
    assert list(Infusion.objects.values_list("pk", "status")) == [(infusion.pk, "scheduled")]


def test_another_clinic_cannot_see_cancel_or_reschedule_an_infusion(
    client, other_clinic_coordinator, ready, staff
):
    infusion = scheduled(ready, staff)
    login(client, other_clinic_coordinator)

    assert client.get(reverse("coordinator:infusion", args=[infusion.pk])).status_code == 404
    assert client.post(reverse("coordinator:cancel", args=[infusion.pk]), {"reason": "x"}).status_code == 404
    assert client.get(reverse("coordinator:bedside", args=[infusion.pk])).status_code == 404
    assert Infusion.objects.get(pk=infusion.pk).status == "scheduled"


def test_qc_may_not_open_an_infusion(client, staff, ready):
    infusion = scheduled(ready, staff)

    assert login(client, staff.qc).get(reverse("coordinator:infusion", args=[infusion.pk])).status_code == 403


def test_services_refuse_another_clinics_coordinator_too(other_clinic_coordinator, ready, staff):
    from core.errors import NotPermitted

    infusion = scheduled(ready, staff)
    with pytest.raises(NotPermitted):
        infusion_administer(
            infusion=infusion, actor=other_clinic_coordinator, scanned_identifier=f"{scan(ready.din)}-1",
            patient_code=ready.therapy.coi,
        )  # fmt: skip
    assert Infusion.objects.get(pk=infusion.pk).status == "scheduled"


# --- bedside ----------------------------------------------------------------------------


def test_bedside_refuses_a_wrong_wristband_records_it_and_keeps_focus_on_the_scan(
    client, coordinator, ready, staff
):
    infusion = scheduled(ready, staff)
    url = reverse("coordinator:bedside", args=[infusion.pk])
    login(client, coordinator)
    assert "autofocus" in client.get(url).content.decode()

    response = client.post(
        url, {"scanned_identifier": f"{scan(ready.din)}-1", "wristband": "CHA999926999999"}
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert html.index('role="alert"') < html.index('name="scanned_identifier"')  # the reason above the field
    assert "autologous only" in html
    assert 'name="scanned_identifier"' in html and "autofocus" in html
    assert 'value="' + scan(ready.din) not in html  # emptied for the next scan
    assert AdministrationAttempt.objects.get(infusion=infusion).patient_code == "CHA999926999999"
    assert Infusion.objects.get(pk=infusion.pk).status == "scheduled"


def test_bedside_refuses_a_dose_label_with_a_wrong_check_character(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)
    label = scan(ready.din)
    wrong = label[:13] + ("0" if label[13] != "0" else "1")

    response = login(client, coordinator).post(
        reverse("coordinator:bedside", args=[infusion.pk]),
        {"scanned_identifier": f"{wrong}-1", "wristband": ready.therapy.coi},
    )

    assert (
        response.status_code == 422 and AdministrationAttempt.objects.filter(infusion=infusion).count() == 1
    )
    assert Infusion.objects.get(pk=infusion.pk).status == "scheduled"


def test_bedside_administers_when_dose_label_and_wristband_coi_match(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)

    response = login(client, coordinator).post(
        reverse("coordinator:bedside", args=[infusion.pk]),
        {"scanned_identifier": f"{scan(ready.din)}-1", "wristband": ready.therapy.coi.lower()},
    )

    infusion.refresh_from_db()
    assert response.status_code == 302
    assert (infusion.status, infusion.administered_by) == ("administered", coordinator)
    assert Batch.objects.get(pk=ready.pk).status == "infused"


def test_bedside_needs_both_scans(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)

    response = login(client, coordinator).post(
        reverse("coordinator:bedside", args=[infusion.pk]), {"scanned_identifier": f"{scan(ready.din)}-1"}
    )

    assert response.status_code == 422 and Infusion.objects.get(pk=infusion.pk).status == "scheduled"
    assert not AdministrationAttempt.objects.exists()


def test_qc_may_not_administer(client, staff, ready):
    infusion = scheduled(ready, staff)

    response = login(client, staff.qc).post(
        reverse("coordinator:bedside", args=[infusion.pk]),
        {"scanned_identifier": f"{scan(ready.din)}-1", "wristband": ready.therapy.coi},
    )

    assert response.status_code == 403 and Infusion.objects.get(pk=infusion.pk).status == "scheduled"


# --- observations -----------------------------------------------------------------------


def administered(ready: Batch, staff: Staff, coordinator) -> Infusion:
    infusion = scheduled(ready, staff)
    return infusion_administer(
        infusion=infusion,
        actor=coordinator,
        scanned_identifier=f"{scan(ready.din)}-1",
        patient_code=ready.therapy.coi,
    )


def test_observation_after_the_infusion_is_recorded(client, coordinator, ready, staff):
    infusion = administered(ready, staff, coordinator)
    login(client, coordinator)
    assert (
        'name="description"'
        in client.get(reverse("coordinator:infusion", args=[infusion.pk])).content.decode()
    )

    response = client.post(
        reverse("coordinator:observation", args=[infusion.pk]),
        {
            "kind": "adverse_event",
            "observed_at": local(timezone.now()),
            "severity": "mild",
            "description": "Headache",
        },
    )

    assert response.status_code == 302
    obs = InfusionObservation.objects.get(infusion=infusion)
    assert (obs.kind, obs.severity, obs.description, obs.recorded_by) == (
        "adverse_event",
        "mild",
        "Headache",
        coordinator,
    )
    html = client.get(reverse("coordinator:infusion", args=[infusion.pk])).content.decode()
    assert "Adverse event" in html and "Headache" in html


def test_observation_without_a_description_changes_nothing(client, coordinator, ready, staff):
    infusion = administered(ready, staff, coordinator)

    response = login(client, coordinator).post(
        reverse("coordinator:observation", args=[infusion.pk]),
        {"kind": "follow_up", "observed_at": local(timezone.now()), "description": ""},
    )

    assert response.status_code == 422 and not InfusionObservation.objects.exists()


def test_observation_before_administration_is_refused(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)
    login(client, coordinator)
    assert (
        'name="description"'
        not in client.get(reverse("coordinator:infusion", args=[infusion.pk])).content.decode()
    )

    response = client.post(
        reverse("coordinator:observation", args=[infusion.pk]),
        {"kind": "follow_up", "observed_at": local(timezone.now()), "description": "Fine"},
    )

    assert (
        response.status_code == 422
        and "Observations follow an administered infusion." in response.content.decode()
    )
    assert not InfusionObservation.objects.exists()


def test_another_clinic_cannot_record_an_observation(
    client, other_clinic_coordinator, coordinator, ready, staff
):
    infusion = administered(ready, staff, coordinator)

    response = login(client, other_clinic_coordinator).post(
        reverse("coordinator:observation", args=[infusion.pk]),
        {"kind": "follow_up", "observed_at": local(timezone.now()), "description": "Fine"},
    )

    assert response.status_code == 404 and not InfusionObservation.objects.exists()


def test_get_is_refused_on_post_only_views(client, coordinator, ready, staff):
    infusion = scheduled(ready, staff)
    login(client, coordinator)

    for name in ("cancel", "reschedule", "observation"):
        assert client.get(reverse(f"coordinator:{name}", args=[infusion.pk])).status_code == 405
