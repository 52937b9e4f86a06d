"""The browser tab's icon, drawn here: a Material icon as ``page_icon`` makes the browser
fetch it from fonts.gstatic.com (Streamlit's frontend builds that URL), which fails
offline; an image is served by the app itself."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
from PIL import Image

BLUE = (76, 114, 176, 255)


@cache
def tab_icon(size: int = 32) -> bytes:
    """PNG bytes of :func:`tag_image` (``page_icon`` takes bytes, not an array)."""
    out = io.BytesIO()
    Image.fromarray(tag_image(size), mode="RGBA").save(out, format="PNG")
    return out.getvalue()


def tag_image(size: int) -> np.ndarray:
    """A luggage-tag shape (pointed left end, a hole) in the charts' blue, RGBA
    ``[size, size, 4]`` uint8, transparent around it."""
    img = np.zeros((size, size, 4), dtype=np.uint8)
    rows, cols = np.mgrid[0:size, 0:size]
    top, bottom = size * 0.22, size * 0.78
    middle, tip, right = size / 2, size * 0.06, size * 0.94
    shoulder = tip + (bottom - top) / 2
    body = (rows >= top) & (rows <= bottom) & (cols <= right)
    pointed = cols >= shoulder - (middle - np.abs(rows - middle) - (middle - (bottom - top) / 2))
    hole = (rows - middle) ** 2 + (cols - shoulder) ** 2 <= (size * 0.08) ** 2
    img[body & pointed & ~hole] = BLUE
    return img
