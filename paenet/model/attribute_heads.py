"""Attribute classifiers: AAL (training-only auxiliary loss) and the recognition head."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AttributeAuxiliaryLearning(nn.Module):
    """AAL: attribute features from the gated maps and n binary classifiers.

    Inputs: the pooled backbone feature f^m (B, C) and the Embedding-III gates (B, g, C)
    (g = n, or 1 when only one gate exists; ``None`` when PAE is off, i.e. all gates 1).
    With f_i = pool(w_i ⊙ F) = w_i ⊙ f^m, W1 = sigmoid(f_i) and one shared FC:
    f_atr,i = FC(f^m ⊙ W1_i), logit_i = <u_i, f_atr,i> + b_i. Returns logits (B, n).
    Nothing is copied n times when g = 1: the classifiers broadcast over the shared
    feature.
    """

    def __init__(self, channels: int, num_attributes: int, dim: int = 256):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(channels, dim), nn.LayerNorm(dim), nn.ReLU())
        self.weight = nn.Parameter(torch.randn(num_attributes, dim) * 0.01)
        self.bias = nn.Parameter(torch.zeros(num_attributes))

    def forward(self, pooled: Tensor, gates: Tensor | None) -> Tensor:
        f_i = pooled.unsqueeze(1) if gates is None else gates * pooled.unsqueeze(1)  # (B, g, C)
        f_atr = self.features(pooled.unsqueeze(1) * torch.sigmoid(f_i))  # (B, g, dim)
        return (f_atr * self.weight).sum(dim=-1) + self.bias  # (B, n)


class AttributeRecognitionHead(nn.Module):
    """Predicts the n attributes from the pooled backbone feature alone: (B, C) -> (B, n).

    Needs no attribute input, so at test time its probabilities can replace ground truth
    (``attribute_source="predicted"``).

    ``normalize_input``: a batch norm without affine parameters standardises f^m per
    channel first (batch statistics in training, running ones in eval). GeM features
    after a ReLU share a large positive mean; what tells images apart is a small
    variation around it, which a linear layer on the raw feature sees only as a shift of
    one constant (the head then predicts the majority value of every attribute). In
    training the batch must then hold at least 2 images (the trainer's holds 2·P·K).
    The hidden layer keeps a layer norm (per image).
    """

    def __init__(
        self, channels: int, num_attributes: int, hidden: int = 512, normalize_input: bool = True
    ):
        super().__init__()
        self.input_norm = nn.BatchNorm1d(channels, affine=False) if normalize_input else None
        self.net = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.LayerNorm(hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_attributes),
        )

    def forward(self, pooled: Tensor) -> Tensor:
        if self.input_norm is not None:
            pooled = self.input_norm(pooled)
        return self.net(pooled)
