"""#21 item 5 in the real browser: the sidebar's image size sets the strips' image width
and survives a reload (cookie), a click enlarges an image in place (a second click or
Esc shrinks it), the label panel stays in view, and nothing is fetched from outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.annotator.server import SYSU, app_in_chromium, panel_in_view, settle, wait_for

WIDTHS = {"small": 64, "medium": 104, "large": 216}  # CSS px
IMAGES = '.st-key-image-strip [data-testid="stImageContainer"] img'
PICKER = "image_size_picker"
SCREENS_ENV = "PAENET_TEST_SCREENS"
"""Where the screenshots at each size go when set; else the test's ``tmp_path``."""

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _width(page) -> float:  # type: ignore[no-untyped-def]
    """The first strip image's shown width (-1 while a rerun replaces the images)."""
    box = page.locator(IMAGES).first.bounding_box()
    return float(box["width"]) if box else -1.0


def _wait_width(page, width: float) -> None:  # type: ignore[no-untyped-def]
    wait_for(lambda: abs(_width(page) - width) < 1, 20, lambda: _width(page))


def _choose(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Click ``name`` in the sidebar's "Image size" and wait for the strips to follow."""
    page.locator(f".st-key-{PICKER}").get_by_role("radio", name=name, exact=True).click()
    _wait_width(page, WIDTHS[name])
    settle(page)


def test_image_size_is_remembered_and_a_click_enlarges_in_place(
    data_root: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    screens = Path(os.environ.get(SCREENS_ENV) or tmp_path / "screens")
    screens.mkdir(parents=True, exist_ok=True)
    with app_in_chromium(data_root, tmp_path, height=900) as app:
        page = app.page
        app.open(6)
        settle(page)
        expect(page.locator(IMAGES).first).to_be_visible(timeout=20_000)
        _wait_width(page, 104)  # medium, the default
        page.screenshot(path=str(screens / "annotate-medium.png"))

        _choose(page, "small")
        page.screenshot(path=str(screens / "annotate-small.png"))
        page.keyboard.press("ArrowRight")  # the identity key, not the size buttons' arrow
        expect(page.get_by_text(f"{SYSU} · id 7")).to_be_visible(timeout=20_000)
        settle(page)
        _wait_width(page, 64)
        page.keyboard.press("ArrowLeft")
        expect(page.get_by_text(f"{SYSU} · id 6")).to_be_visible(timeout=20_000)
        settle(page)
        _wait_width(page, 64)
        first = page.locator(IMAGES).first
        first.click()  # enlarged in place: its camera column's width
        wait_for(lambda: _width(page) > 200, 10, lambda: _width(page))
        page.screenshot(path=str(screens / "annotate-small-enlarged.png"))
        first.click()
        _wait_width(page, 64)
        first.click()
        wait_for(lambda: _width(page) > 200, 10, lambda: _width(page))
        page.keyboard.press("Escape")
        _wait_width(page, 64)

        _choose(page, "large")
        page.screenshot(path=str(screens / "annotate-large.png"))
        page.reload()  # a new session: the size comes back from this browser's cookie
        expect(page.get_by_text(f"{SYSU} · id 6")).to_be_visible(timeout=60_000)
        settle(page)
        expect(page.locator(IMAGES).first).to_be_visible(timeout=20_000)
        _wait_width(page, 216)
        chosen = page.locator(f".st-key-{PICKER}").get_by_role("radio", name="large")
        expect(chosen).to_have_attribute("aria-checked", "true")
        page.get_by_text(f"{SYSU} · id 6").click()
        panel_in_view(page, 900)  # the strips grow, the label panel stays whole in view
    assert not app.outside, app.outside
