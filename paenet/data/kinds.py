"""The registry of dataset kinds: every kind object by name, and the tables read from it.

Each kind is one :class:`~paenet.data.kind_spec.DatasetKindSpec` object
(:class:`~paenet.data.sysu_kind.SysuKind`, :class:`~paenet.data.regdb_kind.RegdbKind`),
registered below by an explicit :func:`register_kind` call, as fast-reid registers its
datasets. Code that needs a kind-specific answer asks :func:`kind_spec` for the object
and calls it; everything that offers a choice of kind (CLIs, the annotator, the
generator) or maps a kind to its layout reads the tables here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from paenet.data.kind_spec import DatasetKindSpec
from paenet.data.records import Camera, DatasetIndex
from paenet.data.regdb_kind import RegdbKind
from paenet.data.sysu_kind import SysuKind

_REGISTRY: dict[str, DatasetKindSpec] = {}


def register_kind(spec: DatasetKindSpec) -> DatasetKindSpec:
    """Add a kind object to the registry under ``spec.name`` (once per name)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"dataset kind {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


register_kind(SysuKind())
register_kind(RegdbKind())

KINDS: tuple[str, ...] = tuple(_REGISTRY)
"""The kind names, in registration order, for ``argparse`` choices and select boxes."""

DatasetKind = StrEnum("DatasetKind", [(name.upper(), name) for name in KINDS])  # type: ignore[misc]
"""The kind names as an enum (``DatasetKind.SYSU == "sysu"``)."""


def kind_spec(kind: str) -> DatasetKindSpec:
    """The kind object named ``kind``; ValueError naming the known kinds otherwise."""
    try:
        return _REGISTRY[str(kind)]
    except KeyError:
        raise ValueError(f"dataset kind must be one of {list(KINDS)}, got {kind!r}") from None


def kind_specs() -> tuple[DatasetKindSpec, ...]:
    """Every registered kind object, in registration order."""
    return tuple(_REGISTRY.values())


def kind_of(ds: DatasetIndex) -> DatasetKindSpec:
    """The kind object of an indexed root (by its reader's ``name``)."""
    return kind_spec(getattr(ds, "name", type(ds).__name__))


FOLDERS: Mapping[DatasetKind, str] = MappingProxyType(
    {DatasetKind(s.name): s.folder for s in kind_specs()}
)
"""The folder each layout lives in under a data root (``datasets/SYSU-MM01`` …)."""

CAMERAS: Mapping[DatasetKind, Mapping[int, Camera]] = MappingProxyType(
    {DatasetKind(s.name): s.cameras for s in kind_specs()}
)


def identity_split(kind: str, split: str) -> StrEnum:
    """Validate an identity split of a dataset of ``kind``; ValueError naming the choices."""
    split_type = kind_spec(kind).identity_split_type
    if split_type is None:
        raise ValueError(f"{kind} identities have no split (its splits are per trial)")
    try:
        return split_type(split)
    except ValueError:
        choices = [s.value for s in split_type]
        raise ValueError(f"{kind} split must be one of {choices}, got {split!r}") from None


def identity_splits(kind: str) -> tuple[str, ...]:
    """The identity split names of ``kind`` in order (none for RegDB)."""
    split_type = kind_spec(kind).identity_split_type
    return () if split_type is None else tuple(s.value for s in split_type)


def read_dataset(kind: str, root: Path | str) -> DatasetIndex:
    """Index a root of the given kind with its reader."""
    return kind_spec(kind).read(root)
