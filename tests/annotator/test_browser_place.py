"""#21 items 1, 2 and 7 in the real browser: the place and the name survive page switches
and reloads, Enter or Tab leaves the name box, and nothing is fetched from outside."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from annotator.store.db import open_store
from annotator.store.services.label_reads import get_identity
from tests.annotator.server import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from tests.annotator.test_browser import JS_STATE, _settle, _usual, _wait_for

SYSU = "sysu-synthetic"
NAME_BOX = "Your name (every change is signed)"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_place_and_name_survive_pages_and_reloads(data_root: Path, tmp_path: Path) -> None:
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

    outside: list[str] = []
    args = ["--db", db_url, "--data-root", str(data_root)]
    with (
        streamlit_server(args, tmp_path / "streamlit.log") as url,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if urlparse(r.url).hostname not in ("127.0.0.1", None) and r.url.startswith("http")
                else None
            ),
        )
        page.goto(f"{url}/?dataset={SYSU}&pid=6")
        expect(page.get_by_text(f"{SYSU} · id 6")).to_be_visible(timeout=60_000)
        name = page.get_by_label(NAME_BOX)
        name.fill("Ada")
        name.press("Enter")  # the focus leaves the box: the next 1 labels
        _settle(page)
        expect(page.locator(".st-key-set-gender-1 button:enabled").first).to_be_visible(
            timeout=20_000
        )
        flipped = 1 - _usual(store)["gender"]
        expect(name).not_to_be_focused(timeout=20_000)  # Enter left the name box
        page.keyboard.press("1")  # gender flipped away from the usual value
        _wait_for(
            lambda: label(6, "gender") == flipped,
            20,
            lambda: (name.input_value(), page.evaluate(JS_STATE)),
        )
        expect(name).to_have_value("Ada")

        # another page keeps the dataset and identity (and writes them into the URL)
        page.get_by_role("link", name="Review").click()
        expect(page.get_by_role("heading", name="Review")).to_be_visible(timeout=30_000)
        _settle(page)
        _wait_for(lambda: f"dataset={SYSU}" in page.url, 20, lambda: page.url)
        picker = page.get_by_role("combobox", name="Dataset")
        expect(picker).to_have_value(SYSU)
        page.get_by_role("link", name="Agreement & statistics").click()
        expect(page.get_by_role("heading", name="Agreement", exact=True)).to_be_visible(
            timeout=30_000
        )
        expect(picker).to_have_value(SYSU)
        page.reload()  # a new session: the URL brings the place back, the browser the name
        expect(picker).to_have_value(SYSU, timeout=60_000)
        expect(page.get_by_label(NAME_BOX)).to_have_value("Ada", timeout=20_000)
        page.get_by_role("link", name="Annotate").click()
        expect(page.get_by_text(f"{SYSU} · id 6")).to_be_visible(timeout=30_000)
        expect(page.locator(".st-key-set-gender-1 button:enabled").first).to_be_visible(
            timeout=20_000
        )

        # Tab leaves the box too
        name = page.get_by_label(NAME_BOX)
        name.fill("ada")
        name.press("Tab")
        _settle(page)
        assert page.evaluate("document.activeElement === document.body")
        page.keyboard.press("Shift+2")  # hair length: unknown
        _wait_for(lambda: label(6, "hair_length") == -1, 20)
        expect(page.get_by_label(NAME_BOX)).to_have_value("ada")
        browser.close()
    store.dispose()
    assert outside == []  # the tab icon and every font come from the app itself
