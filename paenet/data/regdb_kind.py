"""RegDB as a dataset kind: no identity split, ten trials each with its own train and test
identities (the idx files), one model per trial (:mod:`paenet.data.regdb_protocol`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paenet.data import regdb
from paenet.data.kind_spec import DatasetKindSpec, ProtocolChoiceError, TrainLists
from paenet.data.manifest_schema import regdb_train_list
from paenet.data.protocol import TestProtocol
from paenet.data.records import DatasetIndex
from paenet.data.regdb import TRIALS, RegdbDataset
from paenet.data.regdb_protocol import Direction, regdb_protocol, regdb_train_entries
from paenet.data.summary import summarize_regdb

if TYPE_CHECKING:
    from enum import StrEnum

    from paenet.data.manifest import Manifest
    from paenet.data.manifest_schema import ManifestImage


def regdb_protocols(ds: RegdbDataset) -> tuple[list[TestProtocol], TrainLists]:
    """Both directions of the 10 RegDB trials and each trial's training samples (idx files)."""
    protocols = [regdb_protocol(ds, t, d) for t in TRIALS for d in Direction]
    train = {t: tuple(e.sample for e in regdb_train_entries(ds, t)) for t in TRIALS}
    return protocols, train


def _regdb(ds: DatasetIndex) -> RegdbDataset:
    if not isinstance(ds, RegdbDataset):
        raise TypeError(f"not a RegDB dataset: {type(ds).__name__}")
    return ds


def _trial(trial: int | None) -> int:
    if trial is None or trial not in TRIALS:
        raise ValueError(f"RegDB needs a trial in 1..10, got {trial}")
    return trial


class RegdbKind(DatasetKindSpec):
    """RegDB: an identity trains in some trials and is tested in the others."""

    name = regdb.NAME
    title = "RegDB"
    folder = "RegDB"
    cameras = regdb.CAMERAS
    identity_split_type = None
    trials = TRIALS

    def read(self, root: Path | str) -> RegdbDataset:
        return regdb.read_regdb(root)

    def split_of(self, ds: DatasetIndex, pid: int) -> StrEnum | None:
        return None

    def train_ids(self, ds: DatasetIndex) -> tuple[int, ...]:
        """Every identity: each trains in some trial."""
        return _regdb(ds).pids

    def dataset_protocols(
        self, ds: DatasetIndex, permutations: Any = None
    ) -> tuple[list[TestProtocol], TrainLists]:
        return regdb_protocols(_regdb(ds))

    def sampling(self, permutations: Any) -> str:
        return "idx files"

    def without_identities(
        self, images: list[ManifestImage], train_lists: TrainLists, gone: set[int]
    ) -> tuple[list[ManifestImage], TrainLists]:
        """They leave every trial's train list; their images stay for the test lists of the
        other trials."""
        lists = {t: tuple(s for s in v if s.pid not in gone) for t, v in train_lists.items()}
        return images, lists

    def summarize(self, ds: DatasetIndex, permutations: Any = None) -> dict[str, Any]:
        return summarize_regdb(_regdb(ds))

    def training_rows(
        self, manifest: Manifest, splits: Sequence[str] | str, trial: int | None
    ) -> list[int]:
        """Trial ``trial`` (1..10, required)'s train list; ``splits`` does not apply."""
        return list(manifest.list_rows(regdb_train_list(_trial(trial))))

    def protocol_trial(self, trial: int | None) -> int | None:
        return _trial(trial)

    def training_problem(
        self, dataset: str, trial: int | None, val_split: str | None
    ) -> str | None:
        if trial is None:
            return "RegDB trains one model per trial: give --trial k (1-10) or data.trial"
        if val_split is not None:
            return "RegDB has no validation split; leave data.val_split null"
        return None

    def select_test_protocols(
        self,
        manifest: Manifest,
        trials: Sequence[int] | None,
        own_trial: int | None,
        force: bool,
    ) -> tuple[list[TestProtocol], list[str]]:
        """The model's own trial by default; another trial's test identities include people
        the model trained on, so it is refused unless ``force`` (then noted)."""
        chosen = tuple(trials) if trials else ((own_trial,) if own_trial is not None else ())
        if not chosen:
            raise ProtocolChoiceError(
                "RegDB needs a trial: the checkpoint records none, pass --trial"
            )
        protocols: list[TestProtocol] = []
        notes: list[str] = []
        for t in chosen:
            if own_trial is not None and t != own_trial:
                if not force:
                    raise ProtocolChoiceError(
                        f"this checkpoint was trained on RegDB trial {own_trial}; trial {t}'s "
                        f"test identities include people it trained on. Evaluate trial "
                        f"{own_trial}, or pass --force (the result is then marked as forced)"
                    )
                notes.append(
                    f"FORCED: trial {t} evaluated with a model trained on trial {own_trial} "
                    "(its test identities overlap that training set)"
                )
            protocols.extend(manifest.protocols(trial=t))
        return protocols, notes

    def describe_sampling(self, samplings: Sequence[str]) -> str:
        return "none (RegDB)"

    def load_every_list(self, manifest: Manifest) -> None:
        for trial in TRIALS:
            manifest.protocols(trial=trial)
            manifest.training_set(trial=trial)
