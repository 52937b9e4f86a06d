"""Typed records shared by readers, protocols, manifests and the annotator."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath


class Modality(StrEnum):
    VISIBLE = "visible"
    INFRARED = "infrared"


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
