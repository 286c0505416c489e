"""Bad input that used to reach a 500 (issue 9, items 8, 10, 12, 13): a 400 naming the field, changing nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings
from django.utils import timezone

from batches.models import Collection, Patient
from tests.api.conftest import API, HOUR, assert_problem
from tests.api.test_errors import patient_body

pytestmark = pytest.mark.django_db


# --- Item 8: nesting depth and body size ---------------------------------------------------


def test_deeply_nested_json_is_400_and_creates_nothing(clinic_a_client):
    body = "[" * 10_000 + "]" * 10_000
    response = clinic_a_client.post(f"{API}/patients/", body, content_type="application/json")
    assert "nested deeper than" in assert_problem(response, 400)["detail"]
    assert not Patient.objects.exists()


def test_nesting_inside_strings_does_not_count(clinic_a_client):
    response = clinic_a_client.post(
        f"{API}/patients/", json.dumps(patient_body(code="[" * 100 + '"{')), content_type="application/json"
    )
    assert "code" in assert_problem(response, 400)["errors"]  # too long: reached the serializer


def test_json_nested_a_few_levels_still_reaches_validation(clinic_a_client):
    response = clinic_a_client.post(f"{API}/patients/", patient_body(code=[[[["x"]]]]), format="json")
    assert "code" in assert_problem(response, 400)["errors"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_body_larger_than_the_limit_is_413_and_creates_nothing(clinic_a_client):
    response = clinic_a_client.post(f"{API}/patients/", patient_body(notes="x" * 2000), format="json")
    assert "larger than 1000 bytes" in assert_problem(response, 413)["detail"]
    assert not Patient.objects.exists()


# --- Item 10: readiness ?at= -------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        "2026-02-30T10:00:00",  # no such day
        "2026-12-01T10:00:00+25:00",  # no such offset
        "9999-12-31T23:59:59-12:00",  # year 10000 in UTC
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC
        "0001-01-01T00:00:00",  # year 0 once Tokyo time is taken off
        "２０２６-12-01T10:00:00+09:00",  # full-width digits
        "tomorrow",
    ],
)
def test_readiness_at_an_impossible_or_out_of_range_time_is_400_naming_at(clinic_a_client, batch_a, at):
    response = clinic_a_client.get(f"{API}/batches/{batch_a.din}/readiness", {"at": at})
    assert list(assert_problem(response, 400)["errors"]) == ["at"]


def test_readiness_at_a_real_time_with_an_unencoded_offset_is_answered(clinic_a_client, batch_a):
    response = clinic_a_client.get(f"{API}/batches/{batch_a.din}/readiness?at=2026-12-01T10:00:00+09:00")
    assert response.status_code == 200
    assert response.json()["at"].startswith("2026-12-01T10:00:00")


@pytest.mark.parametrize(
    "when",
    ["0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-02-30T10:00"],
)
def test_out_of_range_timestamps_in_bodies_are_400_naming_the_field(clinic_a_client, batch_a, when):
    response = clinic_a_client.post(f"{API}/collections/", {
        "therapy": batch_a.therapy.coi, "kind": "peripheral_blood", "volume_ml": 30, "collected_at": when,
    }, format="json")  # fmt: skip
    assert list(assert_problem(response, 400)["errors"]) == ["collected_at"]
    assert Collection.objects.count() == 1


# --- Item 12: implausible dates ------------------------------------------------------------------


def collect(client, batch, collected_at: dt.datetime | str):
    when = collected_at if isinstance(collected_at, str) else collected_at.isoformat()
    return client.post(f"{API}/collections/", {
        "therapy": batch.therapy.coi, "kind": "peripheral_blood", "volume_ml": 30, "collected_at": when,
    }, format="json")  # fmt: skip


def test_collection_in_a_year_a_din_cannot_carry_is_400_and_allocates_no_din(clinic_a_client, batch_a):
    body = assert_problem(collect(clinic_a_client, batch_a, "1999-12-31T10:00:00+09:00"), 400)
    assert "two digits" in body["errors"]["collected_at"][0]
    assert Collection.objects.count() == 1


def test_collection_before_the_injury_is_400(clinic_a_client, batch_a):
    before = timezone.now() - dt.timedelta(days=11)  # the injury was 10 days ago
    body = assert_problem(collect(clinic_a_client, batch_a, before), 400)
    assert "before the patient's injury" in body["errors"]["collected_at"][0]
    assert Collection.objects.count() == 1


def test_collection_within_the_clock_tolerance_is_accepted(clinic_a_client, batch_a):
    response = collect(clinic_a_client, batch_a, timezone.now() + dt.timedelta(minutes=4))
    assert response.status_code == 201, response.content
    assert response.json()["din"][5:7] == f"{timezone.localdate():%y}"


def test_collection_beyond_the_clock_tolerance_is_refused(clinic_a_client, batch_a):
    response = collect(clinic_a_client, batch_a, timezone.now() + 2 * HOUR)
    assert [b["code"] for b in assert_problem(response, 409)["blockers"]] == ["future_time"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"injury_date": "9999-12-31"}, "injury_date"),
        ({"injury_date": str(dt.date.today() + dt.timedelta(days=3))}, "injury_date"),
        ({"injury_date": "1899-12-31"}, "injury_date"),
        ({"injury_date": "1980-05-01", "birth_year": 1988}, "injury_date"),
        ({"injury_date": "0001-01-01"}, "injury_date"),
        ({"injury_date": "２０２６-01-01"}, "injury_date"),
        ({"birth_year": 2099}, "birth_year"),
        ({"birth_year": 1899}, "birth_year"),
    ],
)
def test_implausible_patient_dates_are_400_naming_the_field(clinic_a_client, changes, field):
    response = clinic_a_client.post(f"{API}/patients/", patient_body(**changes), format="json")
    assert field in assert_problem(response, 400)["errors"]
    assert not Patient.objects.exists()


# --- Item 13: an unexpected error under /api/ ------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.api.raising_urls")
def test_unexpected_error_under_the_api_is_a_problem_500_without_internals(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/broken/")
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.content.decode()
    assert body["title"] == "Internal Server Error"


@override_settings(ROOT_URLCONF="tests.api.raising_urls")
def test_unexpected_error_on_a_page_keeps_the_html_500(client):
    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@override_settings(ROOT_URLCONF="tests.api.raising_urls")
def test_the_database_going_away_is_a_clean_503_with_retry_after_never_a_500(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/database-gone/")
    body = assert_problem(response, 503)
    assert body["code"] == "database_unavailable" and "nothing was saved" in body["detail"]
    assert response["Retry-After"] == "5"
    assert "server closed" not in response.content.decode()
    page = client.get("/database-gone/")
    assert page.status_code == 503 and page["Retry-After"] == "5"


@pytest.mark.parametrize("parameter", ["patient", "status", "therapy"])
def test_an_empty_filter_is_a_400_not_every_batch(parameter, tech_client):
    body = assert_problem(tech_client.get(f"/api/v1/batches/?{parameter}="), 400)
    assert parameter in body["errors"]


def test_a_therapy_filter_with_a_percent_sign_is_a_400_not_a_500(db):
    """The refusal quotes the input; django-filter formats messages with their params (found by schemathesis)."""
    from compliance.tokens import token_issue
    from core.roles import Role
    from tests.api.conftest import bearer
    from tests.factories import UserFactory

    client = bearer(token_issue(user=UserFactory(role=Role.QA))[1])

    response = client.get("/api/v1/batches/", {"therapy": "CH%s%d"})

    assert response.status_code == 400
    assert "therapy" in response.json()["errors"]


@pytest.mark.parametrize("query", ["limit=", "limit=ten", "offset=true", "offset=-5", "limit=%EF%BC%95"])
def test_a_limit_or_offset_that_is_not_a_whole_number_is_a_400(query, tech_client):
    body = assert_problem(tech_client.get(f"/api/v1/batches/?{query}"), 400)
    assert query.split("=")[0] in body["errors"]


def test_a_whole_limit_and_offset_still_page(tech_client):
    assert tech_client.get("/api/v1/batches/?limit=5&offset=0").status_code == 200
