"""What to synthesize (:class:`SynthConfig`) and what was written (:class:`SynthReport`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paenet.data.kinds import KINDS

LAYOUTS: tuple[str, ...] = KINDS
SCALES: tuple[str, ...] = ("tiny", "small", "full")
GENERATOR_VERSION = "2"
"""Bump whenever the bytes written for a given config change (drawing, structure, names)."""


@dataclass(frozen=True)
class SynthConfig:
    """A stand-in dataset: ``layout`` sysu|regdb, ``scale`` tiny|small|full, appearance ``seed``.

    ``workers`` only changes speed, never the files (default: ``os.cpu_count()``
    processes at full scale, in-process at tiny scale).
    """

    layout: str
    out: Path
    scale: str = "tiny"
    seed: int = 0
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ValueError(f"workers must be a positive int or None, got {self.workers!r}")
        object.__setattr__(self, "out", Path(self.out))

    def identity(self) -> dict[str, object]:
        """What decides the bytes written: a folder is reusable only for the same identity."""
        return {
            "layout": self.layout,
            "scale": self.scale,
            "seed": self.seed,
            "generator_version": GENERATOR_VERSION,
        }


@dataclass(frozen=True)
class SynthReport:
    out: Path
    layout: str
    scale: str
    seed: int
    num_ids: int
    num_images: int
    images_written: int
    """Images rendered by this run (fewer than ``num_images`` when a run is resumed)."""
    seconds: float
    attributes_path: Path
    info_path: Path

    def __str__(self) -> str:
        rate = self.images_written / self.seconds if self.seconds > 0 else float("inf")
        return (
            f"{self.layout} stand-in ({self.scale}, seed {self.seed}) at {self.out}: "
            f"{self.num_ids} ids, {self.num_images} images ({self.images_written} written "
            f"in {self.seconds:.1f} s, {rate:.0f} images/s); attributes: {self.attributes_path}; "
            f"info: {self.info_path}"
        )
