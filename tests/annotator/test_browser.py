"""The real thing: ``streamlit run annotator/app.py`` driven by Debian's Chromium."""

from __future__ import annotations

import itertools
import os
import re
import statistics
import time
from pathlib import Path

import pytest

from annotator.store.db import open_store
from annotator.store.services.label_reads import get_identity, history
from paenet.attributes import ATTRIBUTE_KEYS, ATTRIBUTES
from tests.annotator.server import CHROMIUM, CHROMIUM_ARGS, streamlit_server

ARTIFACTS_ENV = "PAENET_TEST_ARTIFACTS"
"""Where screenshots go when set (e.g. for CI to keep them); else the test's ``tmp_path``."""
SYSU = "sysu-synthetic"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# key presses dispatched on the page in one task: [[code, key], ...]
JS_STATE = "() => JSON.stringify({...globalThis.__paenetKeys, host: String(globalThis.__paenetKeys?.host), active: document.activeElement?.outerHTML?.slice(0, 200)})"
BURST = """(keys) => {
  for (const [code, key] of keys) {
    document.body.dispatchEvent(new KeyboardEvent("keydown",
      {code, key, bubbles: true, cancelable: true, composed: true}));
  }
}"""


def _usual(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The dataset's usual value of each attribute (what a digit flips away from)."""
    from annotator.store.services.lookups import dataset_row
    from annotator.store.services.suggestions import usual_values

    with store.read() as s:
        return {k: u.value for k, u in usual_values(s, dataset_row(s, SYSU).id).items()}


def _wait_for(predicate, timeout: float = 20.0, state=None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in time; state: {state() if state else '?'}")
        time.sleep(0.25)


def _settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script run finished (keys would be queued anyway; clicks need it)."""
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
        # the stale (disabled, nameless) panel stays beside the new one during the rerun
        female = page.get_by_role("button", name="female", disabled=False)
        expect(female).to_have_count(1, timeout=30_000)
        _settle(page)
        female.click()  # gender = female by click
        _wait_for(
            lambda: label(6, "gender") == 1,
            20,
            lambda: ('el(6, "gender") == ', page.evaluate(JS_STATE)),
        )
        _settle(page)
        flipped = 1 - _usual(store)["backpack"]
        page.keyboard.press("7")  # backpack flipped away from the usual value by shortcut
        _wait_for(
            lambda: label(6, "backpack") == flipped,
            20,
            lambda: ('el(6, "backpack") =', page.evaluate(JS_STATE)),
        )
        _settle(page)
        page.keyboard.press("Shift+3")  # glasses = unknown
        _wait_for(
            lambda: label(6, "glasses") == -1,
            20,
            lambda: ('el(6, "glasses") ==', page.evaluate(JS_STATE)),
        )
        _settle(page)
        artifacts = Path(os.environ.get(ARTIFACTS_ENV) or tmp_path / "artifacts")
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "annotate-page.png"), full_page=True)
        page.get_by_role("button", name="Next →").click()
        expect(page.get_by_text(f"{SYSU} · id 7")).to_be_visible(timeout=20_000)
        _wait_for(
            lambda: "pid=7" in page.url, 20, lambda: ('d=7" in page.url)', page.evaluate(JS_STATE))
        )
        page.reload()
        expect(page.get_by_text(f"{SYSU} · id 7")).to_be_visible(timeout=60_000)
        page.goto(f"{url}/?dataset={SYSU}&pid=6")
        expect(page.get_by_text(f"{SYSU} · id 6")).to_be_visible(timeout=60_000)
        name = page.get_by_label("Your name (every change is signed)")
        name.fill("Ada")
        name.press("Enter")
        _settle(page)
        # the stale (disabled, nameless) panel stays beside the new one during the rerun
        expect(page.get_by_role("button", name="female", disabled=False)).to_have_count(
            1, timeout=30_000
        )
        _settle(page)
        # after a reload the saved values are what the page shows
        female = page.get_by_role("button", name="female", disabled=False)
        expect(female).to_have_attribute("data-testid", "stBaseButton-primary", timeout=20_000)
        backpack = page.locator(f".st-key-set-backpack-{flipped}").get_by_role(
            "button", disabled=False
        )
        expect(backpack).to_have_attribute("data-testid", "stBaseButton-primary")
        browser.close()
    assert (label(6, "gender"), label(6, "backpack"), label(6, "glasses")) == (1, flipped, -1)
    store.dispose()


def _open(page, url: str, pid: int) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{url}/?dataset={SYSU}&pid={pid}")
    expect(page.get_by_text(f"{SYSU} · id {pid}")).to_be_visible(timeout=60_000)


def test_sixteen_fast_keys_all_land_and_text_boxes_take_none(
    data_root: Path, tmp_path: Path
) -> None:
    """Issue 12: the sixteen value shortcuts typed with no waiting (under 100 ms apart)
    all reach the database, in order, across a queued `N`; a key typed into the name
    box labels nothing."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing in CI (scripts/install-system-deps.sh installs it)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium): browser test skipped")
    from playwright.sync_api import expect, sync_playwright

    db_url = f"sqlite:///{data_root / 'annotations.sqlite3'}"
    store = open_store(db_url)

    def mine(pid: int) -> dict[str, int | None]:
        with store.read() as s:
            view = get_identity(s, SYSU, pid)
        return {a.key: view.label("annotator:Ada", a.key) for a in ATTRIBUTES}

    args = ["--db", db_url, "--data-root", str(data_root)]
    with (
        streamlit_server(args, tmp_path / "streamlit.log") as url,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        _open(page, url, 8)
        _settle(page)  # a name typed while the first run is still going can be lost
        name = page.get_by_label("Your name (every change is signed)")
        name.fill("Ada")
        name.press("Enter")
        _settle(page)
        # While the rerun that takes the name is under way, Streamlit shows the stale
        # (disabled, nameless) panel beside the new one: wait for the enabled button, then
        # for the rerun to end.
        enabled = page.get_by_role("button", name="female", disabled=False)
        expect(enabled).to_have_count(1, timeout=30_000)
        _settle(page)
        # typed into the name box: nothing is labelled, the box gets the text
        name.click()
        name.press("End")
        for key in ("1", "2", "Shift+3", "n", "u"):
            page.keyboard.press(key)
        expect(name).to_have_value(re.compile(r"^Ada12.nu$"))  # Shift+3: "3" or "#"
        name.fill("Ada")
        name.press("Enter")
        _settle(page)
        assert mine(8) == dict.fromkeys(ATTRIBUTE_KEYS)
        page.get_by_text(f"{SYSU} · id 8").click()  # focus out of the name box

        # id 8: every attribute flipped away from the usual value; then id 9: all unknown
        keys = [*map(str, range(1, 9)), "ArrowRight", *(f"Shift+{n}" for n in range(1, 9))]
        stamps = []
        for key in keys:  # id 8: every attribute = its value 1; then id 9: all value 0
            page.keyboard.press(key)
            stamps.append(time.monotonic())
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        # the loop never waits; a press returns once the page took the key, so a gap
        # over 100 ms is the page busy redrawing a run (keys typed then wait in the
        # browser's input queue, in order, as a person's would)
        assert statistics.median(gaps) < 0.1, f"typed too slowly: {gaps}"
        _wait_for(
            lambda: mine(9) == dict.fromkeys(ATTRIBUTE_KEYS, -1),
            30,
            lambda: (mine(8), mine(9), page.evaluate(JS_STATE)),
        )
        mine_8 = mine(8)
        assert None not in mine_8.values()
        status = page.get_by_test_id("paenetKeys")
        expect(status).to_have_attribute("data-pending", "0", timeout=20_000)
        expect(status).to_have_attribute("data-saved", "16")
        expect(page.get_by_text(f"{SYSU} · id 9")).to_be_visible(timeout=20_000)
        # keys were typed while a batch was out and its run in progress: the case
        # Streamlit's own shortcuts dropped
        assert int(status.get_attribute("data-max-pending") or 0) >= 2

        # `1 2 3 N 4` dispatched in one go (all within a millisecond): three labels on
        # this identity, one on the next needing work
        page.keyboard.press("ArrowRight")
        expect(page.get_by_text(f"{SYSU} · id 10")).to_be_visible(timeout=20_000)
        _settle(page)
        page.evaluate(BURST, [["Digit1", "1"], ["Digit2", "2"], ["Digit3", "3"],
                              ["KeyN", "n"], ["Digit4", "4"]])  # fmt: skip
        _wait_for(lambda: mine(11)["sleeve_length"] is not None, 30, lambda: (mine(10), mine(11)))
        assert [mine(10)[k] is None for k in ATTRIBUTE_KEYS[:4]] == [False] * 3 + [True]
        assert [mine(11)[k] is None for k in ATTRIBUTE_KEYS[:4]] == [True] * 3 + [False]
        expect(page.get_by_text(f"{SYSU} · id 11")).to_be_visible(timeout=20_000)
        expect(status).to_have_attribute("data-saved", "20", timeout=20_000)
        page.screenshot(path=str(tmp_path / "annotate-keys.png"), full_page=True)
        browser.close()
    with store.read() as s:
        hist = [h for h in history(s, SYSU, 8) + history(s, SYSU, 9) if h.annotator == "Ada"]
    # one change per key, in the order typed
    flipped = [(k, mine_8[k]) for k in ATTRIBUTE_KEYS]
    assert [(h.attribute, h.new_value) for h in hist] == flipped + [(k, -1) for k in ATTRIBUTE_KEYS]
    store.dispose()
