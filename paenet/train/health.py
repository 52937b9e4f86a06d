"""Instruments that show whether training learns, computed on one training batch.

Every ``runtime.log_every`` steps the trainer logs (``metrics.jsonl``, TensorBoard,
``plots/health.png``):

- ``grad/<term>``: the norm of each weighted loss term's gradient at the backbone output
  (the feature map every head reads), so a term that drowns the others is visible;
- for two features of the batch, ``backbone`` (f^m, the pooled backbone feature the
  attribute head reads: where a collapse shows first) and ``metric`` (the feature the
  triplet and MMD measure, ``loss.metric_feature``):
  ``health/<feature>/std``, the mean over channels of the per-channel standard deviation
  over the batch; ``health/<feature>/relative_std``, that divided by the mean absolute
  value of the feature; ``health/<feature>/effective_rank``, exp of the entropy of the
  normalised singular values of the centred batch (1 = every image on one line; at most
  the batch size); ``health/<feature>/centre_distance``, the mean Euclidean distance
  between the identities' centres (mean over both modalities) in the batch;
- ``health/attribute_logit_spread``: mean over attributes of the standard deviation of
  the attribute head's logits over the batch (0 = one constant per attribute).

**Collapse.** When either feature's ``relative_std`` falls below
:data:`COLLAPSE_RELATIVE_STD` the images of the batch are nearly one point: the log warns
(once per epoch) and ``health/collapsed`` is 1. ``docs/training.md`` explains what
collapses the features and why.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from paenet.losses import BatchLayout

#: Below this relative spread (std / mean |value|) the features count as collapsed. A
#: random ResNet-18 starts near 0.4; a collapsed run measured 0.03 after 50 steps.
COLLAPSE_RELATIVE_STD = 0.05


def effective_rank(features: Tensor) -> float:
    """exp(entropy) of the normalised singular values of the centred (B, D) features."""
    x = features.detach().double()
    x = x - x.mean(dim=0, keepdim=True)
    s = torch.linalg.svdvals(x)
    total = s.sum()
    if float(total) <= 0.0:
        return 1.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def feature_health(features: Tensor, layout: BatchLayout) -> dict[str, float]:
    """``std``, ``relative_std``, ``effective_rank`` and ``centre_distance`` of one batch
    of ``features`` (2PK, D) in the trainer's layout (see the module docstring)."""
    f = features.detach().float()
    std = float(f.std(dim=0).mean())
    scale = float(f.abs().mean())
    centres = f.view(2, layout.num_ids, layout.per_modality, -1).mean(dim=(0, 2))  # (P, D)
    p = layout.num_ids
    centre_distance = float(torch.cdist(centres, centres).sum() / (p * (p - 1))) if p > 1 else 0.0
    return {
        "std": std,
        "relative_std": std / scale if scale > 0 else 0.0,
        "effective_rank": effective_rank(f),
        "centre_distance": centre_distance,
    }


def batch_health(
    backbone: Tensor,
    metric: Tensor,
    layout: BatchLayout,
    attribute_logits: Tensor | None = None,
) -> dict[str, float]:
    """The ``health/*`` figures of one batch: f^m (``backbone``), the metric terms'
    feature (``metric``), the attribute logits' spread and the collapse flag."""
    out: dict[str, float] = {}
    collapsed = False
    for name, features in (("backbone", backbone), ("metric", metric)):
        figures = feature_health(features, layout)
        collapsed = collapsed or figures["relative_std"] < COLLAPSE_RELATIVE_STD
        out.update({f"health/{name}/{k}": v for k, v in figures.items()})
    out["health/collapsed"] = float(collapsed)
    if attribute_logits is not None:
        out["health/attribute_logit_spread"] = float(
            attribute_logits.detach().float().std(dim=0).mean()
        )
    return out


def term_gradient_norms(terms: Mapping[str, Tensor], feature_map: Tensor) -> dict[str, float]:
    """``grad/<term>``: the norm of each (weighted) term's gradient with respect to
    ``feature_map``, without touching any parameter's ``.grad`` (the graph is kept for
    the real backward pass). A term that does not reach the map gets 0."""
    out: dict[str, float] = {}
    for name, value in terms.items():
        if not value.requires_grad:
            out[f"grad/{name}"] = 0.0
            continue
        (grad,) = torch.autograd.grad(value, feature_map, retain_graph=True, allow_unused=True)
        out[f"grad/{name}"] = 0.0 if grad is None else float(grad.float().norm())
    return out
