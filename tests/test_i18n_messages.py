"""Refusals are codes with an English template and parameters; the words are chosen in the reader's language.

No database: the domain's answers rendered with ``blocker.message`` under
``translation.override`` (the catalogues are compiled by ``tests/conftest.py``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import formats, translation

from batches.domain.eligibility import PatientFacts, ProtocolRules, eligibility
from batches.domain.lifecycle import BatchStatus, check_transition
from compliance.domain.blockers import deviation_open
from core import scan
from core.errors import Blocker, NotPermitted
from core.i18n import N_, nested, render, render_english
from core.roles import Role, require_role

SUBACUTE = ProtocolRules("SCI-SUBACUTE-IV", ("A", "B", "C"), 0, 31, 0, 180)


def _in(language: str, text: object) -> str:
    with translation.override(language):
        return str(text() if callable(text) else text)


def test_a_blocker_keeps_its_code_and_english_and_reads_japanese_in_japanese() -> None:
    (blocker,) = check_transition(BatchStatus.AWAITING_RECEIPT, BatchStatus.HARVESTED)

    assert blocker.code == "illegal_transition"
    assert blocker.english == (
        "A batch that is awaiting receipt cannot become harvested; it can become: discarded or received or rejected."
    )
    assert _in("en", lambda: blocker.message) == blocker.english
    assert _in("ja", lambda: blocker.message) == (
        "「受入待ち」のバッチは「回収済」にできません。移行できる状態: 廃棄済、受入済、不合格。"
    )


def test_eligibility_reasons_render_in_the_reader_language_with_their_numbers() -> None:
    patient = PatientFacts(dt.date(2025, 1, 10), "D", "contusion", False, 60)
    result = eligibility(patient, SUBACUTE, dt.date(2025, 2, 19))

    assert [b.code for b in result.blockers] == ["asia_grade", "outside_window"]
    assert _in("ja", lambda: result.blockers[0].message) == (
        "ASIA グレード D は SCI-SUBACUTE-IV の対象外です（対象グレード: A, B, C）。"
    )
    assert "受傷後 40 日目" in _in("ja", lambda: result.blockers[1].message)
    assert _in("ja", result.as_dict)  # the stored record stays English whoever asks
    with translation.override("ja"):
        assert result.as_dict()["reasons"][0]["detail"] == result.blockers[0].english


def test_a_role_refusal_names_roles_and_action_in_the_reader_language() -> None:
    with pytest.raises(NotPermitted) as refused:
        require_role(None, Role.TECHNICIAN, Role.QA, action=N_("correct culture steps"))

    assert refused.value.code == "role"
    assert refused.value.english == "Only technician or QA staff may correct culture steps."
    assert _in("ja", lambda: refused.value.message) == (
        "培養工程の記録を訂正することができるのは 製造担当者、品質保証（QA） のみです。"
    )


def test_a_refused_scan_says_why_in_japanese_and_keeps_the_identifier_as_typed() -> None:
    with pytest.raises(scan.ScanError) as refused:
        scan.parse_din("A99992600000")

    assert refused.value.code == "malformed"
    assert _in("ja", lambda: refused.value.message) == (
        "'A99992600000' は 12 文字です。DIN は 13 文字、チェック文字を含めると 14 文字です。"
    )
    assert str(refused.value) == refused.value.english


def test_a_deviation_blocker_names_its_severity_from_the_stored_code() -> None:
    blocker = deviation_open("major", "Incubator alarm for 2 h")

    assert blocker.english == "Major deviation open: Incubator alarm for 2 h"
    assert _in("ja", lambda: blocker.message) == "未完了の逸脱（重大）: Incubator alarm for 2 h"


def test_a_nested_message_and_a_list_render_part_by_part() -> None:
    inner = nested(N_("%(test)s result missing"), {"test": "sterility"})
    blocker = Blocker(
        "checklist_incomplete", N_("Checklist item '%(item)s': %(why)s"), {"item": "qc", "why": inner}
    )

    assert blocker.english == "Checklist item 'qc': sterility result missing"
    assert _in("ja", lambda: blocker.message) == "チェックリスト項目 'qc': sterility の試験結果が未入力です"


def test_a_template_outside_the_catalogue_still_renders_and_a_bad_parameter_falls_back_to_english() -> None:
    assert (
        _in("ja", lambda: render("%(din)s; %(n)s.", {"din": "A999926000001", "n": 3})) == "A999926000001; 3."
    )
    assert render_english("%(n)s doses", {"n": 2}) == "2 doses"
    with pytest.raises(KeyError):
        render_english("%(missing)s", {"n": 2})


def test_japanese_dates_read_as_2026_nen_12_gatsu_2_nichi_and_times_carry_their_zone() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9), "JST")
    at = dt.datetime(2026, 12, 2, 14, 5, tzinfo=tokyo)

    with translation.override("ja"):
        assert formats.date_format(dt.date(2026, 12, 2)) == "2026年12月2日"
        assert formats.date_format(at, "DATETIME_FORMAT") == "2026年12月2日 14:05 JST"
    with translation.override("en"):
        assert formats.date_format(at, "DATETIME_FORMAT") == "2 Dec 2026, 14:05 JST"
