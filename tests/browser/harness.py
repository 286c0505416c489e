"""Helpers of the browser tests: language, accessibility (axe-core), screenshots.

Import them in a test: ``from tests.browser.harness import axe_check, screenshot, switch_language``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from playwright.sync_api import Page

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")
LANGUAGES = ("en", "ja")
live_url = ""  # the live server's URL, set by the browser_context_args fixture


# --- language -----------------------------------------------------------------------


def switch_language(page: Page, lang: str) -> None:
    """Set the language the way Django's ``set_language`` view does (its cookie), for later pages."""
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_url}])


# --- accessibility and screenshots --------------------------------------------------


def axe_violations(page: Page, *, impacts: tuple[str, ...] = BLOCKING_IMPACTS) -> list[dict[str, Any]]:
    """axe-core's violations of ``impacts`` on the current page (injected from the vendored file).

    ``page.evaluate`` runs through the DevTools protocol, so a strict CSP does not stop it.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def axe_report(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])}x: {targets})")
    return "\n".join(lines)


def axe_check(page: Page) -> None:
    """Fail the test when the current page has a serious or critical accessibility violation."""
    violations = axe_violations(page)
    assert not violations, f"axe-core on {page.url}:\n{axe_report(violations)}"


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``var/screenshots/<name>.png`` (not committed) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
