"""Model suggestions in the real app (Chromium): shown as suggestions, Enter saves all
eight signed, a reload shows them saved with the history line; the label panel stays in
view while the camera strips of an identity with 40 images per camera scroll."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from annotator.store.services.suggestions import SuggestionRow, write_suggestions
from paenet.attributes import ATTRIBUTE_KEYS
from tests.annotator.server import (
    JS_STATE,
    NAME_BOX,
    SYSU,
    app_in_chromium,
    panel_in_view,
    settle,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PID = 6
PROBS = [0.9, 0.2, 0.45, 0.7, 0.05, 0.99, 0.6, 0.3]  # values 1 0 0 1 0 1 1 0
EXPECTED = [1, 0, 0, 1, 0, 1, 1, 0]


def _many_images(root: Path, pid: int, per_camera: int = 40) -> None:
    """Give identity ``pid`` ``per_camera`` images in each of its cameras (copies)."""
    for folder in sorted(root.glob(f"cam*/{pid:04d}")):
        first = sorted(folder.glob("*.jpg"))[0]
        for i in range(per_camera - len(list(folder.glob("*.jpg")))):
            shutil.copy(first, folder / f"{900 + i:04d}.jpg")


def test_suggestions_enter_reload_and_the_panel_stays_in_view(
    data_root: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    _many_images(data_root / "synthetic" / "SYSU-MM01", PID)
    with app_in_chromium(data_root, tmp_path, height=900) as app:
        page, store = app.page, app.store

        def mine() -> list[int | None]:
            return list(app.labels(PID).values())

        app.open(PID)  # the app registers the stand-in
        rows = [SuggestionRow(PID, k, 0, p) for k, p in zip(ATTRIBUTE_KEYS, PROBS)]
        with store.write() as s:
            write_suggestions(s, SYSU, "model-sysu", {"checkpoint": {"sha256": "9" * 64}}, rows)
        page.reload()
        settle(page)
        app.sign_in()
        # the stale (disabled, nameless) panel stays beside the new one during the rerun:
        # wait for the one enabled button, then for the run to end
        # (a role query: Streamlit keeps a hidden copy of each button for measuring)
        hair = page.locator(".st-key-set-hair_length-0").get_by_role("button", disabled=False)
        expect(hair).to_have_count(1, timeout=30_000)
        settle(page)
        expect(hair).to_have_count(1, timeout=30_000)
        expect(hair).to_contain_text("short 80%")
        expect(hair).to_have_attribute("data-testid", "stBaseButton-secondary")  # not saved
        expect(page.get_by_text("suggested: short (80%)")).to_be_visible()
        assert mine() == [None] * 8
        page.get_by_text(f"{SYSU} · id {PID}").click()  # focus out of the name box
        panel_in_view(page, 900)
        page.keyboard.press("Enter")
        wait_for(lambda: mine() == EXPECTED, 30, lambda: (mine(), page.evaluate(JS_STATE)))
        page.set_viewport_size({"width": 1920, "height": 1080})
        settle(page)
        page.reload()
        expect(page.get_by_text(f"{SYSU} · id {PID}")).to_be_visible(timeout=60_000)
        settle(page)
        # the name comes back from browser storage after the reload (no typing)
        expect(page.get_by_label(NAME_BOX)).to_have_value("Ada", timeout=30_000)
        settle(page)
        # the stale (disabled, nameless) panel stays beside the new one during the rerun
        female = page.locator(".st-key-set-gender-1").get_by_role("button", disabled=False)
        expect(female).to_have_attribute("data-testid", "stBaseButton-primary", timeout=30_000)
        settle(page)
        for key, value in zip(ATTRIBUTE_KEYS, EXPECTED):  # saved: primary, no suggestion
            button = page.locator(f".st-key-set-{key}-{value}").get_by_role(
                "button", disabled=False
            )
            expect(button).to_have_attribute("data-testid", "stBaseButton-primary", timeout=20_000)
        expect(page.get_by_text("suggested:")).to_have_count(0)
        page.get_by_text("History of this identity").click()
        note = "accepted suggestion from model source model-sysu, checkpoint 999999999999"
        expect(page.get_by_text(note).first).to_be_visible(timeout=20_000)
        page.get_by_text(f"{SYSU} · id {PID}").click()
        panel_in_view(page, 1080)
        page.screenshot(path=str(tmp_path / "annotate-suggestions.png"))

        # the least-confident queue: N goes to the identity whose weakest suggestion is
        # nearest 50 % (id 8, margin 0.02), not to the next id
        more = [(7, 0.8), (8, 0.52), (9, 0.6)]
        rows += [SuggestionRow(pid, k, 0, p) for pid, p in more for k in ATTRIBUTE_KEYS]
        with store.write() as s:
            write_suggestions(s, SYSU, "model-sysu", {"checkpoint": {"sha256": "9" * 64}}, rows)
        page.reload()
        settle(page)
        page.get_by_text("least confident first").click()
        settle(page)
        page.get_by_text(f"{SYSU} · id {PID}").click()  # focus on the page, not the radio
        page.keyboard.press("n")
        expect(page.get_by_text(f"{SYSU} · id 8")).to_be_visible(timeout=30_000)

        # Stats: the model's suggestions against Ada's labels, with the reliability plot
        page.goto(f"{app.url}/stats?dataset={SYSU}")
        expect(page.get_by_role("heading", name="Model suggestions")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("checkpoint 999999999999 · run 2")).to_be_visible()
        plots = page.locator('[data-testid="stImage"] img, [data-testid="stPyplot"] img')
        expect(plots.first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "stats-suggestions.png"), full_page=True)
