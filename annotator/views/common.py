"""Pieces shared by the pages: dataset choice, camera facts, image strips."""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from annotator import runtime
from annotator.components.images import strip as strip_js
from annotator.deeplink import BadLinkError, parse_link
from annotator.store.services.datasets import list_datasets
from annotator.store.services.records import DatasetInfo, IdentityView
from annotator.text import plain
from annotator.thumbnails import (
    DEFAULT_IMAGE_SIZE,
    IMAGE_SIZES,
    ImageSize,
    UnsafePathError,
    image_size,
    resolve_inside,
)
from paenet.data.kinds import CAMERAS

log = logging.getLogger(__name__)

DATASET = "dataset"
"""Session key of the dataset every page shows (shared, not a widget's key)."""
PID = "pid"
"""Session key of the identity Annotate shows and Review opens first."""
_PICKER = "dataset_picker"
_LINKED = "_linked"


def datasets() -> dict[str, DatasetInfo]:
    with runtime.store().read() as s:
        return {d.name: d for d in list_datasets(s)}


def choose_dataset(known: Mapping[str, DatasetInfo]) -> str:
    """The dataset every page shows (the sidebar's select), after following a pasted link.

    The choice lives in ``st.session_state["dataset"]``, not in the select's own widget
    state (which Streamlit drops when another page draws its own select), so switching
    pages keeps it; :func:`show_place` writes it into the URL, so a reload keeps it too.
    Choosing another dataset forgets the identity (``pid``) of the previous one.
    """
    names = sorted(known)
    follow_link(names)
    if st.session_state.get(DATASET) not in names:
        st.session_state[DATASET] = names[0]
        st.session_state.pop(PID, None)
    st.session_state[_PICKER] = st.session_state[DATASET]
    st.sidebar.selectbox("Dataset", names, key=_PICKER, on_change=_picked)
    dataset: str = st.session_state[DATASET]
    show_place(dataset, st.session_state.get(PID))
    return dataset


def _picked() -> None:
    chosen = st.session_state.get(_PICKER)
    if chosen != st.session_state.get(DATASET):
        st.session_state[DATASET] = chosen
        st.session_state.pop(PID, None)


def follow_link(names: list[str]) -> None:
    """Open the dataset and identity a pasted link (``?dataset=…&pid=…``) names; a URL
    this app wrote itself (:func:`show_place`) is not a new link and changes nothing."""
    params = {k: st.query_params[k] for k in ("dataset", "pid") if k in st.query_params}
    if not params or params == st.session_state.get(_LINKED):
        return
    try:
        link = parse_link(params, names)
    except BadLinkError as exc:
        st.error(plain(f"Ignoring the link: {exc}"))
        return
    if link.dataset is not None and link.dataset != st.session_state.get(DATASET):
        st.session_state[DATASET] = link.dataset
        st.session_state.pop(PID, None)
    if link.pid is not None:
        st.session_state[PID] = link.pid
    st.session_state[_LINKED] = params


def show_place(dataset: str, pid: int | None) -> None:
    """Write the dataset (and the identity, when one is chosen) into the URL, so a reload
    or a copied link opens the same place on the same page."""
    params = {"dataset": dataset, **({"pid": str(pid)} if pid is not None else {})}
    st.session_state[_LINKED] = params
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def camera_label(kind: str, cam: int) -> str:
    info = CAMERAS[kind].get(cam)
    if info is None:
        return f"cam{cam}"
    return f"cam{cam} · {info.modality.value} · {info.location.value}"


