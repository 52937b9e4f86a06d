"""Running a checkpoint's attribute-recognition head over images.

The evaluator's batched inference (:func:`paenet.evaluation.features.infer_batches`:
decode → resize to the checkpoint's input size → ImageNet normalisation on the device,
autocast on CUDA, a progress bar) with the ``backbone`` source, the model's cheapest path
(no PAE): suggestions need only the attribute logits.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from paenet.attributes import NUM_ATTRIBUTES
from paenet.evaluation.features import infer_batches
from paenet.model import modality_tensor
from paenet.model.loading import CheckpointError, TrainedModel, load_trained_model

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
    out: list[np.ndarray] = []
    for result in infer_batches(
        model,
        [im.path for im in images],
        modality_tensor(im.modality for im in images),
        source="backbone",  # the cheapest path: no PAE, the head's logits are the same
        input_size=(size[0], size[1]),
        device=device,
        batch_size=batch_size,
        workers=workers,
        amp=amp,
        progress=progress,
        root=root,
        desc="attribute head",
    ):
        assert result.attribute_logits is not None
        out.append(result.attribute_logits.float().cpu().numpy())
    if not out:
        return np.zeros((0, NUM_ATTRIBUTES), np.float32)
    return np.concatenate(out)
