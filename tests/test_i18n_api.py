"""The API answers in the Accept-Language language: the same refusal, the same code, the words chosen per request."""

from __future__ import annotations

import pytest
from django.utils import timezone

from batches.models import BatchFacts, CultureStep
from compliance.services.deviations import deviation_open
from core.roles import Role
from tests.api.conftest import (  # noqa: F401
    API,
    assert_problem,
    batch_a,
    clinic_a,
    tech_client,
    user_client,
    user_with_role,
)
from tests.builders import Staff, formulated_batch
from tests.factories import scan

pytestmark = pytest.mark.django_db


def _feeding(client, batch, language):
    data = {"kind": "feeding", "scanned_identifier": scan(batch.din), "medium_lot": "M-1"}
    return client.post(
        f"{API}/batches/{batch.din}/steps/", data, format="json", HTTP_ACCEPT_LANGUAGE=language
    )


def test_the_same_refusal_reads_english_or_japanese_with_the_same_code(tech_client, batch_a):  # noqa: F811
    english = assert_problem(_feeding(tech_client, batch_a, "en"), 409)
    response = _feeding(tech_client, batch_a, "ja")
    japanese = assert_problem(response, 409)

    assert (
        [b["code"] for b in english["blockers"]]
        == [b["code"] for b in japanese["blockers"]]
        == ["wrong_state"]
    )
    assert (
        english["blockers"][0]["detail"]
        == "A feeding step needs the batch in culture; it is awaiting receipt."
    )
    assert (
        japanese["blockers"][0]["detail"]
        == "培地交換工程はバッチが「培養中」のときに行います。現在は「受入待ち」です。"
    )
    assert (english["title"], japanese["title"]) == ("Conflict", "実行できません")
    assert japanese["detail"] == japanese["blockers"][0]["detail"]
    assert response["Content-Language"] == "ja"
    assert "Accept-Language" in response["Vary"]
    assert not CultureStep.objects.filter(batch=batch_a).exists()


def test_a_role_refusal_is_a_403_in_the_asked_language(user_client, batch_a):  # noqa: F811
    qc = user_client(Role.QC)

    body = assert_problem(_feeding(qc, batch_a, "ja"), 403)

    assert body["title"] == "権限がありません"
    assert body["detail"] == "このロールではこの操作を行えません。"
    assert (
        assert_problem(_feeding(qc, batch_a, "en"), 403)["detail"] == "Your role does not allow this action."
    )


def test_field_errors_and_bad_identifiers_read_japanese(tech_client, batch_a):  # noqa: F811
    missing = tech_client.post(
        f"{API}/batches/{batch_a.din}/steps/", {}, format="json", HTTP_ACCEPT_LANGUAGE="ja"
    )
    body = assert_problem(missing, 400)
    assert body["title"] == "不正なリクエスト"
    assert body["errors"]["kind"] == ["この項目は必須です。"]

    wrong_k = tech_client.get(f"{API}/batches/{batch_a.din}X/", HTTP_ACCEPT_LANGUAGE="ja")
    assert "チェック文字" in assert_problem(wrong_k, 404)["detail"]


def test_readiness_from_stored_facts_reads_in_each_reader_language():
    staff = Staff.create()
    batch = formulated_batch(staff, injured_days_ago=28)
    deviation_open(batch=batch, severity="major", description="Incubator CO2 alarm", actor=staff.qa)
    from compliance.tokens import token_issue
    from tests.api.conftest import bearer

    client = bearer(token_issue(user=staff.qa)[1])
    at = (timezone.now() + timezone.timedelta(days=5)).isoformat()

    english = client.get(f"{API}/batches/{batch.din}/readiness", {"at": at}, HTTP_ACCEPT_LANGUAGE="en").json()
    stored = BatchFacts.objects.get(batch=batch).facts  # written by the English read
    japanese = client.get(
        f"{API}/batches/{batch.din}/readiness", {"at": at}, HTTP_ACCEPT_LANGUAGE="ja"
    ).json()

    assert stored["open_deviations"] == [["major", "Incubator CO2 alarm"]]
    by_code = {b["code"]: b["detail"] for b in japanese["blockers"]}
    assert [b["code"] for b in english["blockers"]] == [b["code"] for b in japanese["blockers"]]
    assert "Major deviation open: Incubator CO2 alarm" in {b["detail"] for b in english["blockers"]}
    assert by_code["deviation_open"] == "未完了の逸脱（重大）: Incubator CO2 alarm"
    assert by_code["quarantined"] == "バッチは隔離保管中です。"
