"""Test-time features: each image decoded and run through the model once, then reused.

Preprocessing is the trainer's, minus augmentation (:mod:`paenet.data.images`): decode
(RGB; a path that leads outside the dataset root, or an image over the pixel limit, is
refused) → resize to the checkpoint's ``data.input_size`` (area interpolation) →
ImageNet normalisation on the model's device. The model is read through its one public
inference call, :meth:`PAENet.infer <paenet.model.PAENet.infer>` (retrieval feature and
attribute logits). Features are L2-normalised float32, so ``-q·g`` orders like the
Euclidean distance. Batched, autocast (bf16/fp16, :func:`paenet.runtime.autocast_dtype`)
on CUDA, a tqdm progress bar. Used by ``paenet-eval`` and by validation while training.

Attribute sources (what the retrieval feature is computed from):

- ``predicted``: the attribute head's probabilities (what a deployment can run);
- ``gt``: the manifest's labels of each image (the paper's protocol; needs them known);
- ``backbone`` (alias ``none``): no attributes, the pooled backbone feature. With PAE
  this is not the feature the model was trained to retrieve with, and it is not the
  baseline (a model trained without PAE).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from paenet.data.images import ResizedImages, normalize_batch
from paenet.data.records import Sample
from paenet.model import Inference, PAENet, modality_tensor
from paenet.model import config as model_config
from paenet.runtime import autocast_dtype

log = logging.getLogger(__name__)

canonical_source = model_config.resolve_attribute_source
"""``predicted``, ``gt`` or ``backbone`` (``none`` is an alias of ``backbone``)."""


@dataclass(frozen=True)
class FeatureBank:
    """One feature per image, rows in ``samples`` order."""

    samples: tuple[Sample, ...]
    features: np.ndarray
    """float32 ``[N, D]``, L2-normalised."""
    attribute_logits: np.ndarray | None
    """float32 ``[N, n]`` of the attribute head, or None when the model has no head."""
    source: str

    @cached_property
    def _row(self) -> dict[PurePosixPath, int]:
        return {s.path: i for i, s in enumerate(self.samples)}

    def rows(self, samples: Sequence[Sample]) -> np.ndarray:
        """int64 row of each sample (KeyError naming the first unknown path)."""
        try:
            return np.fromiter((self._row[s.path] for s in samples), np.int64, len(samples))
        except KeyError as exc:
            raise KeyError(f"no feature was extracted for image {exc.args[0]}") from None

    def rows_of_paths(self, paths: Sequence[PurePosixPath]) -> np.ndarray:
        try:
            return np.fromiter((self._row[p] for p in paths), np.int64, len(paths))
        except KeyError as exc:
            raise KeyError(f"no feature was extracted for image {exc.args[0]}") from None

    def distances(self, query: Sequence[Sample], gallery: Sequence[Sample]) -> np.ndarray:
        """float32 ``[len(query), len(gallery)]`` = ``-q·g`` (smaller = closer)."""
        q = self.features[self.rows(query)]
        g = self.features[self.rows(gallery)]
        return -(q @ g.T)


def infer_batches(
    model: PAENet,
    paths: Sequence[Path],
    modality: torch.Tensor,
    *,
    source: str,
    input_size: tuple[int, int],
    attributes: torch.Tensor | None = None,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
    root: Path | None = None,
    desc: str = "features",
) -> Iterator[Inference]:
    """:meth:`PAENet.infer` over image files in batches, in order, in eval mode under
    ``inference_mode``: decode and resize in the loader (``workers`` processes), normalise
    on ``device``, autocast on CUDA with ``amp``. Yields each batch's output (inference
    tensors on ``device``, in the autocast dtype): what ``paenet-eval``, validation and
    ``paenet-predict`` run.

    Args:
        modality: int64 ``[N]`` (:func:`paenet.model.modality_tensor`).
        attributes: float ``[N, n]`` fed to the model (the ``gt`` source), else None.
    """
    loader = DataLoader(
        ResizedImages(paths, tuple(input_size), root),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=device.type == "cuda",
    )
    dtype = autocast_dtype(device, "auto" if amp else "off")
    model.eval()
    start = 0
    for images in tqdm(loader, desc=desc, unit="batch", disable=not progress):
        stop = start + images.shape[0]
        # the modes are entered per batch: none is left on while the caller runs
        with torch.inference_mode():
            x = normalize_batch(images, device)
            mod = modality[start:stop].to(device)
            attrs = attributes[start:stop].to(device) if attributes is not None else None
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=bool(dtype)):
                out = model.infer(x, mod, source, attrs)  # type: ignore[arg-type]
        yield out
        start = stop


def extract_bank(
    model: PAENet,
    samples: Sequence[Sample],
    paths: Sequence[Path],
    *,
    source: str,
    input_size: tuple[int, int],
    attributes: np.ndarray | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
    root: Path | None = None,
) -> FeatureBank:
    """Run ``model`` once over every image (:func:`infer_batches`); leaves it in eval mode.

    Args:
        samples, paths: the images (records and absolute files), same order, no repeats.
        source: see the module docstring; ``gt`` needs ``attributes`` (int ``[N, n]``).
        input_size: (H, W) the model was trained at.
        amp: autocast on CUDA (bf16 where supported, else fp16); ignored on the CPU.
        root: the dataset root; a path that resolves outside it is refused
            (:class:`paenet.data.images.ImageDecodeError`). None: not checked.
    """
    source = canonical_source(source)
    if len(samples) != len(paths):
        raise ValueError(f"{len(samples)} samples but {len(paths)} paths")
    if source == "gt" and (attributes is None or len(attributes) != len(samples)):
        raise ValueError("attribute source 'gt' needs one attribute row per image")
    gt = None
    if source == "gt" and attributes is not None:
        gt = torch.as_tensor(np.asarray(attributes), dtype=torch.float32)
    feats: list[np.ndarray] = []
    logits: list[np.ndarray] = []
    for out in infer_batches(
        model,
        paths,
        modality_tensor(s.modality for s in samples),
        source=source,
        input_size=input_size,
        attributes=gt,
        device=torch.device(device),
        batch_size=batch_size,
        workers=workers,
        amp=amp,
        progress=progress,
        root=root,
        desc=f"features ({source})",
    ):
        if out.attribute_logits is not None:
            logits.append(out.attribute_logits.float().cpu().numpy())
        f = torch.nn.functional.normalize(out.retrieval.float(), dim=1)
        feats.append(f.cpu().numpy())
    dim = model.feature_dim
    return FeatureBank(
        samples=tuple(samples),
        features=np.concatenate(feats) if feats else np.zeros((0, dim), np.float32),
        attribute_logits=np.concatenate(logits) if logits else None,
        source=source,
    )
