"""The web UI speaks the user's language: the same refusal in English and Japanese, a language switch, Japanese dates."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from batches.models import CultureStep
from tests.factories import scan
from tests.web.conftest import login, new_batch, staff  # noqa: F401

pytestmark = pytest.mark.django_db


def _feeding(client, batch, **headers):
    data = {"kind": "feeding", "scanned_identifier": scan(batch.din), "medium_lot": "M-1"}
    return client.post(reverse("batches:step_log", args=[batch.din]), data, **headers)


def test_the_same_refusal_shows_in_english_and_in_japanese(client, staff):  # noqa: F811
    batch = new_batch()
    login(client, staff.tech)

    english = _feeding(client, batch, HTTP_ACCEPT_LANGUAGE="en")
    japanese = _feeding(client, batch, HTTP_ACCEPT_LANGUAGE="ja")

    assert english.status_code == japanese.status_code == 422
    assert "A feeding step needs the batch in culture; it is awaiting receipt." in english.content.decode()
    page = japanese.content.decode()
    assert '<html lang="ja">' in page
    assert "培地交換工程はバッチが「培養中」のときに行います。現在は「受入待ち」です。" in page
    assert "A feeding step needs" not in page
    assert not CultureStep.objects.filter(batch=batch).exists()


def test_a_wrong_scan_is_refused_in_japanese(client, staff):  # noqa: F811
    batch = new_batch()
    login(client, staff.tech)
    data = {
        "kind": "receipt",
        "scanned_identifier": batch.din + "X",
        "temperature_c": "18",
        "seal_intact": "True",
    }

    page = client.post(reverse("batches:step_log", args=[batch.din]), data, HTTP_ACCEPT_LANGUAGE="ja")

    assert page.status_code == 422
    assert "チェック文字" in page.content.decode()


def test_the_language_switch_keeps_the_choice_for_the_next_pages(client, staff):  # noqa: F811
    batch = new_batch()
    login(client, staff.tech)
    detail = reverse("batches:detail", args=[batch.din])
    assert 'name="language" value="ja"' in client.get(detail).content.decode()

    switched = client.post(reverse("set_language"), {"language": "ja", "next": detail})

    assert switched.status_code == 302 and switched.url == detail
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    receipt = {
        "kind": "receipt",
        "scanned_identifier": scan(batch.din),
        "temperature_c": "8",
        "seal_intact": "yes",
    }
    page = client.post(reverse("batches:step_log", args=[batch.din]), receipt, follow=True).content.decode()
    assert '<html lang="ja">' in page and "ログアウト" in page
    step = CultureStep.objects.get(batch=batch)
    at = timezone.localtime(step.performed_at)
    assert (
        f"{at.year}年{at.month}月{at.day}日 {at:%-H:%M} JST" in page
    )  # dates as 2026年12月2日, times with zone


def test_the_login_page_reads_japanese_to_a_japanese_browser(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5").content.decode()

    assert '<html lang="ja">' in page and "ユーザー名" in page
