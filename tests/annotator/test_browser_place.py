"""#21 items 1, 2 and 7 in the real browser: the place and the name survive page switches
and reloads, Enter or Tab leaves the name box, and nothing is fetched from outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.annotator.server import (
    JS_STATE,
    NAME_BOX,
    SYSU,
    app_in_chromium,
    settle,
    usual,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_place_and_name_survive_pages_and_reloads(data_root: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with app_in_chromium(data_root, tmp_path, height=900) as app:
        page, label = app.page, app.label
        app.open(6)
        name = app.sign_in()  # Enter: the focus leaves the box, the next 1 labels
        expect(page.locator(".st-key-set-gender-1 button:enabled").first).to_be_visible(
            timeout=20_000
        )
        flipped = 1 - usual(app.store)["gender"]
        expect(name).not_to_be_focused(timeout=20_000)  # Enter left the name box
        page.keyboard.press("1")  # gender flipped away from the usual value
        wait_for(
            lambda: label(6, "gender") == flipped,
            20,
            lambda: (name.input_value(), page.evaluate(JS_STATE)),
        )
        expect(name).to_have_value("Ada")

        # another page keeps the dataset and identity (and writes them into the URL)
        page.get_by_role("link", name="Review").click()
        expect(page.get_by_role("heading", name="Review")).to_be_visible(timeout=30_000)
        settle(page)
        wait_for(lambda: f"dataset={SYSU}" in page.url, 20, lambda: page.url)
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
        settle(page)
        assert page.evaluate("document.activeElement === document.body")
        page.keyboard.press("Shift+2")  # hair length: unknown
        wait_for(lambda: label(6, "hair_length") == -1, 20)
        expect(page.get_by_label(NAME_BOX)).to_have_value("ada")
    assert app.outside == []  # the tab icon and every font come from the app itself
