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

Pixels for a model (training, validation, ``paenet-eval``, ``paenet-predict``):
:func:`decode` (RGB uint8, the rules above checked first) → :func:`resize` to the
model's input size → :func:`normalize_batch` on the model's device (ImageNet
statistics). :class:`ResizedImages` is the first two over a list of files, for a
``DataLoader``. torch is imported only by the last two (the command lines import this
module before parsing their arguments).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import simplejpeg
from PIL import Image
from tqdm import tqdm

from paenet.data.records import Sample

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: OpenCV >= 4.10 decodes straight to RGB (saves a colour conversion per image).
_IMREAD_RGB: int | None = getattr(cv2, "IMREAD_COLOR_RGB", None)
_JPEG_MAGIC = b"\xff\xd8"

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


# ------------------------------------------------------------------ pixels for a model
class ImageDecodeError(ValueError):
    """An image file is missing, does not decode, or breaks a rule of this module (a
    link outside the dataset root, over the pixel limit)."""


@functools.lru_cache(maxsize=16)
def _real_root(root: Path) -> str:
    """The dataset root resolved once per process (a ``realpath`` costs ~15 µs)."""
    return os.path.realpath(root)


def _outside(path: Path, root: Path) -> str | None:
    """:func:`outside_root`'s rule with the root resolved once: the resolved target when
    ``path`` leads outside ``root``, else None."""
    target = os.path.realpath(path)
    real_root = _real_root(root)
    if target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    return target


def header_size(raw: bytes) -> tuple[int, int] | None:
    """(width, height) that an encoded image's header declares, or None when no header
    reader understands it. Reads no pixel (JPEG: libjpeg-turbo's header parse, ~1 µs;
    other formats: PIL's header parse, ~10 µs)."""
    if raw[:2] == _JPEG_MAGIC:
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(raw)
            return width, height
        except ValueError:
            pass  # PIL may still read it
    try:
        with Image.open(io.BytesIO(raw)) as im:
            return im.size
    except Image.DecompressionBombError:
        return sys.maxsize, 1  # PIL's own limit (~179 Mpx) is far above ours
    except Exception:  # PIL raises many types for a malformed header
        return None


def decode(path: Path, root: Path | None = None, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an image file (3-channel infrared JPEGs and BMPs included).

    The rules of this module hold before any pixel is decoded: with ``root``, a path
    that resolves (through links) outside it is refused; an image whose header declares
    more than ``max_pixels`` pixels, or that no header reader understands, is refused.
    JPEGs go through libjpeg-turbo directly (``simplejpeg``: about 70 µs less per
    256×128 file than ``cv2.imdecode`` here, see ``benchmarks/bench_input.py``); other
    formats, and any JPEG it cannot read, through OpenCV.

    Raises:
        ImageDecodeError: naming the file and what is wrong with it.
    """
    if root is not None:
        target = _outside(path, root)
        if target is not None:
            raise ImageDecodeError(
                f"image file {path} is a symbolic link to {target}, outside the dataset "
                f"root {root}; refused"
            )
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ImageDecodeError(f"image file {path} does not exist") from None
    if not raw:
        raise ImageDecodeError(f"image file {path} is empty (expected JPEG/BMP/PNG)")
    size = header_size(raw)
    if size is None:
        raise ImageDecodeError(
            f"image file {path} is not a decodable image (expected JPEG/BMP/PNG)"
        )
    problem = pixel_problem(*size, max_pixels=max_pixels)
    if problem is not None:
        raise ImageDecodeError(f"image file {path}: {problem}; refused before decoding")
    if raw[:2] == _JPEG_MAGIC:
        try:
            return simplejpeg.decode_jpeg(raw, colorspace="RGB")
        except ValueError:
            pass  # e.g. an unusual colour space or a truncated file: OpenCV decides
    image = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), _IMREAD_RGB or cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageDecodeError(
            f"image file {path} is not a decodable image (expected JPEG/BMP/PNG)"
        )
    return image if _IMREAD_RGB else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) uint8 → (H, W, 3) uint8, ``size`` = (H, W): area interpolation when
    shrinking (anti-aliased), bilinear when enlarging (area equals it there, slower)."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    shrink = image.shape[0] > h or image.shape[1] > w
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def normalize_batch(
    images: torch.Tensor, device: torch.device, channels_last: bool = False
) -> torch.Tensor:
    """(B, H, W, 3) uint8 (or already normalised float32) → float32 (B, 3, H, W) on
    ``device``, ImageNet-normalised, channels-last memory when ``channels_last``."""
    import torch

    if images.dim() != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be (B, H, W, 3), got {tuple(images.shape)}")
    images = images.to(device, non_blocking=True)
    if images.dtype == torch.uint8:
        mean = torch.tensor(IMAGENET_MEAN, device=device) * 255.0
        std = torch.tensor(IMAGENET_STD, device=device) * 255.0
        images = (images.float() - mean) / std
    images = images.permute(0, 3, 1, 2)  # a channels-last view of the NHWC data
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return images.contiguous(memory_format=fmt)


class ResizedImages:
    """Image files decoded (:func:`decode`, under ``root``) and resized to ``size``: a
    map-style dataset for a ``DataLoader``, what the evaluator (validation included) and
    ``paenet-predict`` run the model over."""

    def __init__(self, paths: Sequence[Path], size: tuple[int, int], root: Path | None):
        self.paths = list(paths)
        self.size = size
        self.root = root

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        """(H, W, 3) uint8, as the trainer's loader yields it (normalised on the device)."""
        import torch

        return torch.from_numpy(
            np.ascontiguousarray(resize(decode(self.paths[i], self.root), self.size))
        )
