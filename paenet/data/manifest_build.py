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
from paenet.data.kinds import kind_of, read_dataset
from paenet.data.manifest_schema import ManifestImage
from paenet.data.manifest_write import write_manifest
from paenet.data.protocol import TestProtocol
from paenet.data.records import DatasetIndex, Sample

__all__ = [
    "SYNTH_ATTRIBUTES_FILE",
    "dataset_protocols",
    "manifest_from_synthetic",
    "manifest_images",
    "read_dataset",
    "read_synth_attributes",
]

SYNTH_ATTRIBUTES_FILE = "synth_attributes.csv"
SYNTH_PROVENANCE = "source:synthetic-truth"

LabelFn = Callable[[Sample], tuple[tuple[int, ...], tuple[str, ...]]]
"""Gives one image's 8 attribute values (0/1/-1) and their 8 provenance strings."""


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
    """Every image of ``ds`` with its identity split (its kind's) and ``label``'s values."""
    splits = kind_of(ds).splits_of(ds)
    out: list[ManifestImage] = []
    for s in ds.samples:
        values, provenance = label(s)
        out.append(ManifestImage(s, splits.get(s.pid), values, provenance))
    return out


def dataset_protocols(
    ds: DatasetIndex, rand_perm: Any = None
) -> tuple[list[TestProtocol], dict[int, tuple[Sample, ...]]]:
    """Every test protocol of ``ds`` and its per-trial train lists (its kind's
    :meth:`~paenet.data.kind_spec.DatasetKindSpec.dataset_protocols`; ``rand_perm``: the
    official permutations where the kind has them)."""
    return kind_of(ds).dataset_protocols(ds, rand_perm)


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
