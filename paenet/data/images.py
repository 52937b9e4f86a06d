"""Checking that image files decode, with a progress bar (45,000 files must not look frozen)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from paenet.data.records import Sample

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BadImage:
    path: Path
    problem: str


def check_image(path: Path) -> str | None:
    """None when ``path`` decodes to a non-empty image, else what is wrong."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.width == 0 or im.height == 0:
                return "image has zero size"
    except FileNotFoundError:
        return "file is missing"
    except Exception as exc:  # PIL raises many types for corrupt data
        return f"not a decodable image ({type(exc).__name__}: {exc})"
    return None


def verify_images(
    root: Path, samples: Sequence[Sample], progress: bool = True, workers: int = 4
) -> list[BadImage]:
    """Decode every sample's file under ``root``; return the ones that fail.

    Threads are enough: PIL releases the GIL while decoding.
    """
    paths = [root / s.path for s in samples]
    bad: list[BadImage] = []
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=len(paths), desc="verifying images", unit="img", disable=not progress) as bar,
    ):
        for path, problem in zip(paths, pool.map(check_image, paths, chunksize=64)):
            if problem is not None:
                bad.append(BadImage(path, problem))
            bar.update(1)
    log.info("verified %d images, %d bad", len(paths), len(bad))
    return bad
