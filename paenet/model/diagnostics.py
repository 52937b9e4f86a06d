"""Diagnostics of a PAENet: how much of AAL's attribute accuracy is read back from its input.

AAL classifies attributes from channel gates that, by default (``aal_gates="fed"``), are
computed from the attributes fed to PAE. :func:`aal_leak` shuffles the fed attributes
within the batch (each image gets another image's labels) and scores AAL's predictions
against both the shuffled labels it was fed and the images' own labels. A model that
reads the image scores against the true labels; a model that reads back its input
scores against the fed ones. ``fed_true_agreement`` is what a perfect read-back would
score against the true labels (the shuffled and true labels agree that often by
chance), the reference for ``acc_vs_true``; 0.5 (balanced binary labels) or the
agreement is the reference for ``acc_vs_fed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from paenet.attributes import LabelValue
from paenet.model.paenet import PAENet


@dataclass(frozen=True)
class LeakReport:
    """AAL accuracies with the fed attributes shuffled within the batch.

    Accuracies are over known entries (label 0 or 1) of the target they compare with;
    ``per_attribute_*`` give one value per attribute (``nan`` where none is known).

    Attributes:
        acc_vs_fed: accuracy against the shuffled attributes AAL was fed.
        acc_vs_true: accuracy against the images' own attributes.
        acc_unshuffled: accuracy against the true attributes when those are fed (the
            training situation).
        fed_true_agreement: how often the shuffled and the true labels agree where both
            are known (what a pure read-back scores against the true labels).
        num_images: batch size.
        aal_gates: the model's ``config.aal_gates``.
    """

    acc_vs_fed: float
    acc_vs_true: float
    acc_unshuffled: float
    fed_true_agreement: float
    per_attribute_vs_fed: tuple[float, ...]
    per_attribute_vs_true: tuple[float, ...]
    num_images: int
    aal_gates: str


def aal_leak(
    model: PAENet,
    images: Tensor,
    modality: Tensor,
    attributes: Tensor,
    generator: torch.Generator,
) -> LeakReport:
    """The leak report on real images: ``images`` (B, 3, H, W), ``modality`` (B,)
    ``Modality.model_index`` codes, ``attributes`` (B, n) true labels (0/1/-1).

    The model runs in eval mode under ``no_grad`` (its mode is restored afterwards);
    ``generator`` draws the within-batch permutation.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            feature_maps = model.backbone(images, modality)
        return aal_leak_on_maps(model, feature_maps, attributes, generator)
    finally:
        model.train(was_training)


def aal_leak_on_maps(
    model: PAENet, feature_maps: Tensor, attributes: Tensor, generator: torch.Generator
) -> LeakReport:
    """:func:`aal_leak` on backbone feature maps (B, C, h, w) (e.g. synthetic noise),
    through :meth:`PAENet.forward_head`."""
    if model.aal is None:
        raise ValueError("aal_leak needs a model built with aal=True")
    n = model.config.num_attributes
    batch = feature_maps.shape[0]
    if attributes.shape != (batch, n):
        raise ValueError(f"attributes must be ({batch}, {n}), got {tuple(attributes.shape)}")
    if batch < 2:
        raise ValueError("aal_leak needs at least 2 images to shuffle attributes between")
    perm = torch.randperm(batch, generator=generator).to(attributes.device)
    fed = attributes[perm]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            shuffled = _predictions(model, feature_maps, fed)
            unshuffled = _predictions(model, feature_maps, attributes)
    finally:
        model.train(was_training)
    return LeakReport(
        acc_vs_fed=_accuracy(shuffled, fed),
        acc_vs_true=_accuracy(shuffled, attributes),
        acc_unshuffled=_accuracy(unshuffled, attributes),
        fed_true_agreement=_accuracy(fed, attributes),
        per_attribute_vs_fed=tuple(_accuracy(shuffled[:, i], fed[:, i]) for i in range(n)),
        per_attribute_vs_true=tuple(_accuracy(shuffled[:, i], attributes[:, i]) for i in range(n)),
        num_images=batch,
        aal_gates=model.config.aal_gates,
    )


def _predictions(model: PAENet, feature_maps: Tensor, fed: Tensor) -> Tensor:
    logits = model.forward_head(feature_maps, fed).attribute_logits
    assert logits is not None
    return (logits > 0).long()


def _accuracy(predicted: Tensor, target: Tensor) -> float:
    """Share of entries where ``predicted`` equals ``target``, over entries where the
    target (and, if it holds labels, the prediction) is known; ``nan`` if none is."""
    unknown = int(LabelValue.UNKNOWN)
    known = (target != unknown) & (predicted != unknown)
    if not bool(known.any()):
        return math.nan
    return float((predicted[known] == target[known]).double().mean())
