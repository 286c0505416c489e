"""Idle logout in the browser: the warning dialog comes first, 'Stay signed in' keeps the session,
and without it the page ends on the login form (the server has ended the session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from playwright.sync_api import Page, expect

from compliance.models import User
from tests.browser.harness import axe_check, screenshot


def test_warning_then_stay_signed_in(
    page: Page, sign_in: Callable[..., Page], coordinator: User, settings
) -> None:
    settings.LIMS_IDLE_TIMEOUT = dt.timedelta(seconds=64)
    settings.LIMS_IDLE_WARNING = dt.timedelta(seconds=60)  # the warning opens about 4 s after the page
    sign_in(page, coordinator)
    dialog = page.locator("#idle-logout")

    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog.locator("[data-idle-stay]")).to_be_focused()
    axe_check(page)
    screenshot(page, "idle-warning-en")
    page.keyboard.press("Enter")  # "Stay signed in", by keyboard

    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.locator("header .who")).to_have_text("Chika Coordinator")


def test_without_activity_the_page_ends_on_the_login_form(
    page: Page, sign_in: Callable[..., Page], coordinator: User, settings
) -> None:
    settings.LIMS_IDLE_TIMEOUT = dt.timedelta(seconds=3)
    settings.LIMS_IDLE_WARNING = dt.timedelta(seconds=2)
    sign_in(page, coordinator)

    expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
    expect(page.locator(".message")).to_contain_text("signed out")
