"""Fake dataset trees written by the tests, in the real layouts (torchvision-style)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image

from paenet.synth.structure import build_structure_from_reference

_JPEG_CACHE: dict[tuple[int, int], bytes] = {}


def tiny_jpeg(width: int = 8, height: int = 16) -> bytes:
    """A real, decodable JPEG of a few hundred bytes."""
    key = (width, height)
    if key not in _JPEG_CACHE:
        buf = io.BytesIO()
        Image.new("RGB", key, (120, 80, 40)).save(buf, format="JPEG")
        _JPEG_CACHE[key] = buf.getvalue()
    return _JPEG_CACHE[key]


def write_sysu(
    root: Path,
    counts: Mapping[int, Mapping[int, int]],
    splits: Mapping[str, Sequence[int]],
    content: bytes | None = None,
) -> Path:
    """``counts[camera][pid] = n`` images; ``content=None`` writes zero-byte files (fast)."""
    data = b"" if content is None else content
    for cam in range(1, 7):
        (root / f"cam{cam}").mkdir(parents=True, exist_ok=True)
    for cam, per_pid in counts.items():
        for pid, n in per_pid.items():
            folder = root / f"cam{cam}" / f"{pid:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(1, n + 1):
                (folder / f"{k:04d}.jpg").write_bytes(data)
    (root / "exp").mkdir(parents=True, exist_ok=True)
    for split, ids in splits.items():
        (root / "exp" / f"{split}_id.txt").write_text(",".join(str(i) for i in ids))
    return root


def small_sysu(root: Path, content: bytes | None = None) -> Path:
    """6 train, 2 val, 3 test ids; every id in every camera, 3 images each (test: 12 in RGB)."""
    train, val, test = [1, 2, 4, 5, 7, 8], [3, 9], [6, 10, 11]
    counts = {
        cam: {pid: (12 if pid in test and cam in (1, 2, 4, 5) else 3) for pid in train + val + test}
        for cam in range(1, 7)
    }
    return write_sysu(root, counts, {"train": train, "val": val, "test": test}, content)


def reference_structure(
    reference_dir: Path,
) -> tuple[dict[int, dict[int, int]], dict[str, list[int]]]:
    """Counts per camera and id, and the splits, read off the real SYSU-MM01 protocol files."""
    st = build_structure_from_reference(reference_dir / "sysu-mm01-official")
    counts = {cam: dict(per) for cam, per in st.counts.items()}
    return counts, {name: list(ids) for name, ids in st.splits.items()}


def write_regdb(
    root: Path,
    num_ids: int = 8,
    per_modality: int = 2,
    trials: Sequence[int] = range(1, 11),
    content: bytes | None = None,
) -> Path:
    """``num_ids`` ids with ``per_modality`` images each side; trial k puts ids k-shifted
    halves into train and test."""
    data = b"" if content is None else content
    names = {"Visible": "v", "Thermal": "t"}
    for d, tag in names.items():
        for pid in range(1, num_ids + 1):
            folder = root / d / str(pid)
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(1, per_modality + 1):
                (folder / f"male_front_{tag}_{k:02d}_{pid}.bmp").write_bytes(data)
    idx = root / "idx"
    idx.mkdir(parents=True, exist_ok=True)
    pids = list(range(1, num_ids + 1))
    for trial in trials:
        rot = pids[trial % num_ids :] + pids[: trial % num_ids]
        parts = {"train": sorted(rot[: num_ids // 2]), "test": sorted(rot[num_ids // 2 :])}
        for part, ids in parts.items():
            for d, tag in names.items():
                lines = [
                    f"{d}/{pid}/male_front_{tag}_{k:02d}_{pid}.bmp {label}"
                    for label, pid in enumerate(ids)
                    for k in range(1, per_modality + 1)
                ]
                (idx / f"{part}_{d.lower()}_{trial}.txt").write_text("\n".join(lines) + "\n")
    return root
