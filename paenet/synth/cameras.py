"""How each camera of the stand-in sees: sensor, place, frame size, light and optics.

SYSU-MM01 cameras follow :data:`paenet.data.sysu.CAMERAS` (cam2 and cam3 share
room2, so they share a scene); RegDB's visible/thermal pair is co-located. Sizes
are person-crop sized (SYSU frames vary per camera and jitter per image; RegDB
images are 64×128 like the real ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from paenet.data import regdb, sysu
from paenet.data.records import Camera, Modality


@dataclass(frozen=True, slots=True)
class CameraLook:
    key: str
    sensor: str
    """``visible``, ``nir`` (active near-infrared) or ``thermal``."""
    scene: str
    size: tuple[int, int]
    """Nominal (width, height) in pixels."""
    size_jitter: float
    """Relative per-image size change, uniform in ±size_jitter (0: fixed size)."""
    gain: float
    white_balance: tuple[float, float, float]
    blur: tuple[float, float]
    """Gaussian blur radius range in pixels."""
    noise: float
    """Standard deviation of the sensor noise, 0..1 scale."""
    contrast: tuple[float, float]
    """Output range that the 0..1 intensities are compressed into (IR is low-contrast)."""
    fill: tuple[float, float]
    """Fraction of the frame height the person fills."""


def _room(cameras: Mapping[int, Camera], cam: int) -> str:
    """Scenes are named after the camera's place in the dataset facts (one source of truth)."""
    room = cameras[cam].room
    if room is None:
        raise AssertionError(f"camera {cam} has no room: no scene to draw")
    return room


SYSU_LOOKS: Mapping[int, CameraLook] = MappingProxyType(
    {
        1: CameraLook(
            "sysu-cam1", "visible", _room(sysu.CAMERAS, 1), (84, 176), 0.1, 1.0, (1.0, 1.03, 0.95),
            (0.5, 0.8), 0.012, (0.0, 1.0), (0.80, 0.94),
        ),
        2: CameraLook(
            "sysu-cam2", "visible", _room(sysu.CAMERAS, 2), (88, 184), 0.1, 0.95, (0.95, 1.0, 1.06),
            (0.5, 0.8), 0.012, (0.0, 1.0), (0.80, 0.94),
        ),
        3: CameraLook(
            "sysu-cam3", "nir", _room(sysu.CAMERAS, 3), (76, 168), 0.1, 1.0, (1.0, 1.0, 1.0),
            (0.9, 1.3), 0.03, (0.28, 0.95), (0.82, 0.95),
        ),
        4: CameraLook(
            "sysu-cam4", "visible", _room(sysu.CAMERAS, 4), (72, 160), 0.12, 1.1, (1.04, 1.0, 0.95),
            (0.6, 0.9), 0.015, (0.0, 1.0), (0.78, 0.93),
        ),
        5: CameraLook(
            "sysu-cam5", "visible", _room(sysu.CAMERAS, 5), (80, 172), 0.12, 0.88, (0.97, 1.02, 0.97),
            (0.6, 0.9), 0.015, (0.0, 1.0), (0.78, 0.93),
        ),
        6: CameraLook(
            "sysu-cam6", "nir", _room(sysu.CAMERAS, 6), (68, 152), 0.12, 1.05, (1.0, 1.0, 1.0),
            (1.0, 1.4), 0.035, (0.18, 0.95), (0.80, 0.94),
        ),
    }
)  # fmt: skip
"""Keyed by SYSU camera id; the sensor matches the camera's modality in ``paenet.data.sysu``."""

REGDB_LOOKS: Mapping[Modality, CameraLook] = MappingProxyType(
    {
        Modality.VISIBLE: CameraLook(
            "regdb-visible", "visible", _room(regdb.CAMERAS, 1), (64, 128), 0.0, 1.0, (1.0, 1.0, 1.0),
            (0.5, 0.8), 0.015, (0.0, 1.0), (0.84, 0.95),
        ),
        Modality.INFRARED: CameraLook(
            "regdb-thermal", "thermal", _room(regdb.CAMERAS, 2), (64, 128), 0.0, 1.0, (1.0, 1.0, 1.0),
            (1.0, 1.4), 0.025, (0.05, 0.92), (0.84, 0.95),
        ),
    }
)  # fmt: skip


def _check() -> None:
    for cam, look in SYSU_LOOKS.items():
        infrared = sysu.CAMERAS[cam].modality is Modality.INFRARED
        if infrared != (look.sensor != "visible"):
            raise AssertionError(f"SYSU cam{cam}: sensor {look.sensor} contradicts its modality")
    if set(REGDB_LOOKS) != set(regdb.MODALITY_DIRS):
        raise AssertionError("RegDB looks must cover both modalities")


_check()
