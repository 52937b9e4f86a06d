"""Model selection on a validation split (never the test split).

With ``data.val_split`` (SYSU-MM01 ``val`` when training on ``train`` only), after each
epoch rank 0 scores the model on that split: every infrared image is a query, every
visible image of the split is the gallery (all-search, no sampling), the SYSU
same-room rule (cam3 queries skip cam2) applies, unique-identity CMC. The score is the
mAP; the best epoch is saved as ``checkpoints/best.pt``. Features come from
``data.val_attribute_source`` (``predicted`` by default: what a deployment can use);
the features and the ranking are ``paenet-eval``'s own (:mod:`paenet.evaluation`).
Every ``data.val_every`` epochs (and after the last); the scores (``val/rank1``,
``val/mAP``, …, and ``val/attribute_balanced_accuracy``, the attribute head's mean
balanced accuracy on the split's known labels) go to metrics.jsonl, TensorBoard and
``plots/validation.png``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch

from paenet.data.protocol import TestProtocol
from paenet.data.records import Modality
from paenet.evaluation import RetrievalMetrics
from paenet.evaluation.attribute_quality import attribute_quality
from paenet.evaluation.features import extract_bank
from paenet.evaluation.runner import evaluate_protocols
from paenet.model import PAENet


@dataclass(frozen=True)
class ValidationSet:
    protocol: TestProtocol
    paths: tuple[Path, ...]
    """Query paths then gallery paths."""
    attributes: np.ndarray
    attribute_keys: tuple[str, ...] = ()
    root: Path | None = None
    """The dataset root the decoder keeps every path inside (None: unchecked)."""


def validation_set(
    manifest: Any, split: str, exclude: Collection[PurePosixPath] = frozenset()
) -> ValidationSet:
    """The IR → visible all-search protocol of a SYSU split's images, less the images
    at ``exclude`` (manifest paths of unreadable files)."""
    images = [im for im in manifest.images if im.split == split and im.sample.path not in exclude]
    if not images:
        raise ValueError(f"manifest {manifest.directory} has no images in split {split!r}")
    query = [im for im in images if Modality(im.sample.modality) == Modality.INFRARED]
    gallery = [im for im in images if Modality(im.sample.modality) == Modality.VISIBLE]
    ordered = query + gallery
    protocol = manifest.kind_spec.validation_protocol(
        [im.sample for im in query], [im.sample for im in gallery], split
    )
    return ValidationSet(
        protocol=protocol,
        paths=tuple(manifest.image_path(im) for im in ordered),
        attributes=manifest.attributes_of([im.sample for im in ordered]),
        attribute_keys=tuple(manifest.attribute_keys),
        root=manifest.root,
    )


@dataclass(frozen=True)
class ValidationScores:
    retrieval: RetrievalMetrics
    attribute_balanced_accuracy: float | None
    """Mean over attributes; ``None`` without an attribute head or known labels."""

    def as_dict(self) -> dict[str, float]:
        out = {f"val/{k}": float(v) for k, v in self.retrieval.as_dict().items()}
        if self.attribute_balanced_accuracy is not None:
            out["val/attribute_balanced_accuracy"] = self.attribute_balanced_accuracy
        return out


def evaluate(
    model: PAENet, val: ValidationSet, size: tuple[int, int], device: torch.device, source: str
) -> ValidationScores:
    """Score ``model`` on ``val`` with the evaluator of ``paenet-eval``
    (:func:`~paenet.evaluation.features.extract_bank`, then :func:`evaluate_protocols`):
    full precision, batches of 64, no progress bar; ``model``'s train/eval mode is kept."""
    was_training = model.training
    try:
        bank = extract_bank(
            model,
            (*val.protocol.query, *val.protocol.gallery),
            val.paths,
            source=source,
            input_size=size,
            attributes=val.attributes,
            device=device,
            amp=False,
            progress=False,
            root=val.root,
        )
    finally:
        model.train(was_training)
    (result,) = evaluate_protocols(bank, [val.protocol])
    balanced = None
    if bank.attribute_logits is not None:
        logits = bank.attribute_logits
        keys = val.attribute_keys or tuple(f"a{i}" for i in range(logits.shape[1]))
        balanced = attribute_quality(logits, val.attributes, keys).mean_balanced_accuracy
    return ValidationScores(result.metrics, balanced)
