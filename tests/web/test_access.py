"""Every page renders for the roles allowed, refuses the others, and sends visitors to log in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.isbt128 import check_character
from tests.factories import ClinicFactory, UserFactory, unbound_coordinator
from tests.web.conftest import login, new_batch

ALL = ("technician", "qc", "qa", "coordinator", "admin")
PAGES = {
    # page: roles allowed (every other role gets 403)
    "batches:list": ALL,
    "home": ALL,
    "batches:notifications": ALL,
    "batches:detail": ALL,
    "compliance:checklist": ("technician", "qc", "qa"),
    "qc:results": ("qc", "qa"),
}
BATCH_PAGES = ("batches:detail", "compliance:checklist", "qc:results")


def _url(name, batch):
    return reverse(name, args=[batch.din]) if name in BATCH_PAGES else reverse(name)


@pytest.mark.parametrize("role", ALL)
@pytest.mark.parametrize("name", PAGES)
def test_page_renders_for_allowed_roles_and_refuses_others(client, users, batch, name, role):
    login(client, users[role])

    response = client.get(_url(name, batch))

    assert response.status_code == (200 if role in PAGES[name] else 403)


@pytest.mark.parametrize(
    ("role", "sections"),
    [
        ("technician", ["Feeding due by end of today", "Open flags"]),
        ("qc", ["QC tests due and late"]),
        (
            "qa",
            [
                "Batches awaiting QA release",
                "Open deviations",
                "Findings awaiting QA assessment",
                "Open flags",
            ],
        ),
    ],
)
def test_each_lab_role_gets_its_own_worklist(client, users, role, sections):
    login(client, users[role])

    page = client.get(reverse("batches:worklists")).content.decode()

    assert all(section in page for section in sections)
    others = {"Feeding due by end of today", "QC tests due and late", "Batches awaiting QA release"} - set(
        sections
    )
    assert not any(section in page for section in others)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_a_role_without_a_worklist_goes_to_its_home_page_not_a_403(client, users, role):
    login(client, users[role])

    response = client.get(reverse("batches:worklists"))

    assert response.status_code == 302 and response.url == reverse("home")


@pytest.mark.parametrize("name", [*PAGES, "batches:worklists"])
def test_anonymous_visitor_is_sent_to_log_in(client, batch, name):
    url = _url(name, batch)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_user_without_a_role_is_refused(client, batch):
    login(client, UserFactory())

    assert client.get(reverse("batches:list")).status_code == 403
    assert client.get(reverse("batches:detail", args=[batch.din])).status_code == 403


def test_coordinator_of_another_clinic_gets_404_on_a_batch_page(client, coordinator):
    other = new_batch(ClinicFactory(code="OTHER"))
    login(client, coordinator)

    assert client.get(reverse("batches:detail", args=[other.din])).status_code == 404
    assert other.din not in client.get(reverse("batches:list")).content.decode()


def test_coordinator_sees_own_clinic_batches_only(client, coordinator, batch):
    other = new_batch(ClinicFactory(code="OTHER"))
    login(client, coordinator)

    page = client.get(reverse("batches:list")).content.decode()

    assert batch.din + check_character(batch.din) in page
    assert other.din not in page


def test_coordinator_bound_to_no_clinic_is_refused(client, batch):
    login(client, unbound_coordinator())

    assert client.get(reverse("batches:list")).status_code == 403


def test_batch_page_takes_the_din_with_its_check_character(client, staff, batch):
    login(client, staff.qa)
    label = batch.din + check_character(batch.din)

    assert client.get(reverse("batches:detail", args=[label])).status_code == 200
    wrong_k = batch.din + ("0" if label[-1] != "0" else "1")
    assert client.get(reverse("batches:detail", args=[wrong_k])).status_code == 404


def test_batch_page_shows_identity_readiness_and_forms_for_a_technician(client, staff, batch):
    login(client, staff.tech)

    page = client.get(reverse("batches:detail", args=[batch.din])).content.decode()

    assert batch.din in page and check_character(batch.din) in page
    assert batch.therapy.coi in page
    assert "NOT READY" in page
    assert "Scan the batch label (DIN + check character)" in page
    assert 'name="to_location"' in page
    assert "htmx" in page and "cdn" not in page.lower()


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("batches:step_log", "qa"),
        ("batches:custody_log", "qc"),
        ("compliance:release", "technician"),
    ],
)
def test_forms_refuse_roles_they_are_not_for(client, users, batch, name, role):
    login(client, users[role])

    response = client.post(reverse(name, args=[batch.din]), {})

    assert response.status_code == 403


def test_post_only_views_refuse_get(client, staff, batch):
    login(client, staff.tech)

    assert client.get(reverse("batches:step_log", args=[batch.din])).status_code == 405


def test_a_refused_page_is_a_page_with_a_way_on_not_a_bare_403(client, users, batch):
    login(client, users["technician"])

    response = client.get(reverse("qc:results", args=[batch.din]))

    assert response.status_code == 403
    page = response.content.decode()
    assert "Not available to your role" in page and f'href="{reverse("home")}"' in page
    assert 'id="scan-q"' in page  # the scan box, as on every page


@pytest.mark.parametrize("role", ["technician", "qc", "qa"])
def test_the_home_page_of_a_lab_role_is_its_worklist(client, users, role):
    login(client, users[role])

    page = client.get(reverse("home")).content.decode()

    assert "<title>Worklists</title>" in page
