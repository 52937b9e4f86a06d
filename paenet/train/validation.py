"""Model selection on a validation split (never the test split).

With ``data.val_split`` (SYSU-MM01 ``val`` when training on ``train`` only), after each
epoch rank 0 scores the model on that split: every infrared image is a query, every
visible image of the split is the gallery (all-search, no sampling), the SYSU
same-room rule (cam3 queries skip cam2) applies, unique-identity CMC. The score is the
mAP; the best epoch is saved as ``checkpoints/best.pt``. Features come from
``data.val_attribute_source`` (``predicted`` by default: what a deployment can use).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Modality
from paenet.evaluation import RetrievalMetrics, evaluate_distances
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


def validation_set(manifest: Any, split: str) -> ValidationSet:
    """The IR → visible all-search protocol of a SYSU split's images."""
    images = [im for im in manifest.images if im.split == split]
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
    )


@torch.no_grad()
def features(
    model: PAENet,
    val: ValidationSet,
    size: tuple[int, int],
    device: torch.device,
    source: str,
    batch_size: int = 64,
) -> Tensor:
    """L2-normalised retrieval features (N, C) of the validation images, in order."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(val.paths), batch_size):
        stop = min(start + batch_size, len(val.paths))
        images = np.stack([resize(decode(p), size) for p in val.paths[start:stop]])
        batch = normalize_batch(torch.from_numpy(images), device)
        modality = torch.from_numpy(val.modality[start:stop]).to(device)
        attributes = torch.from_numpy(val.attributes[start:stop]).to(device).float()
        f = model.extract_features(batch, modality, source, attributes)
        out.append(torch.nn.functional.normalize(f.float(), dim=1).cpu())
    model.train(was_training)
    return torch.cat(out)


def evaluate(
    model: PAENet, val: ValidationSet, size: tuple[int, int], device: torch.device, source: str
) -> RetrievalMetrics:
    feats = features(model, val, size, device, source)
    nq = len(val.protocol.query)
    distances = -(feats[:nq] @ feats[nq:].T)
    return evaluate_distances(distances.numpy(), val.protocol)
