"""Running a checkpoint's attribute-recognition head over images.

Preprocessing is the evaluator's (:mod:`paenet.data.images`: decode → resize to the
checkpoint's input size → ImageNet normalisation on the device), batched, autocast on
CUDA, a progress bar. The model runs through :meth:`PAENet.infer` with the ``backbone``
source, its cheapest path (no PAE): suggestions need only the attribute logits.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from paenet.attributes import NUM_ATTRIBUTES
from paenet.data.images import ResizedImages, normalize_batch
from paenet.model import modality_tensor
from paenet.model.loading import CheckpointError, TrainedModel, load_trained_model
from paenet.runtime import autocast_dtype

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PredictImage:
    """One image to run the head on: its identity, camera, modality and absolute path."""

    pid: int
    camera: int
    modality: str
    path: Path


def load_attribute_model(path: Path | str, device: torch.device | str = "cpu") -> TrainedModel:
    """The checkpoint's model, refused (:class:`CheckpointError`, one line) when it has no
    attribute-recognition head or was trained on another attribute schema."""
    trained = load_trained_model(path, map_location=device)
    if trained.model.attribute_head is None:
        raise CheckpointError(
            f"checkpoint {path} has no attribute-recognition head (model.attribute_head was "
            "false when it was trained): it cannot suggest attributes"
        )
    n = trained.model_config.num_attributes
    keys = trained.config.get("attribute_keys") if isinstance(trained.config, dict) else None
    from paenet.attributes import ATTRIBUTE_KEYS

    if n != NUM_ATTRIBUTES or (keys is not None and tuple(keys) != ATTRIBUTE_KEYS):
        raise CheckpointError(
            f"checkpoint {path} was trained on another attribute schema ({n} attributes"
            f"{f': {list(keys)}' if keys else ''}); this tool's schema is {list(ATTRIBUTE_KEYS)}"
        )
    return trained


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def attribute_logits(
    trained: TrainedModel,
    images: Sequence[PredictImage],
    *,
    root: Path | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    workers: int = 0,
    amp: bool = True,
    progress: bool = True,
) -> np.ndarray:
    """float32 ``[len(images), 8]``: the head's logits of every image, in order. With
    ``root`` (the dataset root), the decoder refuses a path that leads outside it; the
    pixel limit always applies (:func:`paenet.data.images.decode`)."""
    model = trained.model
    assert model.attribute_head is not None  # load_attribute_model refuses a model without one
    device = torch.device(device)
    size = tuple(int(v) for v in trained.config["data"]["input_size"])
    modality = modality_tensor(im.modality for im in images)
    loader = DataLoader(
        ResizedImages([im.path for im in images], (size[0], size[1]), root),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=device.type == "cuda",
    )
    dtype = autocast_dtype(device, "auto" if amp else "off")
    out: list[np.ndarray] = []
    start = 0
    model.eval()
    with torch.inference_mode():
        for batch in tqdm(loader, desc="attribute head", unit="batch", disable=not progress):
            stop = start + batch.shape[0]
            x = normalize_batch(batch, device)
            mod = modality[start:stop].to(device)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=bool(dtype)):
                logits = model.infer(x, mod, "backbone").attribute_logits
            assert logits is not None
            out.append(logits.float().cpu().numpy())
            start = stop
    if not out:
        return np.zeros((0, NUM_ATTRIBUTES), np.float32)
    return np.concatenate(out)
