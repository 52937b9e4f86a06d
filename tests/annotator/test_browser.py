"""The real thing: ``streamlit run annotator/app.py`` driven by Debian's Chromium."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from annotator.store.db import open_store
from annotator.store.services.labels import get_identity
from tests.annotator.server import CHROMIUM, CHROMIUM_ARGS, streamlit_server

ARTIFACTS_ENV = "PAENET_TEST_ARTIFACTS"
"""Where screenshots go when set (e.g. for CI to keep them); else the test's ``tmp_path``."""
SYSU = "sysu-synthetic"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.25)


def _settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script run finished: Streamlit drops shortcuts pressed mid-run."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=30_000
    )


def test_label_with_clicks_and_keys_then_reload(data_root: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing in CI (scripts/install-system-deps.sh installs it)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium): browser test skipped")
    from playwright.sync_api import expect, sync_playwright

    db_url = f"sqlite:///{data_root / 'annotations.sqlite3'}"
    store = open_store(db_url)

    def label(pid: int, key: str) -> int | None:
        with store.read() as s:
            return get_identity(s, SYSU, pid).label("annotator:Ada", key)

    args = ["--db", db_url, "--data-root", str(data_root)]
    with (
        streamlit_server(args, tmp_path / "streamlit.log") as url,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.goto(f"{url}/?dataset={SYSU}&pid=6")
        expect(page.get_by_text(f"{SYSU} · id 6")).to_be_visible(timeout=60_000)
        name = page.get_by_label("Your name (every change is signed)")
        name.fill("Ada")
        name.press("Enter")
        _settle(page)
        female = page.get_by_role("button", name="female")
        expect(female).to_be_enabled(timeout=20_000)
        female.click()  # gender = female by click
        _wait_for(lambda: label(6, "gender") == 1)
        _settle(page)
        page.keyboard.press("7")  # backpack = yes by shortcut
        _wait_for(lambda: label(6, "backpack") == 1)
        _settle(page)
        page.keyboard.press("Shift+3")  # glasses = no
        _wait_for(lambda: label(6, "glasses") == 0)
        _settle(page)
        artifacts = Path(os.environ.get(ARTIFACTS_ENV) or tmp_path / "artifacts")
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "annotate-page.png"), full_page=True)
        page.get_by_role("button", name="Next →").click()
        expect(page.get_by_text(f"{SYSU} · id 7")).to_be_visible(timeout=20_000)
        _wait_for(lambda: "pid=7" in page.url)
        page.reload()
        expect(page.get_by_text(f"{SYSU} · id 7")).to_be_visible(timeout=60_000)
        page.goto(f"{url}/?dataset={SYSU}&pid=6")
        expect(page.get_by_text(f"{SYSU} · id 6")).to_be_visible(timeout=60_000)
        name = page.get_by_label("Your name (every change is signed)")
        name.fill("Ada")
        name.press("Enter")
        # after a reload the saved values are what the page shows
        primary = page.locator('[data-testid="stBaseButton-primary"]')
        expect(primary.filter(has_text="female")).to_be_visible(timeout=20_000)
        expect(primary.filter(has_text="yes").filter(has_text="7")).to_be_visible()
        browser.close()
    assert (label(6, "gender"), label(6, "backpack"), label(6, "glasses")) == (1, 1, 0)
    store.dispose()
