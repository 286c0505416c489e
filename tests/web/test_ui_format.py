"""What people read: code names, the DIN as ISBT 128 prints it, times with their zone; idle logout."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from core.isbt128 import check_character
from tests.web.conftest import login
from web.idle import LAST_SEEN


def render(source: str, **context: object) -> str:
    return Template("{% load lims_format %}" + source).render(Context(context))


def test_codes_read_as_words():
    assert render("{{ code|label }}", code="viable_cell_count") == "Viable cell count"
    assert render("{{ code|label }}", code="hla_dr") == "HLA-DR"
    assert render("{{ code|label }}", code="some_new_code") == "Some new code"  # humanised when unknown
    assert render("{{ code|label }}", code=None) == ""


def test_din_label_sets_the_check_character_apart():
    din = "A999921123456"
    html = render("{{ din|din_label }}", din=din)

    assert check_character(din) == "3"
    assert '<span class="din-fin">A9999</span> <span class="din-year">21</span>' in html
    assert '<span class="din-seq">123456</span> <span class="din-k"' in html and ">3</span>" in html
    assert render("{{ din|din_label }}", din="not a din") == "not a din"


def test_times_carry_their_zone_in_english_and_japanese():
    moment = dt.datetime(2026, 12, 2, 5, 30, tzinfo=dt.UTC)

    assert ">2026-12-02 14:30 JST</time>" in render("{{ t|when }}", t=moment)
    with translation.override("ja"):
        assert ">2026年12月2日 14:30 JST</time>" in render("{{ t|when }}", t=moment)
    assert 'datetime="2026-12-02T14:30:00+09:00"' in render("{{ t|when }}", t=moment)


# --- idle logout ------------------------------------------------------------------------


def idle_for(client, seconds: float) -> None:
    session = client.session
    session[LAST_SEEN] = time.time() - seconds
    session.save()


@pytest.mark.django_db
def test_signed_in_pages_carry_the_warning_dialog_and_its_script_file(client, coordinator):
    html = login(client, coordinator).get(reverse("coordinator:worklist")).content.decode()

    assert 'id="idle-logout"' in html and 'data-timeout="900"' in html and 'data-warning="60"' in html
    assert '<script src="/static/web/idle.js" defer></script>' in html
    assert "<script>" not in html  # no inline script


@pytest.mark.django_db
def test_a_session_idle_past_the_timeout_is_ended_by_the_server(client, coordinator):
    login(client, coordinator)
    idle_for(client, 15 * 60 + 1)

    response = client.get(reverse("coordinator:worklist"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("coordinator:worklist")).status_code == 302  # still signed out


@pytest.mark.django_db
def test_a_session_used_within_the_timeout_continues(client, coordinator):
    login(client, coordinator)
    idle_for(client, 14 * 60)

    assert client.get(reverse("coordinator:worklist")).status_code == 200
    assert client.get(reverse("web:keepalive")).json() == {"signed_in": True, "seconds_left": 900}


@pytest.mark.django_db
@override_settings(LIMS_IDLE_TIMEOUT=dt.timedelta(minutes=2))
def test_the_timeout_is_a_setting(client, coordinator):
    login(client, coordinator)
    idle_for(client, 121)

    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_htmx_requests_of_an_ended_session_are_redirected_by_htmx(client, coordinator):
    login(client, coordinator)
    idle_for(client, 16 * 60)

    response = client.get(reverse("coordinator:worklist"), headers={"HX-Request": "true"})

    assert response.status_code == 204 and response["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.django_db
def test_keepalive_says_signed_out_to_an_anonymous_visitor(client):
    assert client.get(reverse("web:keepalive")).json()["signed_in"] is False


@pytest.mark.django_db
def test_an_idle_session_calling_the_api_is_answered_as_unauthenticated(client, coordinator):
    login(client, coordinator)
    idle_for(client, 16 * 60)

    response = client.get("/api/v1/batches/")

    assert response.status_code in (401, 403) and response["Content-Type"] == "application/problem+json"
    assert "_auth_user_id" not in client.session
