"""A coordinator, in English and in Japanese: the worklist, scheduling an infusion, and the bedside.

At the bedside a scanner types each label and presses Enter: the dose label
first (the browser then asks for the wristband), then the wristband. A wrong
wristband is refused: the reason is at the top, the scan field has the focus
again, and the right scans then administer the dose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from batches.models import Clinic
from compliance.models import AdministrationAttempt, Infusion, User
from tests.browser.harness import LANGUAGES, axe_check, screenshot
from tests.builders import Staff, ready_batch
from tests.factories import scan
from tests.web.conftest import new_batch


@pytest.mark.parametrize("lang", LANGUAGES)
def test_coordinator_schedules_and_administers_at_the_bedside(
    page: Page, sign_in: Callable[..., Page], coordinator: User, clinic: Clinic, staff: Staff, lang: str
) -> None:
    batch = ready_batch(staff, clinic)
    new_batch(clinic)  # a second therapy, still awaiting receipt: its readiness says why not
    dose_id = f"{batch.din}-1"

    sign_in(page, coordinator, lang)  # home page: the clinic's worklist
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator(f'a[href="/doses/{dose_id}/schedule/"]')).to_be_visible()
    axe_check(page)
    screenshot(page, f"coordinator-worklist-{lang}")

    page.locator(f'a[href="/doses/{dose_id}/schedule/"]').click()
    axe_check(page)
    when = timezone.localtime() + dt.timedelta(hours=1)
    page.locator("#id_scheduled_for").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.locator("form.schedule-form button[type=submit]").click()

    infusion = Infusion.objects.get(dose__batch=batch, status="scheduled")
    expect(page).to_have_url(f"{page.url.split('/infusions/')[0]}/infusions/{infusion.pk}/")
    axe_check(page)
    page.locator("#go-bedside").click()

    dose_field, wristband = page.locator("#bedside_scanned_identifier"), page.locator("#bedside_wristband")
    expect(dose_field).to_be_focused()
    axe_check(page)
    scanner(page, f"{scan(batch.din)}-1")
    expect(wristband).to_be_focused()  # the browser asks for the required wristband next
    scanner(page, "CHA999926999999")  # someone else's chain of identity

    alert = page.locator('[role="alert"]').first
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(
        "autologous" if lang == "en" else "自家細胞"
    )  # the refusal in the user's language
    assert alert.bounding_box()["y"] < 400  # at the top, not 1,750 px down the page
    expect(dose_field).to_be_focused()
    expect(dose_field).to_have_value("")
    assert AdministrationAttempt.objects.filter(infusion=infusion).count() == 1
    axe_check(page)
    screenshot(page, f"coordinator-bedside-refused-{lang}")

    scanner(page, f"{scan(batch.din)}-1")
    scanner(page, batch.therapy.coi)

    expect(page.locator("h1 .status")).to_have_class("status administered")
    infusion.refresh_from_db()
    assert infusion.status == "administered" and infusion.administered_by == coordinator
    axe_check(page)


def scanner(page: Page, text: str) -> None:
    """What a barcode reader does: types the label into the focused field and presses Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


@pytest.mark.parametrize("width", [1024, 1920])
def test_coordinator_worklist_fits_narrow_and_wide_screens(
    page: Page, sign_in: Callable[..., Page], coordinator: User, clinic: Clinic, staff: Staff, width: int
) -> None:
    ready_batch(staff, clinic)
    page.set_viewport_size({"width": width, "height": 900})

    sign_in(page, coordinator)

    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px window"
    screenshot(page, f"coordinator-worklist-{width}px")
