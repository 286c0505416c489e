"""Browser flows of the lab roles, in English and Japanese: technician, QC, QA (issue 11).

Each flow drives the pages a person uses, mostly by keyboard (a scanner is a keyboard
that types the label and presses Enter), checks each page with axe-core and saves
screenshots under var/screenshots/. Assertions use element ids, names and classes, not
English words, so they hold in both languages.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from batches.models import Batch
from batches.services import collection_create
from compliance.models import Deviation, QcResult, ReleaseDecision, Signature
from compliance.services.checklists import checklist_item_sign
from compliance.services.qc import qc_result_record
from core import isbt128
from tests.browser.harness import LANGUAGES, axe_check, screenshot
from tests.builders import GOOD_QC, HOUR, Staff, formulated_batch
from tests.factories import PASSWORD, coordinator_of, scan
from tests.web.conftest import new_batch

pytestmark = pytest.mark.parametrize("lang", LANGUAGES)


def _wrong_k(din: str) -> str:
    right = isbt128.check_character(din)
    return din + ("0" if right != "0" else "1")


def _scan(page: Page, label: str) -> None:
    """What a barcode reader does: focus is already in the scan field; type the label, press Enter."""
    expect(page.locator("#scan-q")).to_be_focused()
    page.keyboard.type(label)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _press_enter(page: Page, selector: str) -> None:
    """Enter on a field or button that submits its form, then wait for the next page."""
    with page.expect_navigation():
        page.locator(selector).press("Enter")


def _no_horizontal_scroll(page: Page) -> None:
    for width in (1024, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page.url} is {overflow}px wider than a {width}px window"
    page.set_viewport_size({"width": 1280, "height": 900})


def _log_step(page: Page, kind: str, values: dict[str, str], label: str) -> None:
    """Choose the step kind (htmx swaps in its fields), fill them, scan the label, submit."""
    if page.input_value("#step_kind") != kind:
        with page.expect_response(lambda response: "/steps/fields/" in response.url):
            page.select_option("#step_kind", kind)
        page.wait_for_function(
            "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
        )
    expect(page.locator(f"#step_{next(iter(values))}")).to_be_visible()
    for name, value in values.items():
        page.fill(f"#step_{name}", value)
    page.fill("#step_scanned_identifier", label)
    _press_enter(page, "#log-step button[type=submit]")
    refusals = page.locator("#log-step .refusal, #log-step .errorlist").all_inner_texts()
    assert not refusals, refusals


# --- technician -------------------------------------------------------------------------


def test_technician_receives_by_scanning_and_logs_the_culture(
    page: Page, sign_in: Callable[..., Page], staff: Staff, lang: str
) -> None:
    batch = new_batch(hours_ago=30)
    serum = collection_create(therapy=batch.therapy, kind="peripheral_blood", volume_ml=240,
                              collected_at=timezone.now() - 31 * HOUR,
                              actor=coordinator_of(batch.therapy.patient.clinic))  # fmt: skip
    sign_in(page, staff.tech, lang)
    page.goto("/worklists/")
    axe_check(page)
    screenshot(page, f"technician-worklist-{lang}")

    # A mistyped check character is refused next to the field, and focus stays there.
    _scan(page, _wrong_k(batch.din))
    expect(page.locator("#scan-error")).to_be_visible()
    expect(page.locator("#scan-q")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("() => document.getElementById('scan-error').getBoundingClientRect().top") < 200
    axe_check(page)
    screenshot(page, f"technician-scan-refused-{lang}")
    _scan(page, scan(batch.din))
    expect(page).to_have_url(f"/batches/{batch.din}/")

    # Receipt: the wrong check character in the form first, then the right one.
    page.check("#step_seal_intact_0")
    page.fill("#step_temperature_c", "8")
    page.fill("#step_scanned_identifier", _wrong_k(batch.din))
    _press_enter(page, "#log-step button[type=submit]")
    expect(page.locator("#log-step .refusal")).to_be_visible()
    assert Batch.objects.get(pk=batch.pk).status == "awaiting_receipt"
    page.fill("#step_scanned_identifier", scan(batch.din))
    _press_enter(page, "#log-step button[type=submit]")
    expect(page.locator(".batch-header .status.received")).to_be_visible()

    label = scan(batch.din)
    _log_step(
        page,
        "seeding",
        {"seeded_cells": "20000000", "medium_lot": "M-1", "serum_din": scan(serum.din)},
        label,
    )
    expect(page.locator(".batch-header .status.in_culture")).to_be_visible()
    _log_step(page, "feeding", {"medium_lot": "M-2"}, label)
    _log_step(page, "feeding", {"medium_lot": "M-3"}, label)
    _log_step(page, "cell_count", {"viable_cells": "60000000", "viability_pct": "94"}, label)

    steps = list(batch.steps.order_by("performed_at", "id").values_list("kind", flat=True))
    assert steps == ["receipt", "seeding", "feeding", "feeding", "cell_count"]
    expect(page.locator("ol.timeline li.step")).to_have_count(5)
    expect(page.locator(".facts")).to_contain_text("1.58")  # cumulative PD: log2(60e6 / 20e6)
    axe_check(page)
    _no_horizontal_scroll(page)
    screenshot(page, f"technician-batch-page-{lang}")


# --- QC -----------------------------------------------------------------------------------


def test_qc_enters_results_one_out_of_specification(
    page: Page, sign_in: Callable[..., Page], staff: Staff, lang: str
) -> None:
    batch = formulated_batch(staff)
    sign_in(page, staff.qc, lang)
    page.goto("/worklists/")
    axe_check(page)
    _no_horizontal_scroll(page)
    screenshot(page, f"qc-worklist-{lang}")

    def enter(test: str, fill: Callable[[], None]) -> None:
        page.goto("/worklists/")
        _press_enter(page, f'#worklist-qc a[href="/batches/{batch.din}/qc/{test}/"]')
        expect(page.locator("#qc-spec")).to_be_visible()
        fill()
        page.fill("#qc_method", "Flow cytometry")
        _press_enter(page, "#qc_method")

    enter("cd73", lambda: page.fill("#qc_value", "99"))
    axe_check(page)
    enter("viability", lambda: page.fill("#qc_value", "55"))
    enter("sterility", lambda: page.check("#qc_result_0"))

    assert {r.test: r.within_spec for r in QcResult.objects.filter(batch=batch)} == {
        "cd73": True, "viability": False, "sterility": True,
    }  # fmt: skip
    deviation = Deviation.objects.get(batch=batch)
    oos_row = page.locator("tr.oos")
    expect(oos_row).to_have_count(1)
    expect(oos_row.locator(f'a[href="/batches/{batch.din}/deviations/{deviation.pk}/"]')).to_be_visible()
    axe_check(page)
    _no_horizontal_scroll(page)
    screenshot(page, f"qc-results-{lang}")


# --- QA -----------------------------------------------------------------------------------


def _ready_for_qa(staff: Staff) -> tuple[Batch, Deviation]:
    """A formulated batch whose viability failed (a major deviation: quarantined), then was retested
    within specification; every checklist item but QA's own signed by the others."""
    batch = formulated_batch(staff)
    for test, outcome in {**GOOD_QC, "viability": 55}.items():
        kwargs = {"result": outcome} if isinstance(outcome, str) else {"value": outcome}
        qc_result_record(
            batch=batch, test=test, actor=staff.qc, tested_at=timezone.now() - 2 * HOUR, **kwargs
        )
    deviation = Deviation.objects.get(batch=batch)
    for code, reviewer, verifier in [
        ("batch_record_complete", staff.tech, staff.tech2),
        ("materials_in_date", staff.tech, staff.tech2),
        ("labels_verified", staff.tech, staff.tech2),
    ]:
        checklist_item_sign(
            batch=batch, item_code=code, actor=reviewer, password=PASSWORD, meaning="reviewed"
        )
        checklist_item_sign(
            batch=batch, item_code=code, actor=verifier, password=PASSWORD, meaning="verified"
        )
    return batch, deviation