def placeholder(height: int = 128) -> np.ndarray:
    """A grey image with a dark cross, shown where an image cannot be (missing, unreadable)."""
    width = height // 2
    img = np.full((height, width, 3), 200, dtype=np.uint8)
    rows = np.arange(height)
    cols = (rows * (width - 1) // max(1, height - 1)).astype(int)
    img[rows, cols] = img[rows, width - 1 - cols] = 90
    return img


IMAGE_SIZE = "image_size"
"""Session key of the chosen image size's name (shared by the pages, not a widget's key)."""
_SIZE_PICKER = "image_size_picker"


def choose_image_size() -> ImageSize:
    """The sidebar's "Image size" (small, medium, large), remembered per browser.

    A new session (a reload, a new tab) starts from the size this browser chose before
    (the cookie ``images.js`` writes, read here on the session's first run), else
    :data:`DEFAULT_IMAGE_SIZE`; the choice then lives in ``st.session_state``, so
    switching pages keeps it. Three buttons, not a slider: a focused slider would take
    ``←``/``→``, the keys that move between identities.
    """
    if image_size(st.session_state.get(IMAGE_SIZE)) is None:
        remembered = strip_js.remembered_size(st.context.cookies)
        st.session_state[IMAGE_SIZE] = (remembered or DEFAULT_IMAGE_SIZE).name
    st.session_state[_SIZE_PICKER] = st.session_state[IMAGE_SIZE]
    st.sidebar.segmented_control(
        "Image size", [s.name for s in IMAGE_SIZES], key=_SIZE_PICKER, on_change=_size_picked,
        help="the camera strips' image width ("
        + ", ".join(f"{s.name} {s.width} px" for s in IMAGE_SIZES)
        + "), remembered by this browser; a click on an image shows it as wide as its "
        "column, a second click (or Esc) shrinks it",
    )  # fmt: skip
    return image_size(st.session_state[IMAGE_SIZE]) or DEFAULT_IMAGE_SIZE


def _size_picked() -> None:
    """A click on the chosen size again unselects it (segmented control): keep it."""
    chosen = st.session_state.get(_SIZE_PICKER)
    if image_size(chosen) is not None:
        st.session_state[IMAGE_SIZE] = chosen


def image_strip(
    view: IdentityView,
    kind: str,
    per_camera: int = 10,
    width: int = 64,
    size: ImageSize | None = None,
) -> None:
    """Visible cameras left, infrared right; thumbnails from the disk cache, made at the
    height ``size`` calls for (``width`` px wide and a thumbnail for it when no size is
    chosen). A click on an image enlarges it in place (``images.js``). An image that
    cannot be shown (deleted since registration, unreadable, outside the root) becomes a
    placeholder and one warning names it (relative to the dataset root)."""
    shown_size = size or ImageSize("fixed", width)
    root = Path(view.dataset_root)
    cams = sorted(view.images)
    paths = [im.path for cam in cams for im in view.images[cam][:per_camera]]
    thumbs = iter(runtime.thumbnails().get_many(root, paths, shown_size.thumb_height))
    strip_js.mount(size, view.pid)
    st.html(strip_js.STRIP_CSS)
    left, right = st.container(key=strip_js.STRIP_KEY).columns(2)
    for cam in cams:
        info = CAMERAS[kind].get(cam)
        column = right if info is not None and info.modality.value == "infrared" else left
        images = view.images[cam]
        with column:
            st.caption(f"{camera_label(kind, cam)} — {len(images)} images")
            shown: list[str | np.ndarray] = []
            missing: list[str] = []
            for im in images[:per_camera]:
                thumb = next(thumbs)
                if isinstance(thumb, Exception):
                    log.warning("cannot show %s of %s: %s", im.path, root, thumb)
                    shown.append(placeholder())
                    missing.append(im.path)
                else:
                    shown.append(str(thumb))
            if missing:
                st.warning(plain(f"cannot show {len(missing)} image(s): {', '.join(missing[:3])}"))
            st.image(shown, width=shown_size.width)


def large_image(view: IdentityView, relative: str, width: int = 256) -> None:
    """One image at full size, or a message: a path outside the root is refused, a
    missing or unreadable file shows the placeholder."""
    try:
        path = resolve_inside(Path(view.dataset_root), relative)
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
    except UnsafePathError:
        st.error(plain(f"{relative} is not inside the dataset root; not shown."))
        return
    except (OSError, Image.UnidentifiedImageError, SyntaxError, ValueError):
        log.warning("cannot show %s of %s", relative, view.dataset_root, exc_info=True)
        st.warning(plain(f"cannot show {relative}: missing or unreadable."))
        st.image(placeholder(), width=width)
        return
    st.image(data, width=width)
