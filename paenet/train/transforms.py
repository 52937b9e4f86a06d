"""Decoding and augmentation: OpenCV decode, albumentations pipeline, device-side normalise.

Pipeline of a training image (H×W = ``data.input_size``):
decode (cv2, RGB uint8) → resize to H×W (area interpolation) → [the decoded cache stores
this] → zero-pad ``pad`` px on every side and random-crop H×W → horizontal flip (p = 0.5)
→ optional channel augmentation (visible images only) → optional random erasing (mean
colour) → either uint8 HWC (``normalize="device"``: :func:`normalize_batch` finishes on
the model's device) or float32 normalised HWC (``normalize="worker"``).

Every random draw comes from the per-image seed the sampler hands out
(:func:`augment` reseeds the pipeline), so an image's augmentation is reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch
from torch import Tensor

from paenet.train.config import IMAGENET_MEAN, IMAGENET_STD

#: The mean colour in uint8, the fill of random erasing (normalises to 0).
MEAN_UINT8: tuple[int, int, int] = tuple(round(m * 255) for m in IMAGENET_MEAN)  # type: ignore[assignment]


class ImageDecodeError(ValueError):
    """An image file is missing or does not decode."""


def decode(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an image file (3-channel infrared JPEGs and BMPs included)."""
    data = np.fromfile(path, dtype=np.uint8) if Path(path).is_file() else None
    if data is None:
        raise ImageDecodeError(f"image file {path} does not exist")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageDecodeError(
            f"image file {path} is not a decodable image (expected JPEG/BMP/PNG)"
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) uint8 → (H, W, 3) uint8, ``size`` = (H, W)."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


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


def build_pipeline(
    input_size: tuple[int, int],
    pad: int = 10,
    flip: bool = True,
    random_erasing: float = 0.0,
    channel_augmentation: float = 0.0,
    normalize: bool = False,
) -> tuple[A.Compose, A.Compose | None]:
    """(pipeline for infrared images, pipeline for visible ones or None if identical).

    Input: uint8 (H, W, 3) already resized to ``input_size``. Output: uint8 (H, W, 3),
    or float32 normalised with ImageNet statistics when ``normalize``.
    """
    h, w = input_size

    def compose(channel: float) -> A.Compose:
        steps: list[A.BasicTransform] = []
        if pad > 0:
            steps.append(
                A.PadIfNeeded(
                    min_height=h + 2 * pad,
                    min_width=w + 2 * pad,
                    border_mode=cv2.BORDER_CONSTANT,
                    fill=0,
                )
            )
            steps.append(A.RandomCrop(height=h, width=w))
        if flip:
            steps.append(A.HorizontalFlip(p=0.5))
        if channel > 0:
            steps.append(ChannelAugmentation(p=channel))
        if random_erasing > 0:
            steps.append(A.Erasing(p=random_erasing, fill=MEAN_UINT8))
        if normalize:
            steps.append(A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD, max_pixel_value=255.0))
        return A.Compose(steps, seed=0)

    infrared = compose(0.0)
    visible = compose(channel_augmentation) if channel_augmentation > 0 else None
    return infrared, visible


def augment(pipeline: A.Compose, image: np.ndarray, seed: int) -> np.ndarray:
    """Apply ``pipeline`` with every random draw determined by ``seed``."""
    pipeline.set_random_seed(seed)
    return pipeline(image=image)["image"]


def to_chw_tensor(image: np.ndarray) -> Tensor:
    """(H, W, 3) → (3, H, W) tensor, dtype kept (uint8 or float32)."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def normalize_batch(images: Tensor, device: torch.device, channels_last: bool = False) -> Tensor:
    """uint8 (B, 3, H, W) → float32 normalised on ``device`` (float input only moves)."""
    images = images.to(device, non_blocking=True)
    if images.dtype == torch.uint8:
        mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255.0
        images = (images.float() - mean) / std
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images
