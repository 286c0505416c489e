"""The browser test harness: Playwright on Debian's chromium against pytest-django's live server.

What a browser test gets here:

- ``page`` (pytest-playwright) whose ``base_url`` is the live server, so ``page.goto("/")`` works;
- ``sign_in(page, user, lang="en")``: the user is signed in (a real session, made by Django's
  test client) and the interface is in ``lang``; ``sign_in_form`` does the same through the
  login form;
- ``as_technician``, ``as_qc``, ``as_qa``, ``as_coordinator``, ``as_admin``: a page signed in
  as that role (the users come from ``tests.factories`` / ``tests.builders``);
- in ``tests.browser.harness``: ``switch_language(page, "ja")``: the language cookie Django's ``set_language`` view writes;
- ``axe_check(page)``: axe-core (vendored under ``vendor/``, no CDN) run on the current page;
  fails on any serious or critical violation and names each one;
- ``screenshot(page, "coordinator-worklist-ja")``: a full-page PNG under ``var/screenshots/``.

Every test here uses the live server, hence a transactional database (pytest-django enables it
for any test that needs ``live_server``): the server thread has its own connection and sees
only committed rows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page

from batches.models import Clinic
from compliance.models import User
from core.roles import Role
from tests.browser import harness
from tests.browser.harness import switch_language
from tests.builders import Staff
from tests.factories import PASSWORD, ClinicFactory, UserFactory

# Playwright's sync API keeps an asyncio loop registered on the main thread for the whole
# session once the browser has started, and Django then refuses ORM calls from that thread
# ("You cannot call this from an async context"). The tests and the live server are plain
# synchronous code, so the guard is lifted for the test process (the ORM is never called
# from a coroutine here).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium, headless: Playwright's own browser download does not work here."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Browser tests need Debian's chromium (apt-get install chromium); .ci/run installs it.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], live_server: Any) -> dict[str, Any]:
    """Every page talks to the live server; a desktop viewport; Tokyo time like the facility."""
    harness.live_url = live_server.url
    return {
        **browser_context_args,
        "base_url": live_server.url,
        "viewport": {"width": 1280, "height": 900},
        "timezone_id": settings.TIME_ZONE,
        "locale": "en-US",
    }


@pytest.fixture(autouse=True)
def _short_timeouts(page: Page) -> None:
    """Fail in seconds, not Playwright's 30 s default: the live server answers locally."""
    page.set_default_timeout(10_000)
    page.set_default_navigation_timeout(15_000)


@pytest.fixture(autouse=True)
def _no_content_security_policy_violations(page: Page) -> Any:
    """Every page passes the production Content-Security-Policy (no inline script, nothing foreign).

    Chromium reports each refused script, style or frame on the console; any such
    report fails the test that caused it (issue 14: a CSP the UI passes).
    """
    violations: list[str] = []

    def watch(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", watch)
    yield
    assert not violations, "\n".join(violations)


# --- signing in ---------------------------------------------------------------------


def _session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def sign_in(live_server: Any) -> Callable[..., Page]:
    """``sign_in(page, user, lang="en")``: a session for ``user`` in the browser, then ``/``."""

    def sign_in(page: Page, user: User, lang: str = "en", *, open_home: bool = True) -> Page:
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": _session_cookie(user), "url": live_server.url}]
        )
        switch_language(page, lang)
        if open_home:
            page.goto("/")
        return page

    return sign_in


@pytest.fixture
def sign_in_form() -> Callable[..., Page]:
    """``sign_in_form(page, user)``: log in through the login page, as a person does."""

    def sign_in_form(page: Page, user: User, lang: str = "en") -> Page:
        switch_language(page, lang)
        page.goto("/accounts/login/")
        page.locator("input[name=username]").fill(user.username)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()  # not the language switch in the header
        page.wait_for_load_state()
        return page

    return sign_in_form


@pytest.fixture
def staff(transactional_db: None) -> Staff:
    return Staff.create()


@pytest.fixture
def clinic(transactional_db: None) -> Clinic:
    return ClinicFactory(code="KEIO")


@pytest.fixture
def coordinator(clinic: Clinic) -> User:
    return UserFactory(role=Role.COORDINATOR, clinic=clinic, full_name="Chika Coordinator")


@pytest.fixture
def admin(transactional_db: None) -> User:
    return UserFactory(role=Role.ADMIN, full_name="Ada Admin", is_staff=True, is_superuser=True)


@pytest.fixture
def as_technician(page: Page, sign_in: Callable[..., Page], staff: Staff) -> Page:
    return sign_in(page, staff.tech)


@pytest.fixture
def as_qc(page: Page, sign_in: Callable[..., Page], staff: Staff) -> Page:
    return sign_in(page, staff.qc)


@pytest.fixture
def as_qa(page: Page, sign_in: Callable[..., Page], staff: Staff) -> Page:
    return sign_in(page, staff.qa)


@pytest.fixture
def as_coordinator(page: Page, sign_in: Callable[..., Page], coordinator: User) -> Page:
    return sign_in(page, coordinator)


@pytest.fixture
def as_admin(page: Page, sign_in: Callable[..., Page], admin: User) -> Page:
    return sign_in(page, admin)
