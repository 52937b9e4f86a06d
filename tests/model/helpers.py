"""Tiny CPU models and P×K batches for the model and loss tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from paenet.model import PAENet, PAENetConfig

NUM_CLASSES = 5


def tiny_config(**overrides: Any) -> PAENetConfig:
    """ResNet-18, random init, a small PAE head: fast on two CPU cores."""
    base: dict[str, Any] = {
        "num_classes": NUM_CLASSES,
        "backbone": "resnet18",
        "pretrained": "none",
        "d_model": 64,
        "num_heads": 4,
        "ffn_dim": 128,
        "aal_dim": 32,
        "attribute_head_dim": 32,
    }
    base.update(overrides)
    return PAENetConfig(**base)


def tiny_model(seed: int = 0, **overrides: Any) -> PAENet:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return PAENet(tiny_config(**overrides))


@dataclass(frozen=True, eq=False)
class Batch:
    images: Tensor
    labels: Tensor
    modality: Tensor
    attributes: Tensor


def pk_batch(
    p: int = 2, k: int = 2, height: int = 64, width: int = 32, n: int = 8, seed: int = 0
) -> Batch:
    """[visible: P ids × K | infrared: P ids × K]; attributes hold 0, 1 and -1 (unknown),
    with every attribute showing each of the three values somewhere (for gradient tests)."""
    g = torch.Generator().manual_seed(seed)
    size = 2 * p * k
    images = torch.randn(size, 3, height, width, generator=g)
    labels = torch.arange(p).repeat_interleave(k).repeat(2)
    modality = torch.cat([torch.zeros(p * k), torch.ones(p * k)]).long()
    attributes = torch.randint(-1, 2, (size, n), generator=g)
    if size >= 3:
        attributes[:3] = torch.tensor([0, 1, -1])[:, None].expand(3, n)
    return Batch(images, labels, modality, attributes)
