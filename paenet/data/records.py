"""Typed records shared by readers, protocols, manifests and the annotator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType


class Modality(StrEnum):
    """Image modality. The string value is what records, files and the database hold;
    :attr:`model_index` is the integer the network reads in its ``modality`` tensor
    (visible = 0, infrared = 1; the only mapping between the two, see
    :meth:`from_model_index`)."""

    VISIBLE = "visible"
    INFRARED = "infrared"

    @property
    def model_index(self) -> int:
        """The model's integer code: 0 for visible, 1 for infrared."""
        return _MODEL_INDEX[self]

    @classmethod
    def from_model_index(cls, index: int) -> Modality:
        """The modality whose :attr:`model_index` is ``index`` (0 or 1)."""
        for modality, code in _MODEL_INDEX.items():
            if code == index:
                return modality
        raise ValueError(
            f"modality index must be one of {sorted(_MODEL_INDEX.values())}, got {index!r}"
        )


_MODEL_INDEX: Mapping[Modality, int] = MappingProxyType({Modality.VISIBLE: 0, Modality.INFRARED: 1})


class Location(StrEnum):
    INDOOR = "indoor"
    OUTDOOR = "outdoor"


@dataclass(frozen=True, slots=True)
class Camera:
    """Static facts about one camera of a dataset."""

    id: int
    modality: Modality
    location: Location
    room: str | None = None
    """Physical place; cameras sharing a room see the same background."""


@dataclass(frozen=True, slots=True, order=True)
class Sample:
    """One image: where it is and who/where it shows.

    ``path`` is relative to the dataset root, with ``/`` separators, so records
    stay valid when a dataset moves; ids and camera come from path parts.
    """

    path: PurePosixPath
    pid: int
    camera: int
    modality: Modality


@dataclass(frozen=True)
class DatasetIndex:
    """Every image of a dataset root as records, sorted by (pid, camera, file)."""

    root: Path
    samples: tuple[Sample, ...]

    @cached_property
    def _by_pid(self) -> Mapping[int, tuple[Sample, ...]]:
        grouped: dict[int, list[Sample]] = {}
        for s in self.samples:
            grouped.setdefault(s.pid, []).append(s)
        return MappingProxyType({pid: tuple(v) for pid, v in sorted(grouped.items())})

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(self._by_pid)

    def samples_of(self, pid: int) -> tuple[Sample, ...]:
        return self._by_pid.get(pid, ())
