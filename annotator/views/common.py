"""Pieces shared by the pages: dataset choice, camera facts, image strips."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from annotator import runtime
from annotator.store.services.common import DatasetInfo, IdentityView
from annotator.store.services.datasets import list_datasets
from annotator.thumbnails import UnsafePathError
from paenet.data.kinds import CAMERAS


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


def image_strip(view: IdentityView, kind: str, per_camera: int = 10, width: int = 64) -> None:
    """Visible cameras left, infrared right; thumbnails from the disk cache."""
    thumbs = runtime.thumbnails()
    root = Path(view.dataset_root)
    left, right = st.columns(2)
    for cam in sorted(view.images):
        info = CAMERAS[kind].get(cam)
        column = right if info is not None and info.modality.value == "infrared" else left
        images = view.images[cam]
        with column:
            st.caption(f"{camera_label(kind, cam)} — {len(images)} images")
            try:
                paths = [str(thumbs.get(root, im.path)) for im in images[:per_camera]]
            except (OSError, UnsafePathError) as exc:
                st.warning(f"cannot show {camera_label(kind, cam)}: {exc}")
                continue
            st.image(paths, width=width)
