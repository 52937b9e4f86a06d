"""Training augmentation: padding, the albumentations pipeline, per-image seeds.

Pipeline of a training image (H×W = ``data.input_size``, p = ``data.pad``); decoding,
resizing and normalisation are :mod:`paenet.data.images`' (shared with evaluation):

1. :func:`prepare` of :func:`~paenet.data.images.decode`'s RGB uint8: resize to H×W
   (:func:`~paenet.data.images.resize`) → zero-pad p pixels on every side,
   (H+2p)×(W+2p). The decoded cache stores this.
2. :class:`SeededPipeline` (albumentations): random crop H×W (so, with step 1, the
   paper's "random crop after zero padding") → horizontal flip (p = 0.5) → optional
   channel augmentation (visible images only) → optional random erasing (mean colour)
   → uint8 HWC (``normalize="device"``), or float32 normalised HWC (``"worker"``).
3. :func:`~paenet.data.images.normalize_batch` on the model's device: (B, H, W, 3) → float32 (B, 3, H, W),
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

import random
from typing import Any

import albumentations as A
import cv2
import numpy as np

from paenet.data.images import IMAGENET_MEAN, IMAGENET_STD, resize

#: The mean colour in uint8, the fill of random erasing (normalises to ~0).
MEAN_UINT8: tuple[int, int, int] = (124, 116, 104)
_MASK64 = (1 << 64) - 1


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
