"""#21 item 5: the camera strips at a size the labeller chooses (AppTest; the widths and
the click that enlarges an image in the real browser: test_browser_images.py)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.annotator.test_app import SYSU, _app, _goto, _view

SIZE = "Image size"
THUMB_HEIGHTS = {"small": 256, "medium": 416, "large": 864}  # twice the shown height


def _made(root: Path, name: str) -> set[Path]:
    """Thumbnails on disk at the height of the size called ``name``."""
    return set((root / ".thumbnails" / f"{THUMB_HEIGHTS[name]}px").rglob("*.jpg"))


def _slider(at: AppTest):  # type: ignore[no-untyped-def]
    return at.segmented_control(key="image_size_picker")


def test_image_size_sets_the_thumbnails_and_is_kept_across_reruns_and_pages(
    data_root: Path,
) -> None:
    at = _app(dataset=SYSU, pid="6")
    assert not at.exception
    assert _slider(at).label == SIZE
    assert _slider(at).value == "medium"  # the default
    assert _slider(at).options == ["small", "medium", "large"]
    view, _ = _view(data_root, 6)
    shown = sum(min(10, len(images)) for images in view.images.values())  # 10 per camera
    assert shown and len(_made(data_root, "medium")) == shown
    assert not _made(data_root, "large")
    _slider(at).set_value("large").run()
    assert not at.exception
    assert len(_made(data_root, "large")) == shown  # made at the large size's height
    at.run()
    assert _slider(at).value == "large"  # a rerun keeps it
    _slider(at).set_value(None).run()  # a click on the chosen size again: it stays chosen
    assert _slider(at).value == "large"
    _goto(at, "review")
    assert not at.exception
    _goto(at, "annotate")
    assert _slider(at).value == "large"  # and so does a page switch
    next(b for b in at.button if b.label == "Next →").click()
    at.run()
    assert at.title[0].value == f"{SYSU} · id 7"
    assert _slider(at).value == "large"


def test_the_remembered_size_is_read_from_the_cookie() -> None:
    from annotator.components.images import strip as strip_js
    from annotator.thumbnails import image_size

    assert strip_js.remembered_size({strip_js.COOKIE: "large"}) == image_size("large")
    assert strip_js.remembered_size({strip_js.COOKIE: "huge"}) is None  # an edited cookie
    assert strip_js.remembered_size({}) is None


def test_every_size_fits_the_camera_column_and_grows() -> None:
    from annotator.thumbnails import IMAGE_SIZES

    widths = [s.width for s in IMAGE_SIZES]
    assert widths == sorted(widths) and widths[0] >= 64
    assert widths[-1] <= 219  # a camera column at 1400 x 900 (measured in Chromium)
    assert {s.name: s.thumb_height for s in IMAGE_SIZES} == THUMB_HEIGHTS
