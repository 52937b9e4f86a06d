"""``--format paenet-official``: the attribute files the published PAENet code reads.

``cam1_att.mat`` … ``cam6_att.mat`` (SYSU-MM01), as released
(``docs/attributes.md``, "The published PAENet label files"): MATLAB v5, one variable
``camN_att``, ``uint8`` of shape ``(8, K)``; column ``j`` is the person with id
``j + 1``, K is the largest id with images in that camera, and a person absent from
that camera gets an all-ones column (the release's placeholder). Rows follow the
schema order. The format has no "unknown": every exported value must be 0 or 1.
The 116-byte text header is fixed (no creation date) so the bytes are deterministic.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from paenet.attributes import NUM_ATTRIBUTES, LabelValue
from paenet.data.manifest import ManifestImage
from paenet.data.sysu import CAMERAS

OFFICIAL_FORMAT = "paenet-official"
HEADER = b"MATLAB 5.0 MAT-file, written by paenet-export (PAENet attribute release layout)"
HEADER_BYTES = 116


class OfficialFormatError(ValueError):
    pass


def official_arrays(images: Sequence[ManifestImage]) -> dict[int, np.ndarray]:
    """camera -> ``(8, K)`` uint8; raises when a value is unknown or differs within a camera."""
    per_cam: dict[int, dict[int, tuple[int, ...]]] = {c: {} for c in CAMERAS}
    unknown: list[str] = []
    for im in images:
        s = im.sample
        if LabelValue.UNKNOWN in im.attributes:
            unknown.append(f"{s.path}")
            continue
        have = per_cam[s.camera].setdefault(s.pid, im.attributes)
        if have != im.attributes:
            raise OfficialFormatError(
                f"id {s.pid} cam{s.camera}: images carry different attributes ({s.path})"
            )
    if unknown:
        raise OfficialFormatError(
            f"--format {OFFICIAL_FORMAT} cannot hold unknown values ({len(unknown)} images, "
            f"e.g. {unknown[0]}); choose --unknown 0 or --unknown 1 to resolve them"
        )
    out: dict[int, np.ndarray] = {}
    for cam, labels in per_cam.items():
        k = max(labels, default=0)
        arr = np.ones((NUM_ATTRIBUTES, k), dtype=np.uint8)
        for pid, values in labels.items():
            arr[:, pid - 1] = values
        out[cam] = arr
    return out


def mat_bytes(variable: str, array: np.ndarray) -> bytes:
    import scipy.io

    buf = io.BytesIO()
    scipy.io.savemat(buf, {variable: array}, format="5", do_compression=False)
    data = bytearray(buf.getvalue())
    data[:HEADER_BYTES] = HEADER.ljust(HEADER_BYTES, b" ")
    return bytes(data)


def official_files(images: Sequence[ManifestImage]) -> dict[str, bytes]:
    return {
        f"cam{cam}_att.mat": mat_bytes(f"cam{cam}_att", arr)
        for cam, arr in official_arrays(images).items()
    }
