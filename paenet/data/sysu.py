"""SYSU-MM01: the dataset's facts in one place, and a reader of its folder layout.

Layout (see ``datasets/README.md``)::

    ROOT/cam1..cam6/<pid:04d>/<frame:04d>.jpg
    ROOT/exp/{train,val,test,available}_id.txt   one comma-separated line of ints
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from paenet.data.errors import DatasetError
from paenet.data.paths import ASCII_DIGITS, check_inside, scan_dir
from paenet.data.records import Camera, DatasetIndex, Location, Modality, Sample

log = logging.getLogger(__name__)

NAME = "sysu"
CAMERAS: Mapping[int, Camera] = MappingProxyType(
    {
        1: Camera(1, Modality.VISIBLE, Location.INDOOR, "room1"),
        2: Camera(2, Modality.VISIBLE, Location.INDOOR, "room2"),
        3: Camera(3, Modality.INFRARED, Location.INDOOR, "room2"),
        4: Camera(4, Modality.VISIBLE, Location.OUTDOOR, "gate"),
        5: Camera(5, Modality.VISIBLE, Location.OUTDOOR, "garden"),
        6: Camera(6, Modality.INFRARED, Location.OUTDOOR, "outdoor-ir"),
    }
)


class SysuSplit(StrEnum):
    """The fixed identity splits of SYSU-MM01 (``exp/<split>_id.txt``); every id is in at
    most one of them."""

    TRAIN = "train"
    VAL = "val"
    TEST = "test"


SPLITS: tuple[str, ...] = (*SysuSplit, "available")
"""Split files under ``exp/``: ``<split>_id.txt`` (``available`` is optional and overlaps)."""
REQUIRED_SPLITS: tuple[SysuSplit, ...] = tuple(SysuSplit)
IMAGE_SUFFIX = ".jpg"
_PID_DIR = re.compile(r"^[0-9]{4}$")
_FRAME = re.compile(r"^[0-9]{4}\.jpg$", re.IGNORECASE)


def camera_dir(camera: int) -> str:
    return f"cam{camera}"


def pid_dir(pid: int) -> str:
    return f"{pid:04d}"


def parse_id_line(path: Path) -> tuple[int, ...]:
    """Read a split file: one line of comma-separated ints (a trailing newline is fine)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(path, "split file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot read split file ({exc})") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 1:
        raise DatasetError(
            path, f"expected ONE line of comma-separated ints, found {len(lines)} non-empty lines"
        )
    ids: list[int] = []
    for token in lines[0].split(","):
        token = token.strip()
        if not ASCII_DIGITS.match(token):
            raise DatasetError(
                path, f"expected a comma-separated line of ints, found {token!r}", line=1
            )
        ids.append(int(token))
    if len(set(ids)) != len(ids):
        raise DatasetError(path, "an id is listed twice", line=1)
    return tuple(ids)


@dataclass(frozen=True)
class SysuDataset(DatasetIndex):
    """Every image of a SYSU-MM01 root as records, and its split files."""

    splits: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    name = NAME
    cameras = CAMERAS

    def images(self, pid: int, camera: int) -> tuple[Sample, ...]:
        """Images of one person in one camera, in sorted file order (the protocol's order)."""
        return tuple(s for s in self.samples_of(pid) if s.camera == camera)

    def split_ids(self, split: str) -> tuple[int, ...]:
        try:
            return self.splits[split]
        except KeyError:
            raise KeyError(
                f"unknown SYSU-MM01 split {split!r}; have {sorted(self.splits)}"
            ) from None

    def train_ids(self, include_val: bool = True) -> tuple[int, ...]:
        """Training identities: train + val by default (395 ids on the real dataset)."""
        ids = self.split_ids("train") + (self.split_ids("val") if include_val else ())
        return tuple(sorted(ids))

    def split_of(self, pid: int) -> SysuSplit | None:
        for split in REQUIRED_SPLITS:
            if pid in self.splits[split]:
                return split
        return None

    def samples_in(self, pids: Iterable[int]) -> tuple[Sample, ...]:
        out: list[Sample] = []
        for pid in sorted(set(pids)):
            out.extend(self.samples_of(pid))
        return tuple(out)


def read_sysu(root: Path | str) -> SysuDataset:
    """Index a SYSU-MM01 root: every ``camN/IIII/FFFF.jpg`` and the ``exp/`` split files.

    Images are not opened (see :func:`paenet.data.images.verify_images`).
    Raises :class:`DatasetError` naming the folder or file that is wrong.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "SYSU-MM01 root folder does not exist")
    exp = root / "exp"
    if not exp.is_dir():
        raise DatasetError(exp, "missing the 'exp/' folder with the split files (train_id.txt …)")
    samples: list[Sample] = []
    for cam in sorted(CAMERAS):
        cam_path = root / camera_dir(cam)
        if not cam_path.is_dir():
            raise DatasetError(cam_path, f"missing camera folder '{camera_dir(cam)}/'")
        samples.extend(_scan_camera(root, cam))
    splits: dict[str, tuple[int, ...]] = {}
    for split in SPLITS:
        path = exp / f"{split}_id.txt"
        if split in REQUIRED_SPLITS or path.exists():
            splits[split] = parse_id_line(path)
    _refuse_overlaps(exp, splits)
    samples.sort(key=lambda s: (s.pid, s.camera))  # stable: file order kept within a folder
    have = {s.pid for s in samples}
    for split in REQUIRED_SPLITS:
        path = exp / f"{split}_id.txt"
        missing = [pid for pid in splits[split] if pid not in have]
        if missing:
            raise DatasetError(
                path,
                f"{len(missing)} id(s) listed in the split have no images in any cam*/ folder "
                f"(first: {missing[:5]})",
            )
    log.debug("indexed %d SYSU-MM01 images of %d ids under %s", len(samples), len(have), root)
    return SysuDataset(root=root, samples=tuple(samples), splits=MappingProxyType(splits))


def _refuse_overlaps(exp: Path, splits: Mapping[str, tuple[int, ...]]) -> None:
    """An identity in two of train/val/test would let an evaluation test on a training
    identity: refused, naming both files and the shared ids."""
    for i, first in enumerate(REQUIRED_SPLITS):
        for second in REQUIRED_SPLITS[i + 1 :]:
            shared = sorted(set(splits[first]) & set(splits[second]))
            if shared:
                raise DatasetError(
                    exp / f"{second}_id.txt",
                    f"{len(shared)} id(s) are also listed in {exp / f'{first}_id.txt'} "
                    f"(first: {shared[:10]}); the splits must be disjoint",
                )


def _scan_camera(root: Path, cam: int) -> list[Sample]:
    info = CAMERAS[cam]
    cam_name = camera_dir(cam)
    cam_path = root / cam_name
    if cam_path.is_symlink():
        check_inside(root, cam_path)
    out: list[Sample] = []
    entries = scan_dir(cam_path, root)
    pid_entries = sorted((e for e in entries if e.is_dir()), key=lambda e: e.name)
    for entry in pid_entries:
        if not _PID_DIR.match(entry.name):
            raise DatasetError(entry.path, "expected a 4-digit person-id folder such as '0001'")
        pid = int(entry.name)
        files = scan_dir(Path(entry.path), root)
        names = sorted(f.name for f in files if f.is_file() and _FRAME.match(f.name))
        base = PurePosixPath(cam_name, entry.name)
        out.extend(Sample(base / name, pid, cam, info.modality) for name in names)
    return out
