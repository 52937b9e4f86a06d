"""Decoding and augmentation: OpenCV decode, albumentations pipeline, device-side normalise.

Pipeline of a training image (H×W = ``data.input_size``, p = ``data.pad``):

1. :func:`prepare`: decode (cv2, RGB uint8) → resize to H×W (:func:`resize`) →
   zero-pad p pixels on every side, (H+2p)×(W+2p). The decoded cache stores this.
2. :class:`SeededPipeline` (albumentations): random crop H×W (so, with step 1, the
   paper's "random crop after zero padding") → horizontal flip (p = 0.5) → optional
   channel augmentation (visible images only) → optional random erasing (mean colour)
   → uint8 HWC (``normalize="device"``), or float32 normalised HWC (``"worker"``).
3. :func:`normalize_batch` on the model's device: (B, H, W, 3) → float32 (B, 3, H, W),
   ImageNet mean/std (uint8 input), channels-last memory when asked.

The zero padding happens in step 1 with one cv2 call rather than in albumentations
(whose padding costs ~5× the crop); the result is the same. Images stay HWC until the
device: a (B, H, W, 3) batch permuted to (B, 3, H, W) *is* channels-last memory, so no
CPU transpose is ever needed.

Every random draw comes from the per-image seed the sampler hands out: the pipeline's
generators are reseeded in place for each image, so an image's augmentation is a
function of its seed alone (any worker, any resume).
"""

from __future__ import annotations

import functools
import io
import os
import random
import sys
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import simplejpeg
import torch
from PIL import Image
from torch import Tensor

from paenet.data.images import MAX_PIXELS, pixel_problem
from paenet.train.config import IMAGENET_MEAN, IMAGENET_STD

#: The mean colour in uint8, the fill of random erasing (normalises to ~0).
MEAN_UINT8: tuple[int, int, int] = (124, 116, 104)
_MASK64 = (1 << 64) - 1
#: OpenCV >= 4.10 decodes straight to RGB (saves a colour conversion per image).
_IMREAD_RGB: int | None = getattr(cv2, "IMREAD_COLOR_RGB", None)
_JPEG_MAGIC = b"\xff\xd8"


class ImageDecodeError(ValueError):
    """An image file is missing, does not decode, or breaks a rule of
    :mod:`paenet.data.images` (a link outside the dataset root, over the pixel limit)."""


@functools.lru_cache(maxsize=16)
def _real_root(root: Path) -> str:
    """The dataset root resolved once per process (a ``realpath`` costs ~15 µs)."""
    return os.path.realpath(root)


def _outside(path: Path, root: Path) -> str | None:
    """:func:`paenet.data.images.outside_root`'s rule with the root resolved once: the
    resolved target when ``path`` leads outside ``root``, else None."""
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

    The rules of :mod:`paenet.data.images` hold before any pixel is decoded: with
    ``root``, a path that resolves (through links) outside it is refused; an image
    whose header declares more than ``max_pixels`` pixels, or that no header reader
    understands, is refused. JPEGs go through libjpeg-turbo directly (``simplejpeg``:
    about 70 µs less per 256×128 file than ``cv2.imdecode`` here, see
    ``benchmarks/bench_input.py``); other formats, and any JPEG it cannot read, through
    OpenCV.

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


def prepare(image: np.ndarray, size: tuple[int, int], pad: int) -> np.ndarray:
    """Resize to ``size`` and zero-pad ``pad`` px per side: (H + 2·pad, W + 2·pad, 3)."""
    image = resize(image, size)
    if pad == 0:
        return image
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))


class ChannelAugmentation(A.ImageOnlyTransform):
    """Channel augmentation for visible images: the image becomes one of its R, G, B
    channels, or its grey level, repeated three times (one of four, uniformly), which
    brings visible images towards single-channel infrared ones."""

    def __init__(self, p: float = 0.5):
        super().__init__(p=p)

    def get_params(self) -> dict[str, Any]:
        return {"choice": self.py_random.randint(0, 3)}

    def apply(self, img: np.ndarray, choice: int = 0, **params: Any) -> np.ndarray:
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if choice == 3 else img[..., choice]
        return np.repeat(grey[..., None], 3, axis=2)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ()


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class SeededPipeline:
    """An albumentations ``Compose`` whose every draw is a function of a per-call seed.

    The numpy and Python generators are created once and shared by all transforms;
    each call reseeds them in place (a fraction of the cost of
    ``Compose.set_random_seed``, which builds new generators for every transform).
    """

    def __init__(self, compose: A.Compose):
        self.compose = compose
        self._py = random.Random(0)
        self._np = np.random.Generator(np.random.PCG64(0))
        self._inc = self._np.bit_generator.state["state"]["inc"]
        compose.set_random_state(self._np, self._py)

    def __call__(self, image: np.ndarray, seed: int) -> np.ndarray:
        self._py.seed(seed)
        state = (_splitmix64(seed) << 64) | _splitmix64(seed ^ 0x5DEECE66D)
        self._np.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": state, "inc": self._inc},
            "has_uint32": 0,
            "uinteger": 0,
        }
        return self.compose(image=image)["image"]


def build_pipeline(
    input_size: tuple[int, int],
    pad: int = 10,
    flip: bool = True,
    random_erasing: float = 0.0,
    channel_augmentation: float = 0.0,
    normalize: bool = False,
) -> tuple[SeededPipeline, SeededPipeline | None]:
    """(pipeline for infrared images, pipeline for visible ones or None if identical).

    Input: :func:`prepare`'s (H + 2·pad, W + 2·pad, 3) uint8. Output: uint8 (H, W, 3),
    or float32 normalised with ImageNet statistics when ``normalize``.
    """
    h, w = input_size

    def compose(channel: float) -> SeededPipeline:
        steps: list[A.BasicTransform] = []
        if pad > 0:
            steps.append(A.RandomCrop(height=h, width=w))
        if flip:
            steps.append(A.HorizontalFlip(p=0.5))
        if channel > 0:
            steps.append(ChannelAugmentation(p=channel))
        if random_erasing > 0:
            steps.append(A.Erasing(p=random_erasing, fill=MEAN_UINT8))
        if normalize:
            steps.append(A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD, max_pixel_value=255.0))
        # Shapes are fixed by construction: skip albumentations' per-call shape checks.
        return SeededPipeline(A.Compose(steps, seed=0, is_check_shapes=False, strict=False))

    infrared = compose(0.0)
    visible = compose(channel_augmentation) if channel_augmentation > 0 else None
    return infrared, visible


def augment(pipeline: SeededPipeline, image: np.ndarray, seed: int) -> np.ndarray:
    """Apply ``pipeline`` with every random draw determined by ``seed``."""
    return pipeline(image, seed)


def normalize_batch(images: Tensor, device: torch.device, channels_last: bool = False) -> Tensor:
    """(B, H, W, 3) uint8 (or already normalised float32) → float32 (B, 3, H, W) on
    ``device``, ImageNet-normalised, channels-last memory when ``channels_last``."""
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