def test_qa_investigates_closes_signs_the_checklist_in_one_act_and_releases(
    page: Page, sign_in: Callable[..., Page], staff: Staff, lang: str
) -> None:
    batch, deviation = _ready_for_qa(staff)
    sign_in(page, staff.qa, lang)
    page.goto("/worklists/")
    axe_check(page)
    _no_horizontal_scroll(page)
    screenshot(page, f"qa-worklist-{lang}")

    # Investigation and root cause, from the worklist.
    _press_enter(page, f'#worklist-qa-deviations a[href="/batches/{batch.din}/deviations/{deviation.pk}/"]')
    expect(page.locator("#closure .refusal")).to_be_visible()  # no close form before the investigation
    page.fill("#investigate_investigation", "Re-count of the retained sample: 92 % viable.")
    page.fill("#investigate_root_cause", "Haemocytometer mis-read.")
    _press_enter(page, "#investigation button[type=submit]")
    qc_result_record(batch=batch, test="viability", value=92, actor=staff.qc)  # QC's retest

    # Closure with impact assessment, CAPA and the signature.
    page.reload()
    page.fill("#close_impact_assessment", "No impact: the product met the specification on retest.")
    page.fill("#close_capa", "Automated cell counter; retraining.")
    page.fill("#close_password", PASSWORD)
    _press_enter(page, "#close_password")
    expect(page.locator("#closure .manifest")).to_contain_text("Hanako QA")
    axe_check(page)
    assert Batch.objects.get(pk=batch.pk).status == "pending_release"

    # QC's item reviewed by QC and verified by the other QA, then QA signs its three items in one act.
    checklist_item_sign(
        batch=batch, item_code="qc_within_spec", actor=staff.qc, password=PASSWORD, meaning="reviewed"
    )
    checklist_item_sign(batch=batch, item_code="qc_within_spec", actor=staff.qa2, password=PASSWORD,
                        meaning="verified")  # fmt: skip
    page.goto(f"/batches/{batch.din}/release/")
    expect(page.locator("#item-qc_within_spec input[type=checkbox]")).to_have_count(0)
    boxes = page.locator("#sign-many input[name=sign]")
    expect(boxes).to_have_count(3)
    for n in range(3):  # by keyboard: focus each box, Space ticks it
        boxes.nth(n).focus()
        page.keyboard.press("Space")
    page.fill("#signmany_password", "not-my-password")
    _press_enter(page, "#signmany_password")
    expect(page.locator("#sign-many .errorlist")).to_be_visible()
    expect(page.locator("#sign-many input[name=sign]:checked")).to_have_count(3)  # selection kept
    assert not Signature.objects.filter(record_type="checklist_item", signer=staff.qa).exists()
    axe_check(page)
    screenshot(page, f"qa-signing-dialog-refused-{lang}")

    page.fill("#signmany_password", PASSWORD)
    _press_enter(page, "#signmany_password")
    assert Signature.objects.filter(record_type="checklist_item", signer=staff.qa).count() == 3
    expect(page.locator("#checklist-items h2 .badge.ok")).to_be_visible()  # checklist complete
    _no_horizontal_scroll(page)
    screenshot(page, f"qa-checklist-signed-{lang}")

    # Release.
    page.check("#id_decision_0")
    page.fill("#id_password", PASSWORD)
    _press_enter(page, "#id_password")
    assert ReleaseDecision.objects.get(batch=batch).decision == "release"
    expect(page.locator(".manifestation.ok")).to_contain_text("Hanako QA")
    axe_check(page)
    screenshot(page, f"qa-released-{lang}")
