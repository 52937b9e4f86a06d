"""Model selection on a validation split (never the test split).

With ``data.val_split`` (SYSU-MM01 ``val`` when training on ``train`` only), after each
epoch rank 0 scores the model on that split: every infrared image is a query, every
visible image of the split is the gallery (all-search, no sampling), the SYSU
same-room rule (cam3 queries skip cam2) applies, unique-identity CMC. The score is the
mAP; the best epoch is saved as ``checkpoints/best.pt``. Features come from
``data.val_attribute_source`` (``predicted`` by default: what a deployment can use).
Every ``data.val_every`` epochs (and after the last); the scores (``val/rank1``,
``val/mAP``, …, and ``val/attribute_balanced_accuracy``, the attribute head's mean
balanced accuracy on the split's known labels) go to metrics.jsonl, TensorBoard and
``plots/validation.png``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Modality
from paenet.evaluation import RetrievalMetrics, evaluate_distances
from paenet.evaluation.attribute_quality import attribute_quality
from paenet.model import PAENet
from paenet.train.transforms import decode, normalize_batch, resize

SYSU_SAME_ROOM = SkipRule(3, 2, "cam3 (IR) and cam2 (RGB) film the same room")


@dataclass(frozen=True)
class ValidationSet:
    protocol: TestProtocol
    paths: tuple[Path, ...]
    """Query paths then gallery paths."""
    modality: np.ndarray
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
    protocol = TestProtocol(
        dataset=manifest.kind,
        query=tuple(im.sample for im in query),
        gallery=tuple(im.sample for im in gallery),
        skip_rules=(SYSU_SAME_ROOM,) if manifest.kind == "sysu" else (),
        unique_identity_cmc=manifest.kind == "sysu",
        params=MappingProxyType({"split": split, "mode": "all", "direction": "ir->visible"}),
    )
    return ValidationSet(
        protocol=protocol,
        paths=tuple(manifest.image_path(im) for im in ordered),
        modality=np.array([Modality(im.sample.modality).model_index for im in ordered]),
        attributes=np.array([im.attributes for im in ordered], dtype=np.int8),
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


@torch.no_grad()
def features(
    model: PAENet,
    val: ValidationSet,
    size: tuple[int, int],
    device: torch.device,
    source: str,
    batch_size: int = 64,
) -> tuple[Tensor, Tensor | None]:
    """L2-normalised retrieval features (N, C) of the validation images, in order, and
    the attribute head's logits (N, n) (``None`` without a head)."""
    was_training = model.training
    model.eval()
    out, logits = [], []
    for start in range(0, len(val.paths), batch_size):
        stop = min(start + batch_size, len(val.paths))
        images = np.stack([resize(decode(p, val.root), size) for p in val.paths[start:stop]])
        batch = normalize_batch(torch.from_numpy(images), device)
        modality = torch.from_numpy(val.modality[start:stop]).to(device)
        attributes = torch.from_numpy(val.attributes[start:stop]).to(device).float()
        result = model.infer(batch, modality, source, attributes)
        out.append(torch.nn.functional.normalize(result.retrieval.float(), dim=1).cpu())
        if result.attribute_logits is not None:
            logits.append(result.attribute_logits.float().cpu())
    model.train(was_training)
    return torch.cat(out), (torch.cat(logits) if logits else None)


def evaluate(
    model: PAENet, val: ValidationSet, size: tuple[int, int], device: torch.device, source: str
) -> ValidationScores:
    feats, logits = features(model, val, size, device, source)
    nq = len(val.protocol.query)
    distances = -(feats[:nq] @ feats[nq:].T)
    retrieval = evaluate_distances(distances.numpy(), val.protocol)
    balanced = None
    if logits is not None:
        keys = val.attribute_keys or tuple(f"a{i}" for i in range(logits.shape[1]))
        balanced = attribute_quality(logits.numpy(), val.attributes, keys).mean_balanced_accuracy
    return ValidationScores(retrieval, balanced)
