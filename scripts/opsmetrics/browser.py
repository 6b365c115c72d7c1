"""Debian's headless Chromium driven by Playwright: one launcher for the PDF reports, the
dashboard benchmark and the browser tests (never a browser Playwright downloads)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

from opsmetrics.settings import chromium_path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class NoChromiumError(Exception):
    """Debian's chromium is not installed where opsmetrics looks for it."""


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium (opsmetrics.settings.chromium_path), headless, until the block
    ends; NoChromiumError (one line) when it is missing."""
    executable = chromium_path()
    if not executable.exists():
        raise NoChromiumError(
            f"no chromium at {executable}: run scripts/ci/ensure_chromium.sh or set "
            "OPSMETRICS_CHROMIUM"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
