"""RegDB: the dataset's facts in one place, and a reader of its layout and idx files.

Layout (see ``datasets/README.md``)::

    ROOT/Visible/<id>/<file>.bmp      ROOT/Thermal/<id>/<file>.bmp
    ROOT/idx/{train,test}_{visible,thermal}_{1..10}.txt   lines "relative/path label"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from paenet.data.errors import DatasetError
from paenet.data.paths import (
    ASCII_DIGITS,
    PathEscapeError,
    check_inside,
    relative_inside,
    scan_dir,
)
from paenet.data.records import Camera, DatasetIndex, Location, Modality, Sample

NAME = "regdb"
CAMERAS: Mapping[int, Camera] = MappingProxyType(
    {
        1: Camera(1, Modality.VISIBLE, Location.OUTDOOR, "street"),
        2: Camera(2, Modality.INFRARED, Location.OUTDOOR, "street"),
    }
)
MODALITY_DIRS: Mapping[Modality, str] = MappingProxyType(
    {Modality.VISIBLE: "Visible", Modality.INFRARED: "Thermal"}
)
IDX_MODALITY_NAMES: Mapping[Modality, str] = MappingProxyType(
    {Modality.VISIBLE: "visible", Modality.INFRARED: "thermal"}
)
CAMERA_OF: Mapping[Modality, int] = MappingProxyType({Modality.VISIBLE: 1, Modality.INFRARED: 2})
TRIALS: tuple[int, ...] = tuple(range(1, 11))
"""RegDB trials are numbered 1..10, as in the idx file names."""
IMAGE_SUFFIX = ".bmp"


class RegdbSplit(StrEnum):
    """The two parts of one RegDB trial. RegDB has no fixed split: an identity is in the
    train part of some trials and the test part of others, so identities carry none."""

    TRAIN = "train"
    TEST = "test"


def idx_file(root: Path, part: RegdbSplit | str, modality: Modality, trial: int) -> Path:
    """``idx/{train,test}_{visible,thermal}_{trial}.txt``."""
    if part not in set(RegdbSplit):
        raise ValueError(f"part must be one of {[p.value for p in RegdbSplit]}, got {part!r}")
    if trial not in TRIALS:
        raise ValueError(f"RegDB trial must be in 1..10, got {trial!r}")
    return root / "idx" / f"{RegdbSplit(part)}_{IDX_MODALITY_NAMES[modality]}_{trial}.txt"


@dataclass(frozen=True, slots=True)
class IdxEntry:
    """One line of an idx file: a sample and the file's contiguous class label."""

    sample: Sample
    label: int


@dataclass(frozen=True)
class RegdbDataset(DatasetIndex):
    """Every image of a RegDB root as records; idx files are read on demand."""

    name = NAME
    cameras = CAMERAS

    @cached_property
    def _by_path(self) -> Mapping[PurePosixPath, Sample]:
        return MappingProxyType({s.path: s for s in self.samples})

    def read_idx(
        self, part: RegdbSplit | str, modality: Modality, trial: int
    ) -> tuple[IdxEntry, ...]:
        """Parse one idx file; every path must be an indexed image of that modality."""
        path = idx_file(self.root, part, modality, trial)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise DatasetError(path, "idx file is missing") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(path, f"cannot read idx file ({exc})") from None
        entries: list[IdxEntry] = []
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            parts = line.split(" ")
            if len(parts) != 2 or not parts[0] or not ASCII_DIGITS.match(parts[1].strip()):
                raise DatasetError(
                    path,
                    f"expected 'relative/path label' (one space, int label), got {line!r}",
                    line=lineno,
                )
            try:
                rel = relative_inside(parts[0].replace("\\", "/"))
            except PathEscapeError:
                raise DatasetError(
                    path,
                    f"path {parts[0]!r} escapes the dataset root; expected a path such as "
                    "'Visible/1/xxx.bmp'",
                    line=lineno,
                ) from None
            sample = self._by_path.get(rel)
            if sample is None:
                raise DatasetError(path, f"image {rel} is not in the dataset", line=lineno)
            if sample.modality is not modality:
                raise DatasetError(
                    path,
                    f"image {rel} is {sample.modality}, this file lists {modality}",
                    line=lineno,
                )
            entries.append(IdxEntry(sample, int(parts[1])))
        if not entries:
            raise DatasetError(path, "idx file has no entries")
        return tuple(entries)

    def trial_ids(self, part: RegdbSplit | str, trial: int) -> tuple[int, ...]:
        """Person ids of a trial's train or test part (visible and thermal must agree)."""
        vis = {e.sample.pid for e in self.read_idx(part, Modality.VISIBLE, trial)}
        the = {e.sample.pid for e in self.read_idx(part, Modality.INFRARED, trial)}
        if vis != the:
            path = idx_file(self.root, part, Modality.INFRARED, trial)
            raise DatasetError(
                path,
                f"ids differ from the visible file of trial {trial}: {sorted(vis ^ the)[:5]} …",
            )
        return tuple(sorted(vis))


def read_regdb(root: Path | str) -> RegdbDataset:
    """Index a RegDB root: ``Visible/<id>/*.bmp`` and ``Thermal/<id>/*.bmp``."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "RegDB root folder does not exist")
    samples: list[Sample] = []
    for modality, dirname in MODALITY_DIRS.items():
        mod_path = root / dirname
        if not mod_path.is_dir():
            raise DatasetError(mod_path, f"missing the '{dirname}/' folder")
        samples.extend(_scan_modality(root, dirname, modality))
    if not (root / "idx").is_dir():
        raise DatasetError(root / "idx", "missing the 'idx/' folder with the trial files")
    samples.sort(key=lambda s: (s.pid, s.camera))  # stable: file order kept within a folder
    return RegdbDataset(root=root, samples=tuple(samples))


def _scan_modality(root: Path, dirname: str, modality: Modality) -> list[Sample]:
    out: list[Sample] = []
    mod_path = root / dirname
    if mod_path.is_symlink():
        check_inside(root, mod_path)
    entries = scan_dir(mod_path, root)
    pid_dirs = sorted((e for e in entries if e.is_dir()), key=lambda e: e.name)
    for entry in pid_dirs:
        if not ASCII_DIGITS.match(entry.name):
            raise DatasetError(entry.path, "expected a numeric person-id folder such as '17'")
        pid = int(entry.name)
        files = scan_dir(Path(entry.path), root)
        names = sorted(
            f.name for f in files if f.is_file() and f.name.lower().endswith(IMAGE_SUFFIX)
        )
        base = PurePosixPath(dirname, entry.name)
        out.extend(Sample(base / n, pid, CAMERA_OF[modality], modality) for n in names)
    return out
