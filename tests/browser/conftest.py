"""Headless Debian Chromium for the browser tests (widget and admin), driven by Playwright.

The browser is launched once per session from /usr/bin/chromium (never a downloaded one) by
tests/conftest.py (the real-store suite shares it: Playwright's sync API runs one instance
per process); every test here gets a fresh context (own storage) and page whose script
errors are collected.
Nothing here is imported by name: tests use these fixtures only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


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
