"""Mount the camera strips' browser side (``images.js``) and read the remembered size.

Protocol (one instance per page, mounted by :func:`annotator.views.common.image_strip`,
key :data:`KEY`); nothing goes back to the server:

- server → browser, mount data ``{"size": str, "pid": int}``: the size to remember in
  the cookie :data:`COOKIE` (``""``: a page without a size choice, nothing written), and
  the identity shown (another identity shrinks the images a click had enlarged);
- the server reads the cookie back from ``st.context.cookies`` on the first run of a
  session (a reload, a new tab), so the page is drawn once, at the remembered size.

A cookie and not the URL: a link is shared, a screen size is not; a cookie and not only
``localStorage``: the server sees it on the first run, so a reload does not draw the
strips at the default size first and then again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from annotator.thumbnails import ImageSize, image_size

KEY = "image_strip_js"
COOKIE = "paenet_image_size"
ENLARGED = "paenet-enlarged"
"""Class of an image container a click enlarged (the CSS is in :data:`STRIP_CSS`)."""
STRIP_KEY = "image-strip"
STRIP_CSS = f"""<style>
.st-key-{STRIP_KEY} [data-testid="stImageContainer"] img {{ cursor: zoom-in; }}
.st-key-{STRIP_KEY} [data-testid="stImageContainer"].{ENLARGED} {{ width: 100%; }}
.st-key-{STRIP_KEY} [data-testid="stImageContainer"].{ENLARGED} img {{
  width: 100% !important; max-width: 100%; cursor: zoom-out;
  outline: 2px solid var(--st-primary-color, #ff4b4b); outline-offset: -2px;
}}
</style>"""
"""A clicked image takes its camera column's whole width (about 220 px at 1400 px); the
others wrap below it, nothing overlays the label panel."""

_JS = (Path(__file__).parent / "images.js").read_text(encoding="utf-8")
_component = st.components.v2.component("paenet_images", js=_JS)


def remembered_size(cookies: Mapping[str, str]) -> ImageSize | None:
    """The size this browser chose before (its cookie), ``None`` if none or unknown."""
    return image_size(cookies.get(COOKIE))


def mount(size: ImageSize | None, pid: int) -> None:
    _component(key=KEY, data={"size": size.name if size else "", "pid": pid, "cookie": COOKIE})
