"""Building manifest records from a dataset on disk: images, protocols, RegDB train lists.

Used by the exporter (which adds labels resolved from the database) and by
:func:`manifest_from_synthetic`, which labels a synthetic stand-in with its own
ground truth (``synth_attributes.csv``) and needs no database: handy for tests of
the trainer and the evaluator.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from paenet.attributes import ATTRIBUTE_KEYS, NUM_ATTRIBUTES, LabelValue
from paenet.data.errors import DatasetError
from paenet.data.kinds import read_dataset
from paenet.data.manifest import ManifestImage
from paenet.data.manifest_write import write_manifest
from paenet.data.protocol import TestProtocol
from paenet.data.records import DatasetIndex, Sample
from paenet.data.regdb import TRIALS as REGDB_TRIALS
from paenet.data.regdb import RegdbDataset
from paenet.data.regdb_protocol import Direction, regdb_protocol, regdb_train_entries
from paenet.data.sysu import REQUIRED_SPLITS, SysuDataset
from paenet.data.sysu_protocol import (
    SHOTS,
    TRIALS,
    RandPerm,
    Sampling,
    SearchMode,
    sysu_protocol,
)

SYNTH_ATTRIBUTES_FILE = "synth_attributes.csv"
SYNTH_PROVENANCE = "source:synthetic-truth"

LabelFn = Callable[[Sample], tuple[tuple[int, ...], tuple[str, ...]]]
"""Gives one image's 8 attribute values (0/1/-1) and their 8 provenance strings."""


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


def regdb_protocols(ds: RegdbDataset) -> tuple[list[TestProtocol], dict[int, tuple[Sample, ...]]]:
    """Both directions of the 10 RegDB trials and each trial's training samples (idx files)."""
    protocols = [regdb_protocol(ds, t, d) for t in REGDB_TRIALS for d in Direction]
    train = {t: tuple(e.sample for e in regdb_train_entries(ds, t)) for t in REGDB_TRIALS}
    return protocols, train


def split_of_pid(ds: DatasetIndex) -> dict[int, str]:
    """SYSU: person id -> ``train``/``val``/``test``; RegDB: empty (splits are per trial)."""
    if not isinstance(ds, SysuDataset):
        return {}
    return {pid: split for split in REQUIRED_SPLITS for pid in ds.split_ids(split)}


def read_synth_attributes(root: Path) -> dict[int, tuple[int, ...]]:
    """``synth_attributes.csv`` of a stand-in: person id -> 8 values in schema order."""
    path = Path(root) / SYNTH_ATTRIBUTES_FILE
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DatasetError(path, "missing; is this a synthetic stand-in?") from None
    if not rows or tuple(rows[0]) != ("pid", *ATTRIBUTE_KEYS):
        raise DatasetError(path, f"header must be pid,{','.join(ATTRIBUTE_KEYS)}", line=1)
    out: dict[int, tuple[int, ...]] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != NUM_ATTRIBUTES + 1 or any(v not in ("0", "1") for v in row[1:]):
            raise DatasetError(path, f"expected a pid and 8 values 0/1, got {row}", line=lineno)
        out[int(row[0])] = tuple(int(v) for v in row[1:])
    return out


def manifest_images(ds: DatasetIndex, label: LabelFn) -> list[ManifestImage]:
    splits = split_of_pid(ds)
    out: list[ManifestImage] = []
    for s in ds.samples:
        values, provenance = label(s)
        out.append(ManifestImage(s, splits.get(s.pid), values, provenance))
    return out


def dataset_protocols(
    ds: DatasetIndex, rand_perm: RandPerm | None = None
) -> tuple[list[TestProtocol], dict[int, tuple[Sample, ...]]]:
    if isinstance(ds, SysuDataset):
        return sysu_protocols(ds, rand_perm), {}
    if isinstance(ds, RegdbDataset):
        return regdb_protocols(ds)
    raise TypeError(f"not a SYSU-MM01 or RegDB dataset: {type(ds).__name__}")


def manifest_from_synthetic(
    root: Path | str,
    kind: str,
    out: Path | str,
    dataset: str | None = None,
    labels: Mapping[str, Any] | None = None,
) -> Path:
    """Write a manifest of a synthetic stand-in labelled with its ground truth (no database).

    Every image gets its person's row of ``synth_attributes.csv`` with provenance
    ``source:synthetic-truth``; SYSU protocols are seeded. Returns ``out``.
    """
    root = Path(root)
    truth = read_synth_attributes(root)
    ds = read_dataset(kind, root)

    def label(s: Sample) -> tuple[tuple[int, ...], tuple[str, ...]]:
        if s.pid not in truth:
            return (int(LabelValue.UNKNOWN),) * NUM_ATTRIBUTES, ("unknown",) * NUM_ATTRIBUTES
        return truth[s.pid], (SYNTH_PROVENANCE,) * NUM_ATTRIBUTES

    protocols, train = dataset_protocols(ds)
    return write_manifest(
        out,
        dataset=dataset or f"{kind}-synthetic",
        kind=kind,
        root=root,
        images=manifest_images(ds, label),
        protocols=protocols,
        train_lists=train,
        labels=dict(labels or {"sources": [SYNTH_ATTRIBUTES_FILE], "unknown_policy": "fail"}),
    )
