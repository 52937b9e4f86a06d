"""The dataset kinds, in one place: their names, folders, cameras, identity splits and readers.

Everything that offers a choice of kind (CLIs, the annotator, the generator) or maps a
kind to its layout reads it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from paenet.data import regdb, sysu
from paenet.data.records import Camera, DatasetIndex


class DatasetKind(StrEnum):
    SYSU = sysu.NAME
    REGDB = regdb.NAME


KINDS: tuple[str, ...] = tuple(k.value for k in DatasetKind)
"""The kind names, for ``argparse`` choices and select boxes."""

FOLDERS: Mapping[DatasetKind, str] = MappingProxyType(
    {DatasetKind.SYSU: "SYSU-MM01", DatasetKind.REGDB: "RegDB"}
)
"""The folder each layout lives in under a data root (``datasets/SYSU-MM01`` …)."""

CAMERAS: Mapping[DatasetKind, Mapping[int, Camera]] = MappingProxyType(
    {DatasetKind.SYSU: sysu.CAMERAS, DatasetKind.REGDB: regdb.CAMERAS}
)

IDENTITY_SPLITS: Mapping[DatasetKind, type[StrEnum] | None] = MappingProxyType(
    {DatasetKind.SYSU: sysu.SysuSplit, DatasetKind.REGDB: None}
)
"""The split type an identity of each kind carries; ``None``: identities carry no split
(RegDB's train/test parts are per trial, :class:`paenet.data.regdb.RegdbSplit`)."""


def dataset_kind(kind: str) -> DatasetKind:
    """``kind`` as a :class:`DatasetKind`; ValueError naming the known kinds otherwise."""
    try:
        return DatasetKind(kind)
    except ValueError:
        raise ValueError(f"dataset kind must be one of {list(KINDS)}, got {kind!r}") from None


def identity_split(kind: str, split: str) -> StrEnum:
    """Validate an identity split of a dataset of ``kind``; ValueError naming the choices."""
    split_type = IDENTITY_SPLITS[dataset_kind(kind)]
    if split_type is None:
        raise ValueError(f"{kind} identities have no split (its splits are per trial)")
    try:
        return split_type(split)
    except ValueError:
        choices = [s.value for s in split_type]
        raise ValueError(f"{kind} split must be one of {choices}, got {split!r}") from None


def identity_splits(kind: str) -> tuple[str, ...]:
    """The identity split names of ``kind`` in order (none for RegDB)."""
    split_type = IDENTITY_SPLITS[dataset_kind(kind)]
    return () if split_type is None else tuple(s.value for s in split_type)


def read_dataset(kind: str, root: Path | str) -> DatasetIndex:
    """Index a root of the given kind with its reader."""
    if dataset_kind(kind) is DatasetKind.SYSU:
        return sysu.read_sysu(root)
    return regdb.read_regdb(root)
