"""Headless Debian Chromium for the browser tests (widget and admin), driven by Playwright.

The browser is launched once per session from /usr/bin/chromium (never a downloaded one);
every test gets a fresh context (own storage) and page whose script errors are collected.
Nothing here is imported by name: tests use these fixtures only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run the browser tests")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def viewport() -> dict[str, int]:
    """The page size; a test module overrides it where its screenshots want another."""
    return {"width": 1200, "height": 900}


@pytest.fixture
def page(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    """A fresh browser context (own storage) and page; page errors are collected."""
    context = browser.new_context(viewport=viewport)
    new_page = context.new_page()
    new_page.page_errors = []
    new_page.on("pageerror", lambda exc: new_page.page_errors.append(str(exc)))
    yield new_page
    context.close()
