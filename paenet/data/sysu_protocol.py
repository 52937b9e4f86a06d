"""The SYSU-MM01 test protocol: query, gallery by mode/shots/trial, and sampling.

Two gallery samplings, always recorded in ``TestProtocol.params['sampling']``:

- ``official``: the dataset authors' permutations in ``rand_perm_cam.mat``. For
  trial ``t`` (0-9), person ``p`` and camera ``c``, the gallery takes the first
  ``shots`` entries of row ``t`` of the permutation matrix, each a 1-based index
  into the sorted files of ``camC/PPPP/``.
- ``seeded``: ``rng = random.Random(trial)``; then, for each test id in ascending
  order and each gallery camera in ascending order, ``rng.sample(files, k)`` with
  ``files`` the sorted images of that (id, camera) and ``k = min(shots, len(files))``.
  Same trial, same gallery, on any machine and Python >= 3.11.
"""

from __future__ import annotations

import random
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

import numpy as np

from paenet.data.errors import DatasetError
from paenet.data.matfile import MatFileError, load_variable
from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Modality, Sample, cameras_with
from paenet.data.sysu import CAMERAS, SysuDataset, camera_dir, pid_dir


class SearchMode(StrEnum):
    ALL = "all"
    INDOOR = "indoor"


class Sampling(StrEnum):
    OFFICIAL = "official"
    SEEDED = "seeded"


GALLERY_CAMERAS: dict[SearchMode, tuple[int, ...]] = {
    SearchMode.ALL: cameras_with(CAMERAS, Modality.VISIBLE),  # (1, 2, 4, 5)
    SearchMode.INDOOR: (1, 2),
}
QUERY_CAMERAS: tuple[int, ...] = cameras_with(CAMERAS, Modality.INFRARED)
SKIP_RULES: tuple[SkipRule, ...] = (
    SkipRule(
        query_camera=3, gallery_camera=2, reason="cam3 (IR) and cam2 (RGB) film the same room"
    ),
)
SHOTS: tuple[int, ...] = (1, 10)
TRIALS: tuple[int, ...] = tuple(range(10))
RAND_PERM_VARIABLE = "rand_perm_cam"


class RandPerm:
    """The parsed ``rand_perm_cam.mat``: per camera and person id a ``(trials, n)`` array."""

    def __init__(self, path: Path, cells: dict[int, list[np.ndarray]]) -> None:
        self.path = path
        self._cells = cells

    def matrix(self, camera: int, pid: int) -> np.ndarray | None:
        """Permutation rows for (camera, pid), 1-based, or None when the person is absent."""
        per_cam = self._cells.get(camera, [])
        if not 1 <= pid <= len(per_cam):
            return None
        m = per_cam[pid - 1]
        return m if m.shape[1] > 0 else None


def load_rand_perm(path: Path | str) -> RandPerm:
    """Read and validate ``rand_perm_cam.mat`` (a ``(6, 1)`` cell of per-id ``(10, n)`` arrays)."""
    path = Path(path)
    try:
        top = load_variable(path, RAND_PERM_VARIABLE)
    except MatFileError as exc:
        raise DatasetError(exc.path, exc.problem) from None
    if top.dtype != object or top.shape != (len(CAMERAS), 1):
        raise DatasetError(
            path,
            f"'{RAND_PERM_VARIABLE}' must be a ({len(CAMERAS)}, 1) cell, "
            f"got {top.dtype} {top.shape}",
        )
    cells: dict[int, list[np.ndarray]] = {}
    for cam_index in range(top.shape[0]):
        cam = cam_index + 1
        column = top[cam_index, 0]
        if column.dtype != object or column.ndim != 2 or column.shape[1] != 1:
            raise DatasetError(
                path, f"cell for cam{cam} must be an (ids, 1) cell, got {column.shape}"
            )
        mats: list[np.ndarray] = []
        for i in range(column.shape[0]):
            m = np.asarray(column[i, 0])
            if m.size == 0:
                m = np.zeros((len(TRIALS), 0), dtype=np.int64)
            if m.ndim != 2 or m.shape[0] < len(TRIALS):
                raise DatasetError(
                    path,
                    f"cam{cam}, id {i + 1}: expected a (10, n) permutation matrix, got {m.shape}",
                )
            m = m.astype(np.int64)
            n = m.shape[1]
            expected = np.arange(1, n + 1)
            for t in range(len(TRIALS)):
                if not np.array_equal(np.sort(m[t]), expected):
                    raise DatasetError(
                        path, f"cam{cam}, id {i + 1}, trial {t}: row is not a permutation of 1..{n}"
                    )
            mats.append(m)
        cells[cam] = mats
    return RandPerm(path, cells)


def query_samples(ds: SysuDataset) -> tuple[Sample, ...]:
    """Every infrared image (cams 3 and 6) of the test ids, in both search modes."""
    test = set(ds.split_ids("test"))
    return tuple(s for s in ds.samples if s.pid in test and s.camera in QUERY_CAMERAS)


def sysu_protocol(
    ds: SysuDataset,
    mode: SearchMode | str = SearchMode.ALL,
    shots: int = 1,
    trial: int = 0,
    sampling: Sampling | str = Sampling.SEEDED,
    rand_perm: RandPerm | None = None,
) -> TestProtocol:
    """Build one SYSU-MM01 evaluation setting (see the module docstring for sampling)."""
    mode = SearchMode(mode)
    sampling = Sampling(sampling)
    if shots not in SHOTS:
        raise ValueError(f"shots must be one of {SHOTS}, got {shots}")
    if trial not in TRIALS:
        raise ValueError(f"SYSU-MM01 trial must be in 0..9, got {trial}")
    if sampling is Sampling.OFFICIAL and rand_perm is None:
        raise ValueError(
            "sampling='official' needs the dataset authors' rand_perm_cam.mat "
            "(read it with load_rand_perm and pass it as rand_perm)"
        )
    rng = random.Random(trial)
    gallery: list[Sample] = []
    for pid in sorted(ds.split_ids("test")):
        for cam in GALLERY_CAMERAS[mode]:
            files = ds.images(pid, cam)
            if not files:
                continue
            if sampling is Sampling.SEEDED:
                gallery.extend(rng.sample(files, min(shots, len(files))))
            else:
                assert rand_perm is not None
                gallery.extend(_official_pick(ds, rand_perm, pid, cam, files, shots, trial))
    return TestProtocol(
        dataset="sysu",
        query=query_samples(ds),
        gallery=tuple(gallery),
        skip_rules=SKIP_RULES,
        unique_identity_cmc=True,
        params=MappingProxyType(
            {"mode": mode.value, "shots": shots, "trial": trial, "sampling": sampling.value}
        ),
    )


def _official_pick(
    ds: SysuDataset,
    rp: RandPerm,
    pid: int,
    cam: int,
    files: tuple[Sample, ...],
    shots: int,
    trial: int,
) -> list[Sample]:
    perm = rp.matrix(cam, pid)
    folder = ds.root / camera_dir(cam) / pid_dir(pid)
    if perm is None or perm.shape[1] != len(files):
        listed = 0 if perm is None else perm.shape[1]
        raise DatasetError(
            folder,
            f"{rp.path.name} lists {listed} images for this person and camera, "
            f"the folder has {len(files)}: the dataset does not match the official permutations",
        )
    return [files[int(i) - 1] for i in perm[trial, :shots]]
