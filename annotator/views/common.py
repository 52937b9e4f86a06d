"""Pieces shared by the pages: dataset choice, camera facts, image strips."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from annotator import runtime
from annotator.store.services.common import DatasetInfo, IdentityView
from annotator.store.services.datasets import list_datasets
from annotator.text import plain
from annotator.thumbnails import UnsafePathError, resolve_inside
from paenet.data.kinds import CAMERAS

log = logging.getLogger(__name__)


def datasets() -> dict[str, DatasetInfo]:
    with runtime.store().read() as s:
        return {d.name: d for d in list_datasets(s)}


def choose_dataset(known: dict[str, DatasetInfo], key: str = "dataset") -> str:
    names = sorted(known)
    if st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    return st.sidebar.selectbox("Dataset", names, key=key)


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


def image_strip(view: IdentityView, kind: str, per_camera: int = 10, width: int = 64) -> None:
    """Visible cameras left, infrared right; thumbnails from the disk cache. An image that
    cannot be shown (deleted since registration, unreadable, outside the root) becomes a
    placeholder and one warning names it (relative to the dataset root)."""
    thumbs = runtime.thumbnails()
    root = Path(view.dataset_root)
    left, right = st.columns(2)
    for cam in sorted(view.images):
        info = CAMERAS[kind].get(cam)
        column = right if info is not None and info.modality.value == "infrared" else left
        images = view.images[cam]
        with column:
            st.caption(f"{camera_label(kind, cam)} — {len(images)} images")
            shown: list[str | np.ndarray] = []
            missing: list[str] = []
            for im in images[:per_camera]:
                try:
                    shown.append(str(thumbs.get(root, im.path)))
                except (OSError, UnsafePathError, Image.UnidentifiedImageError):
                    log.warning("cannot show %s of %s", im.path, root, exc_info=True)
                    shown.append(placeholder())
                    missing.append(im.path)
            if missing:
                st.warning(plain(f"cannot show {len(missing)} image(s): {', '.join(missing[:3])}"))
            st.image(shown, width=width)


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
