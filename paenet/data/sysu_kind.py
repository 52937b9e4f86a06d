"""SYSU-MM01 as a dataset kind: fixed train/val/test identity splits, 40 seeded or
official test settings, the same-room skip rule (:mod:`paenet.data.sysu_protocol`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paenet.data import sysu
from paenet.data.kind_spec import DatasetKindSpec, ProtocolChoiceError, TrainLists
from paenet.data.protocol import TestProtocol
from paenet.data.records import DatasetIndex
from paenet.data.summary import summarize_sysu
from paenet.data.sysu import SysuDataset, SysuSplit
from paenet.data.sysu_protocol import (
    SHOTS,
    SKIP_RULES,
    TRIALS,
    RandPerm,
    Sampling,
    SearchMode,
    load_rand_perm,
    sysu_protocol,
)

if TYPE_CHECKING:
    from paenet.data.manifest import Manifest
    from paenet.data.manifest_schema import ManifestImage

SPLIT_NAMES: tuple[str, ...] = tuple(s.value for s in SysuSplit)
"""``("train", "val", "test")``."""


def sysu_protocols(ds: SysuDataset, rand_perm: RandPerm | None = None) -> list[TestProtocol]:
    """The 40 SYSU-MM01 settings (all/indoor x 1/10 shots x trials 0..9): official
    sampling when ``rand_perm`` is given, else seeded (see :mod:`paenet.data.sysu_protocol`)."""
    sampling = Sampling.OFFICIAL if rand_perm is not None else Sampling.SEEDED
    return [
        sysu_protocol(ds, mode, shots, trial, sampling, rand_perm)
        for mode in SearchMode
        for shots in SHOTS
        for trial in TRIALS
    ]


def _sysu(ds: DatasetIndex) -> SysuDataset:
    if not isinstance(ds, SysuDataset):
        raise TypeError(f"not a SYSU-MM01 dataset: {type(ds).__name__}")
    return ds


class SysuKind(DatasetKindSpec):
    """SYSU-MM01: every identity in one of train/val/test; one model per split selection."""

    name = sysu.NAME
    title = "SYSU-MM01"
    folder = "SYSU-MM01"
    cameras = sysu.CAMERAS
    identity_split_type = SysuSplit
    trials = TRIALS
    skip_rules = SKIP_RULES
    unique_identity_cmc = True
    official_permutations = True
    official_label_files = True

    def read(self, root: Path | str) -> SysuDataset:
        return sysu.read_sysu(root)

    def split_of(self, ds: DatasetIndex, pid: int) -> SysuSplit | None:
        return _sysu(ds).split_of(pid)

    def train_ids(self, ds: DatasetIndex) -> tuple[int, ...]:
        """train + val (395 ids on the real dataset)."""
        return _sysu(ds).train_ids(include_val=True)

    def dataset_protocols(
        self, ds: DatasetIndex, permutations: Any = None
    ) -> tuple[list[TestProtocol], TrainLists]:
        return sysu_protocols(_sysu(ds), permutations), {}

    def load_permutations(self, path: Path | str) -> RandPerm:
        """The authors' ``rand_perm_cam.mat``."""
        return load_rand_perm(path)

    def sampling(self, permutations: Any) -> str:
        return Sampling.OFFICIAL.value if permutations is not None else Sampling.SEEDED.value

    def without_identities(
        self, images: list[ManifestImage], train_lists: TrainLists, gone: set[int]
    ) -> tuple[list[ManifestImage], TrainLists]:
        """Their images are not exported (an identity is training or test, never both)."""
        return [im for im in images if im.sample.pid not in gone], train_lists

    def summarize(self, ds: DatasetIndex, permutations: Any = None) -> dict[str, Any]:
        return summarize_sysu(_sysu(ds), permutations)

    def training_rows(
        self, manifest: Manifest, splits: Sequence[str] | str, trial: int | None
    ) -> list[int]:
        """The images of the named splits (train + val is the field's convention)."""
        if trial is not None:
            raise ValueError("SYSU-MM01 training sets are chosen by split, not by trial")
        if isinstance(splits, str):
            splits = (splits,)
        bad = [s for s in splits if s not in SPLIT_NAMES]
        if bad or not splits:
            raise ValueError(f"SYSU-MM01 splits must be among {SPLIT_NAMES}, got {list(splits)}")
        return [i for i, im in enumerate(manifest.images) if im.split in splits]

    def protocol_trial(self, trial: int | None) -> int | None:
        if trial is not None and trial not in TRIALS:
            raise ValueError(f"SYSU-MM01 trial must be in 0..9, got {trial}")
        return trial

    def training_problem(
        self, dataset: str, trial: int | None, val_split: str | None
    ) -> str | None:
        if trial is not None:
            return f"data.trial is only for RegDB; {dataset} is SYSU-MM01"
        return None

    def select_test_protocols(
        self,
        manifest: Manifest,
        trials: Sequence[int] | None,
        own_trial: int | None,
        force: bool,
    ) -> tuple[list[TestProtocol], list[str]]:
        """Every setting, or those of ``trials`` (0..9); a model is not tied to a trial."""
        protocols = manifest.protocols()
        if trials:
            bad = sorted(set(trials) - set(TRIALS))
            if bad:
                raise ProtocolChoiceError(f"SYSU-MM01 trials are 0..9, got {bad}")
            protocols = [p for p in protocols if p.params.get("trial") in set(trials)]
        return protocols, []

    def describe_sampling(self, samplings: Sequence[str]) -> str:
        return ",".join(samplings)

    def load_every_list(self, manifest: Manifest) -> None:
        manifest.protocols()
