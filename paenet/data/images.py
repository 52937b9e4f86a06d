"""Image files under a dataset root: the one set of rules for reading them.

Every reader of pixels (training, validation, ``paenet-eval``, ``paenet-export --check``,
``paenet-data inspect --verify-images``) applies the same rules, named here:

- **inside the root**: a path that resolves (through symbolic links) outside the dataset
  root is refused, as the dataset readers refuse such links when indexing;
- **pixel limit**: an image whose header declares more than :data:`MAX_PIXELS` pixels is
  refused before any pixel is decoded (a 20000×20000 JPEG would cost ~1.2 GB per worker);
- **readable**: a missing, empty or undecodable file is reported with what is wrong.

:func:`header_problem` is the fast check (a ``stat`` and the header: no decode);
:func:`check_image` adds a full decode; :func:`verify_images` runs either over many
files in parallel with a progress bar (45,000 files must not look frozen).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from paenet.data.records import Sample

log = logging.getLogger(__name__)

MAX_PIXELS = 25_000_000
"""Largest image accepted (width × height): 5000×5000. SYSU-MM01's and RegDB's person
images are at most a few hundred pixels on a side; a larger header is a wrong file or a
decompression bomb."""


@dataclass(frozen=True, slots=True)
class BadImage:
    path: Path
    problem: str


def outside_root(path: Path, root: Path) -> Path | None:
    """The resolved target when ``path`` leads outside ``root`` (through a link), else None."""
    target = Path(os.path.realpath(path))
    if target.is_relative_to(os.path.realpath(root)):
        return None
    return target


def pixel_problem(width: int, height: int, max_pixels: int = MAX_PIXELS) -> str | None:
    """What is wrong with an image of ``width`` × ``height`` pixels, or None."""
    if width <= 0 or height <= 0:
        return "image has zero size"
    if width * height > max_pixels:
        return (
            f"image is {width}×{height} pixels, over the limit of {max_pixels:,} "
            "(a person crop is far smaller: a wrong file?)"
        )
    return None


def header_problem(
    path: Path, root: Path | None = None, max_pixels: int = MAX_PIXELS
) -> str | None:
    """None when ``path`` is a non-empty image file inside ``root`` whose header declares
    a size within ``max_pixels``; else what is wrong. Reads the header only (fast)."""
    if root is not None:
        target = outside_root(path, root)
        if target is not None:
            return f"is a symbolic link to {target}, outside the dataset root {root}; refused"
    try:
        if os.stat(path).st_size == 0:
            return "file is empty"
        with Image.open(path) as im:
            width, height = im.size
    except FileNotFoundError:
        return "file is missing"
    except IsADirectoryError:
        return "is a folder, not an image file"
    except Image.DecompressionBombError:
        return f"image is over the limit of {max_pixels:,} pixels"
    except Exception as exc:  # PIL raises many types for a malformed header
        return f"not a decodable image ({type(exc).__name__}: {exc})"
    return pixel_problem(width, height, max_pixels)


def check_image(path: Path, root: Path | None = None, max_pixels: int = MAX_PIXELS) -> str | None:
    """None when ``path`` passes :func:`header_problem` and decodes completely, else what
    is wrong (a truncated JPEG has a valid header: only the decode finds it)."""
    problem = header_problem(path, root, max_pixels)
    if problem is not None:
        return problem
    try:
        with Image.open(path) as im:
            im.load()
    except Exception as exc:  # PIL raises many types for corrupt data
        return f"not a decodable image ({type(exc).__name__}: {exc})"
    return None


def verify_images(
    root: Path,
    samples: Sequence[Sample],
    progress: bool = True,
    workers: int = 4,
    deep: bool = True,
    max_pixels: int = MAX_PIXELS,
) -> list[BadImage]:
    """Check every sample's file under ``root``; return the ones that fail, in order.

    ``deep`` decodes every image (:func:`check_image`); otherwise only the headers are
    read (:func:`header_problem`, about 20× faster). Threads are enough: PIL releases the
    GIL while decoding, and a header read is mostly waiting on the disk."""
    paths = [root / s.path for s in samples]
    check = check_image if deep else header_problem
    bad: list[BadImage] = []
    desc = "verifying images" if deep else "checking image headers"
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=len(paths), desc=desc, unit="img", disable=not progress) as bar,
    ):
        problems = pool.map(lambda p: check(p, root, max_pixels), paths, chunksize=64)
        for path, problem in zip(paths, problems):
            if problem is not None:
                bad.append(BadImage(path, problem))
            bar.update(1)
    log.info("checked %d images (%s), %d bad", len(paths), desc, len(bad))
    return bad
