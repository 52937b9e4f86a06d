"""The typed records the services return (no database access here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType


@dataclass(frozen=True)
class DatasetInfo:
    id: int
    name: str
    kind: str
    root: str
    registered_at: datetime
    identities: int
    images: int


@dataclass(frozen=True)
class ImageInfo:
    id: int
    path: str
    camera: int
    modality: str


@dataclass(frozen=True)
class IdentityView:
    """One identity with its images by camera and every source's labels.

    ``labels[source][(attribute, camera)] = value`` (camera 0 = identity-wide);
    ``decisions[(attribute, camera)] = value``.
    """

    dataset: str
    dataset_root: str
    pid: int
    split: str | None
    """SYSU: train, val or test; None where the identity has no fixed split (RegDB)."""
    version: int
    reviewed: bool
    images: Mapping[int, tuple[ImageInfo, ...]]
    labels: Mapping[str, Mapping[tuple[str, int], int]]
    decisions: Mapping[tuple[str, int], int] = field(default_factory=lambda: MappingProxyType({}))

    def label(self, source: str, attribute: str, camera: int = 0) -> int | None:
        return self.labels.get(source, {}).get((attribute, camera))
