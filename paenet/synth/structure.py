"""Which SYSU-MM01 identities exist in which camera, with how many images, and the splits.

The full-scale stand-in copies the real dataset image for image. Those facts come
from the dataset authors' evaluation files (``rand_perm_cam.mat``: one ``(10, n)``
matrix per camera and id, ``n`` = that id's image count; ``train_id.mat``;
``test_id.mat``) and are bundled as ``sysu_structure.json`` so that the package
never needs those files at run time. :func:`build_structure_from_reference`
rebuilds the JSON from the ``.mat`` files; a test checks that the two agree (when the
files are beside the checkout).

The real ``exp/val_id.txt`` is not among those files, but the data pins it down:
513 ids have images, 511 of them in two or more cameras, and exactly 491 in at least
one visible AND one infrared camera: the dataset's 491 "available" ids. Of those,
296 are train and 96 test, which leaves exactly 99, the size of the real val list;
train + those 99 then hold 22,258 RGB and 11,909 IR images, the published train+val
totals. So the stand-in's val ids are those 99 (no random choice is involved) and
``available`` is the 491 cross-modality ids. Rebuild the bundled file from a folder
that holds the three ``.mat`` files (the dataset authors' evaluation code; the same
``rand_perm_cam.mat`` as ``paenet-export --rand-perm``, ``datasets/README.md``)::

    python -m paenet.synth.structure DIR
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import numpy as np

from paenet.data.records import Modality, cameras_with
from paenet.data.sysu import CAMERAS, SPLITS

log = logging.getLogger(__name__)

STRUCTURE_FILE = "sysu_structure.json"
NUM_VAL_IDS = 99
SPLIT_NAMES: tuple[str, ...] = SPLITS
VISIBLE_CAMERAS: tuple[int, ...] = cameras_with(CAMERAS, Modality.VISIBLE)
INFRARED_CAMERAS: tuple[int, ...] = cameras_with(CAMERAS, Modality.INFRARED)
VAL_RULE = (
    "val = every id seen in >= 1 visible and >= 1 infrared camera that is neither train nor "
    "test (99 ids; train + val then hold 22,258 RGB and 11,909 IR images, the published "
    "totals); available = every id seen in both modalities (491)"
)

# Tiny scale: 30 ids, every one in several cameras; test ids in both IR cameras and in
# at least two RGB cameras with >= 3 images each (enough for every protocol setting).
_TINY_TRAIN: tuple[int, ...] = (1, 2, 4, 5, 7, 8, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22)
_TINY_VAL: tuple[int, ...] = (3, 9, 23, 26, 29, 30)
_TINY_TEST: tuple[int, ...] = (6, 10, 17, 21, 24, 25, 27, 28)

# Small scale: a strided subset of the full structure (see small_structure).
_SMALL_STRIDE: dict[str, int] = {"train": 2, "val": 3, "test": 3}
SMALL_IMAGES_PER_CAMERA = 4


@dataclass(frozen=True)
class SysuStructure:
    """Per camera ``{pid: image count}`` and the four split id lists (sorted)."""

    counts: Mapping[int, Mapping[int, int]]
    splits: Mapping[str, tuple[int, ...]]
    val_rule: str = VAL_RULE

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(sorted({pid for per in self.counts.values() for pid in per}))

    def num_images(self, camera: int | None = None) -> int:
        cams = [camera] if camera is not None else list(self.counts)
        return sum(sum(self.counts[c].values()) for c in cams)

    def cameras_of(self, pid: int) -> tuple[int, ...]:
        return tuple(c for c in sorted(self.counts) if self.counts[c].get(pid, 0) > 0)


def _freeze(
    counts: Mapping[int, Mapping[int, int]], splits: Mapping[str, Sequence[int]], val_rule: str
) -> SysuStructure:
    frozen_counts = {
        cam: MappingProxyType({int(p): int(n) for p, n in sorted(per.items()) if n > 0})
        for cam, per in sorted(counts.items())
    }
    frozen_splits = {name: tuple(sorted(int(i) for i in splits[name])) for name in SPLIT_NAMES}
    return SysuStructure(MappingProxyType(frozen_counts), MappingProxyType(frozen_splits), val_rule)


def cross_modality_ids(counts: Mapping[int, Mapping[int, int]]) -> list[int]:
    """Ids with images in at least one visible and one infrared camera (sorted)."""
    vis = {p for c in VISIBLE_CAMERAS for p, n in counts.get(c, {}).items() if n > 0}
    ir = {p for c in INFRARED_CAMERAS for p, n in counts.get(c, {}).items() if n > 0}
    return sorted(vis & ir)


def choose_val_ids(
    counts: Mapping[int, Mapping[int, int]], train: Sequence[int], test: Sequence[int]
) -> tuple[int, ...]:
    """The val rule (see the module docstring): cross-modality ids outside train and test."""
    taken = set(train) | set(test)
    val = tuple(pid for pid in cross_modality_ids(counts) if pid not in taken)
    if len(val) != NUM_VAL_IDS:
        raise ValueError(
            f"expected {NUM_VAL_IDS} cross-modality ids outside train/test, found {len(val)}: "
            "these are not the official SYSU-MM01 files"
        )
    return val


def build_structure_from_reference(reference_dir: Path | str) -> SysuStructure:
    """Read ``rand_perm_cam.mat``, ``train_id.mat`` and ``test_id.mat`` from ``reference_dir``."""
    import scipy.io

    ref = Path(reference_dir)
    top = scipy.io.loadmat(str(ref / "rand_perm_cam.mat"))["rand_perm_cam"]
    if top.shape != (len(CAMERAS), 1):
        raise ValueError(f"rand_perm_cam must be a (6, 1) cell, got {top.shape}")
    counts: dict[int, dict[int, int]] = {}
    for cam_index in range(top.shape[0]):
        column = top[cam_index, 0]
        per: dict[int, int] = {}
        for i in range(column.shape[0]):
            m = np.asarray(column[i, 0])
            n = int(m.shape[1]) if m.ndim == 2 else 0
            if m.size and n:
                per[i + 1] = n  # entry i is person id i + 1
        counts[cam_index + 1] = per

    def ids(name: str) -> list[int]:
        mat = scipy.io.loadmat(str(ref / f"{name}.mat"))
        return [int(x) for x in np.asarray(mat["id"]).ravel()]

    train, test = ids("train_id"), ids("test_id")
    val = choose_val_ids(counts, train, test)
    available = cross_modality_ids(counts)
    splits = {"train": train, "val": val, "test": test, "available": available}
    return _freeze(counts, splits, VAL_RULE)


def structure_to_json(st: SysuStructure) -> str:
    """Stable JSON text: cameras as ``{"1": {"1": 20, …}}``, splits as sorted lists."""
    doc = {
        "description": "SYSU-MM01 structure read off the official rand_perm_cam.mat, "
        "train_id.mat and test_id.mat; val and available derived by val_rule",
        "val_rule": st.val_rule,
        "counts": {
            str(cam): {str(pid): n for pid, n in per.items()} for cam, per in st.counts.items()
        },
        "splits": {name: list(st.splits[name]) for name in SPLIT_NAMES},
    }
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"


def structure_from_json(text: str) -> SysuStructure:
    doc = json.loads(text)
    counts = {
        int(cam): {int(pid): int(n) for pid, n in per.items()} for cam, per in doc["counts"].items()
    }
    return _freeze(counts, doc["splits"], doc.get("val_rule", VAL_RULE))


def tiny_structure() -> SysuStructure:
    """30 ids (16 train, 6 val, 8 test), all of them "available"; counts fixed, not seeded."""
    counts: dict[int, dict[int, int]] = {cam: {} for cam in sorted(CAMERAS)}
    rgb, ir = VISIBLE_CAMERAS, INFRARED_CAMERAS  # (1, 2, 4, 5), (3, 6)
    for pid in _TINY_TRAIN + _TINY_VAL + _TINY_TEST:
        if pid in _TINY_TEST:
            cams = ir + tuple(c for k, c in enumerate(rgb) if (pid + k) % 4 != 0)
        else:
            cams = (rgb[pid % 4], rgb[(pid + 1) % 4], ir[pid % 2])
            if pid % 3 == 0:
                cams += (ir[(pid + 1) % 2],)
        for cam in cams:
            counts[cam][pid] = 3 + (pid + cam) % 3
    all_ids = _TINY_TRAIN + _TINY_VAL + _TINY_TEST
    splits = {
        "train": _TINY_TRAIN,
        "val": _TINY_VAL,
        "test": _TINY_TEST,
        "available": all_ids,
    }
    return _freeze(counts, splits, "fixed list (tiny scale)")


def small_structure() -> SysuStructure:
    """A fixed subset of the full structure: enough identities to learn a metric that
    carries over to unseen ones, few enough images to train on a CPU.

    Every 2nd train id, every 3rd val and test id (148 + 33 + 32), each keeping its
    real cameras with at most :data:`SMALL_IMAGES_PER_CAMERA` images per camera.
    """
    full = load_structure("full")
    splits = {name: full.splits[name][:: _SMALL_STRIDE[name]] for name in _SMALL_STRIDE}
    keep = {pid for ids in splits.values() for pid in ids}
    counts = {
        cam: {pid: min(n, SMALL_IMAGES_PER_CAMERA) for pid, n in per.items() if pid in keep}
        for cam, per in full.counts.items()
    }
    splits["available"] = tuple(cross_modality_ids(counts))
    rule = (
        "every 2nd train id, every 3rd val and test id of the full structure, at most "
        f"{SMALL_IMAGES_PER_CAMERA} images per id and camera (small scale)"
    )
    return _freeze(counts, splits, rule)


def load_structure(scale: str = "full") -> SysuStructure:
    """The bundled full structure (``sysu_structure.json``), its small subset or the tiny one."""
    if scale == "tiny":
        return tiny_structure()
    if scale == "small":
        return small_structure()
    if scale != "full":
        raise ValueError(f"scale must be 'tiny', 'small' or 'full', got {scale!r}")
    text = resources.files("paenet.synth").joinpath(STRUCTURE_FILE).read_text(encoding="utf-8")
    return structure_from_json(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild the bundled ``sysu_structure.json`` from the official ``.mat`` files."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("reference_dir", type=Path, help="folder with rand_perm_cam.mat etc.")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name(STRUCTURE_FILE), help="JSON to write"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    st = build_structure_from_reference(args.reference_dir)
    args.out.write_text(structure_to_json(st), encoding="utf-8")
    log.info("wrote %s: %d images, %d ids", args.out, st.num_images(), len(st.pids))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
