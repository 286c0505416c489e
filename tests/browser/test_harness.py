"""The harness itself: the live server answers, each role signs in, the language switches, axe runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from compliance.models import User
from tests.browser.harness import axe_check, axe_violations, screenshot


def test_login_page_passes_axe_and_the_form_signs_in(
    page: Page, sign_in_form: Callable[..., Page], coordinator: User
) -> None:
    page.goto("/accounts/login/")
    axe_check(page)

    sign_in_form(page, coordinator)

    expect(page.locator("header .who")).to_have_text("Chika Coordinator")


def test_japanese_interface_is_served_after_switching(
    page: Page, sign_in: Callable[..., Page], coordinator: User
) -> None:
    sign_in(page, coordinator, lang="ja")

    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert screenshot(page, "harness-home-ja").stat().st_size > 0


@pytest.mark.parametrize("role", ["as_technician", "as_qc", "as_qa", "as_coordinator", "as_admin"])
def test_every_role_gets_a_page_when_signed_in(role: str, request: pytest.FixtureRequest) -> None:
    page: Page = request.getfixturevalue(role)

    expect(page.locator("header .who")).to_be_visible()


def test_axe_finds_a_serious_violation(page: Page) -> None:
    """The check can fail: an image without alternative text is a critical violation."""
    page.goto("/accounts/login/")
    page.evaluate(
        "() => { const i = document.createElement('img'); i.src = 'x.png'; document.body.append(i); }"
    )

    assert any(v["id"] == "image-alt" for v in axe_violations(page))
