"""PAENet's losses: identity CE, hetero-center triplet, margin MMD and masked attribute BCE.

The total is L_total = w_id·L_id + w_tri·L_HcTri + w_mmd·L_MMD + λ·L_atr + w_pred·L_pred,
returned term by term in a :class:`LossTerms`.

**Batch layout** (checked by :func:`check_layout`): 2·P·K images,
``[visible: id_1×K … id_P×K | infrared: id_1×K … id_P×K]``, the same P distinct ids in
the same order in both halves.

**Margin MMD, a decision.** An identity whose biased MMD² exceeds the margin adds its
full MMD² (as MMD-ReID's code does), not MMD² − margin; both give the same gradient (the
margin is a constant), so only the logged value differs, and adding the full value keeps
the logs comparable with MMD-ReID's. ``LossConfig.mmd_subtract_margin=True`` logs the
hinge instead. The sum is divided by P (all ids, including those under the margin).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from paenet.attributes import LabelValue
from paenet.data.records import Modality
from paenet.model.output import PAENetOutput

MetricFeature = Literal["pooled", "normalized", "neck", "neck_normalized"]
MmdBandwidth = Literal["identity", "batch"]
METRIC_FEATURES: tuple[str, ...] = ("pooled", "normalized", "neck", "neck_normalized")


class BatchLayoutError(ValueError):
    """The batch is not ``[visible: P ids × K | infrared: P ids × K]``."""


@dataclass(frozen=True)
class BatchLayout:
    """P identities, K images per identity and modality (2·P·K images in all)."""

    num_ids: int
    per_modality: int

    @property
    def size(self) -> int:
        return 2 * self.num_ids * self.per_modality


@dataclass(frozen=True)
class LossConfig:
    """Weights and hyper-parameters of the losses (defaults: MMD-ReID's code and the paper).

    ``attribute_weight`` is the paper's λ (AAL's BCE); ``predicted_attribute_weight``
    weighs the attribute-recognition head's BCE. A weight of 0 drops the term.

    ``metric_feature``: what the triplet and MMD terms measure. ``"pooled"`` (the
    paper's and MMD-ReID's: the identity feature before the BN neck) has a free scale:
    from random weights the cheapest way to lower [margin + d(a, p) − d(a, n)]_+ is to
    shrink every distance, and the features collapse (``docs/training.md``).
    ``"normalized"`` measures the L2-normalised feature (distances on the unit sphere,
    the scale cannot shrink); ``"neck"`` the BN-neck output (the retrieval feature);
    ``"neck_normalized"`` that, L2-normalised: every channel of the BN-neck output has
    zero mean and unit variance over the batch, so the images can neither shrink to a
    point nor share one direction (the retrieval feature is compared by cosine anyway).

    ``mmd_bandwidth``: each identity's own (``"identity"``, MMD-ReID's) or one from the
    whole batch (``"batch"``); see :func:`margin_mmd_loss`.

    ``attribute_balance``: weigh both values of each attribute equally in the attribute
    terms (:func:`masked_attribute_bce` with the training set's positive rates, which
    :func:`paenet_losses` then needs); ``False`` is the paper's plain BCE.
    """

    id_weight: float = 1.0
    label_smoothing: float = 0.0
    triplet_weight: float = 2.0
    triplet_margin: float = 0.3
    mmd_weight: float = 0.25
    mmd_margin: float = 1.40
    mmd_kernels: int = 5
    mmd_kernel_mul: float = 2.0
    mmd_subtract_margin: bool = False
    mmd_bandwidth: MmdBandwidth = "identity"
    attribute_balance: bool = False
    attribute_weight: float = 1.0
    predicted_attribute_weight: float = 1.0
    metric_feature: MetricFeature = "pooled"

    def __post_init__(self) -> None:
        for name in (
            "id_weight",
            "triplet_weight",
            "mmd_weight",
            "attribute_weight",
            "predicted_attribute_weight",
            "triplet_margin",
            "mmd_margin",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.mmd_kernels < 1 or self.mmd_kernel_mul <= 0:
            raise ValueError("mmd_kernels must be >= 1 and mmd_kernel_mul > 0")
        if self.mmd_bandwidth not in ("identity", "batch"):
            raise ValueError(
                f"mmd_bandwidth must be 'identity' or 'batch', got {self.mmd_bandwidth!r}"
            )
        if self.metric_feature not in METRIC_FEATURES:
            raise ValueError(
                f"metric_feature must be one of {list(METRIC_FEATURES)}, got {self.metric_feature!r}"
            )


@dataclass(frozen=True, eq=False)
class LossTerms:
    """Named loss terms. ``weighted[k] = weights[k] * unweighted[k]``; total = Σ weighted.

    ``skipped`` names each term the model and config ask for that this batch could not
    give, with the reason (today: an attribute term on a batch whose attribute labels
    are all unknown). A skipped term stays in ``weighted`` as an exact 0 connected to
    the graph (so every parameter still receives a gradient, as DDP requires), and is
    reported here, never silently.
    """

    total: Tensor
    weighted: dict[str, Tensor] = field(default_factory=dict)
    unweighted: dict[str, Tensor] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def check_layout(labels: Tensor, modality: Tensor | None = None) -> BatchLayout:
    """Infer (P, K) from ``labels`` (2PK,) and check the layout; raise a clear error if not.

    K is the length of the first run of equal labels; ``modality`` (if given) must be
    K·P visible codes then K·P infrared codes.
    """
    if labels.dim() != 1 or labels.numel() == 0 or labels.numel() % 2:
        raise BatchLayoutError(
            f"labels must be a non-empty 1-D tensor of even length 2·P·K, got shape "
            f"{tuple(labels.shape)}"
        )
    half = labels.numel() // 2
    if modality is not None:
        expected = torch.cat(
            [
                torch.full((half,), Modality.VISIBLE.model_index),
                torch.full((half,), Modality.INFRARED.model_index),
            ]
        ).to(modality.device)
        if modality.shape != labels.shape or not torch.equal(modality.long(), expected):
            raise BatchLayoutError(
                "batch must be [visible images | infrared images] in two equal halves; "
                f"got modality {modality.tolist()}"
            )
    visible, infrared = labels[:half], labels[half:]
    k = int((visible != visible[0]).nonzero()[0]) if bool((visible != visible[0]).any()) else half
    if half % k:
        raise BatchLayoutError(
            f"{half} images per modality is not P ids × K={k} (K read from the first run)"
        )
    blocks = visible.view(half // k, k)
    if not bool((blocks == blocks[:, :1]).all()):
        raise BatchLayoutError(
            f"visible half must be P blocks of K={k} equal labels, got {visible.tolist()}"
        )
    if blocks[:, 0].unique().numel() != blocks.shape[0]:
        raise BatchLayoutError(f"an identity appears in two blocks: {visible.tolist()}")
    if not torch.equal(infrared, visible):
        raise BatchLayoutError(
            "infrared half must hold the same ids in the same order and counts as the "
            f"visible half: visible {visible.tolist()}, infrared {infrared.tolist()}"
        )
    return BatchLayout(num_ids=half // k, per_modality=k)


def _split(features: Tensor, layout: BatchLayout) -> tuple[Tensor, Tensor]:
    """(2PK, D) -> visible (P, K, D), infrared (P, K, D)."""
    if features.dim() != 2 or features.shape[0] != layout.size:
        raise BatchLayoutError(
            f"features must be ({layout.size}, D) for P={layout.num_ids}, "
            f"K={layout.per_modality}, got {tuple(features.shape)}"
        )
    both = features.view(2, layout.num_ids, layout.per_modality, features.shape[1])
    return both[0], both[1]


def identity_loss(logits: Tensor, labels: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of (B, classes) logits against (B,) labels, optional label smoothing."""
    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)


def hetero_center_triplet_loss(
    features: Tensor, layout: BatchLayout, margin: float = 0.3
) -> Tensor:
    """Hetero-center triplet over the 2P modality centres.

    Per identity, c^v and c^t are the means of its K visible / infrared features. For each
    of the 2P centres (anchor), positive = the same id's other-modality centre, negatives
    = every other id's centres of both modalities:
    mean over anchors of [margin + ‖c_a − c_p‖ − min_n ‖c_a − c_n‖]_+.
    With P = 1 there is no negative and the loss is 0.
    """
    visible, infrared = _split(features, layout)
    p = layout.num_ids
    centres = torch.cat([visible.mean(dim=1), infrared.mean(dim=1)])  # (2P, D)
    dist = (centres.unsqueeze(1) - centres.unsqueeze(0)).pow(2).sum(-1).clamp_min(1e-12).sqrt()
    ids = torch.arange(p, device=features.device).repeat(2)
    anchor = torch.arange(2 * p, device=features.device)
    positive = dist[anchor, (anchor + p) % (2 * p)]
    if p == 1:
        return features.sum() * 0.0
    same = ids.unsqueeze(0) == ids.unsqueeze(1)
    negative = dist.masked_fill(same, float("inf")).min(dim=1).values
    return F.relu(margin + positive - negative).mean()


def mmd_squared(
    x: Tensor,
    y: Tensor,
    kernels: int = 5,
    kernel_mul: float = 2.0,
    sigma: Tensor | None = None,
) -> Tensor:
    """Biased MMD² between sets x (..., K, D) and y (..., M, D), batched over leading dims.

    k(a, b) = Σ_{i<kernels} exp(−‖a − b‖² / (σ·mul^i)) with σ = (mean off-diagonal squared
    distance within x ∪ y) / mul^(kernels // 2), computed without gradient, unless
    ``sigma`` (a base bandwidth broadcastable to the leading dims) is given.
    MMD² = mean K_xx + mean K_yy − 2·mean K_xy.
    """
    k = x.shape[-2]
    z = torch.cat([x, y], dim=-2)
    n = z.shape[-2]
    d2 = (z.unsqueeze(-2) - z.unsqueeze(-3)).pow(2).sum(-1)  # (..., n, n)
    with torch.no_grad():
        if sigma is None:
            sigma = d2.sum(dim=(-2, -1)) / max(n * n - n, 1) / kernel_mul ** (kernels // 2)
        sigma = torch.as_tensor(sigma, dtype=d2.dtype, device=d2.device)
        sigma = sigma.clamp_min(1e-12)[..., None, None]
    kernel = sum(torch.exp(-d2 / (sigma * kernel_mul**i)) for i in range(kernels))
    assert isinstance(kernel, Tensor)
    kxx = kernel[..., :k, :k].mean(dim=(-2, -1))
    kyy = kernel[..., k:, k:].mean(dim=(-2, -1))
    kxy = kernel[..., :k, k:].mean(dim=(-2, -1))
    return kxx + kyy - 2 * kxy


def batch_bandwidth(features: Tensor, kernels: int = 5, kernel_mul: float = 2.0) -> Tensor:
    """The base bandwidth from a whole (B, D) batch: mean off-diagonal squared distance
    / mul^(kernels // 2), without gradient (0-d)."""
    with torch.no_grad():
        f = features.detach()
        b = f.shape[0]
        d2 = torch.cdist(f, f).pow(2)
        return d2.sum() / max(b * b - b, 1) / kernel_mul ** (kernels // 2)


def margin_mmd_loss(
    features: Tensor,
    layout: BatchLayout,
    margin: float = 1.40,
    kernels: int = 5,
    kernel_mul: float = 2.0,
    subtract_margin: bool = False,
    bandwidth: str = "identity",
) -> Tensor:
    """Per identity, MMD² between its K visible and K infrared features; ids with
    MMD² > margin add MMD² (or MMD² − margin with ``subtract_margin``); sum / P.

    ``bandwidth``: ``"identity"`` (MMD-ReID's) takes each identity's kernel bandwidth from
    its own 2K features, which makes its MMD² blind to scale: an identity whose features
    draw together keeps the same value and a gradient that grows as 1/its radius.
    ``"batch"`` takes one bandwidth from the whole batch, so a tight identity (small
    against the distances between identities) has MMD² near 0."""
    visible, infrared = _split(features, layout)
    sigma = None
    if bandwidth == "batch":
        sigma = batch_bandwidth(features, kernels, kernel_mul)
    elif bandwidth != "identity":
        raise ValueError(f"bandwidth must be 'identity' or 'batch', got {bandwidth!r}")
    mmd2 = mmd_squared(visible, infrared, kernels, kernel_mul, sigma)  # (P,)
    above = mmd2 > margin
    value = mmd2 - margin if subtract_margin else mmd2
    return torch.where(above, value, torch.zeros_like(value)).sum() / layout.num_ids


def masked_attribute_bce(
    logits: Tensor, targets: Tensor, positive_rates: Tensor | None = None
) -> Tensor:
    """Binary cross-entropy over known labels only: mean over entries with target 0 or 1.

    ``targets`` (B, n) uses ``LabelValue.UNKNOWN`` (-1) for unknown; all-unknown gives 0
    (connected to the graph, zero gradient).

    ``positive_rates`` (n,): the training set's share of positives per attribute. Given,
    each known entry is weighted ``1 / (2·rate)`` when positive and ``1 / (2·(1 − rate))``
    when negative (rates clamped to [0.01, 0.99]), so both values of an attribute weigh
    the same in total: the loss then aims at balanced accuracy instead of the majority
    value (the weighting of pedestrian-attribute work since DeepMAR).
    """
    if logits.shape != targets.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ in shape"
        )
    known = targets != int(LabelValue.UNKNOWN)
    if bool(((targets != 0) & (targets != 1) & known).any()):
        raise ValueError("attribute targets must be 0, 1 or -1 (unknown)")
    if not bool(known.any()):
        return logits.sum() * 0.0
    values = targets.to(logits.dtype)
    if positive_rates is None:
        return F.binary_cross_entropy_with_logits(logits[known], values[known])
    if positive_rates.shape != logits.shape[1:]:
        raise ValueError(
            f"positive_rates must be ({logits.shape[1]},), got {tuple(positive_rates.shape)}"
        )
    rate = positive_rates.to(logits.device, logits.dtype).clamp(0.01, 0.99).expand_as(logits)
    weight = torch.where(values > 0.5, 0.5 / rate, 0.5 / (1.0 - rate))
    per_entry = F.binary_cross_entropy_with_logits(logits, values.clamp_min(0.0), reduction="none")
    return (per_entry * weight)[known].sum() / known.sum()


def metric_features(output: PAENetOutput, metric_feature: str = "pooled") -> Tensor:
    """The (B, C) feature the triplet and MMD terms measure (:class:`LossConfig`)."""
    if metric_feature == "pooled":
        return output.pooled
    if metric_feature == "normalized":
        return F.normalize(output.pooled, dim=1)
    if metric_feature == "neck":
        return output.retrieval
    if metric_feature == "neck_normalized":
        return F.normalize(output.retrieval, dim=1)
    raise ValueError(
        f"metric_feature must be one of {list(METRIC_FEATURES)}, got {metric_feature!r}"
    )


def paenet_losses(
    output: PAENetOutput,
    labels: Tensor,
    modality: Tensor,
    attributes: Tensor | None,
    config: LossConfig | None = None,
    attribute_rates: Tensor | None = None,
) -> LossTerms:
    """All losses of one training batch (layout checked first).

    Terms: ``id`` (on ``identity_logits``), ``triplet`` and ``mmd`` (on
    :func:`metric_features`: ``pooled`` by default),
    ``attribute`` (AAL's logits, when the model has AAL) and ``predicted_attribute``
    (the recognition head's, when the model has it). Zero-weight terms are not computed.

    ``attributes`` (B, n) with 0, 1 or -1 (unknown) are required whenever an attribute
    term is on (the model produced its logits and its weight is > 0): ``None`` is an
    error, never a silent drop. To train on batches without attribute labels, set
    ``attribute_weight`` and ``predicted_attribute_weight`` to 0, or pass all -1: each
    attribute term is then reported in ``LossTerms.skipped`` (its value an exact 0).
    ``attribute_rates`` (n,): the training set's share of positives per attribute, used
    (and required) with ``config.attribute_balance``.

    Raises:
        BatchLayoutError: the batch is not ``[visible: P×K | infrared: P×K]``.
        ValueError: attribute labels missing for an active attribute term, or every
            weight 0.
    """
    config = config or LossConfig()
    layout = check_layout(labels, modality)
    metric = metric_features(output, config.metric_feature)
    unweighted: dict[str, Tensor] = {}
    weights: dict[str, float] = {}
    skipped: dict[str, str] = {}

    def add(name: str, weight: float, compute: Callable[[], Tensor]) -> None:
        if weight > 0:
            unweighted[name] = compute()
            weights[name] = weight

    add(
        "id",
        config.id_weight,
        lambda: identity_loss(output.identity_logits, labels, config.label_smoothing),
    )
    add(
        "triplet",
        config.triplet_weight,
        lambda: hetero_center_triplet_loss(metric, layout, config.triplet_margin),
    )
    add(
        "mmd",
        config.mmd_weight,
        lambda: margin_mmd_loss(
            metric,
            layout,
            config.mmd_margin,
            config.mmd_kernels,
            config.mmd_kernel_mul,
            config.mmd_subtract_margin,
            config.mmd_bandwidth,
        ),
    )
    attribute_terms = (
        ("attribute", "attribute_weight", output.attribute_logits),
        ("predicted_attribute", "predicted_attribute_weight", output.predicted_attribute_logits),
    )
    for name, weight_name, logits in attribute_terms:
        weight = getattr(config, weight_name)
        if logits is None or weight == 0:
            continue
        if attributes is None:
            raise ValueError(
                f"the {name!r} loss needs the attribute labels: pass the (B, n) attributes "
                f"(-1 for unknown), or set LossConfig.{weight_name}=0 to train without it"
            )
        if not bool((attributes != int(LabelValue.UNKNOWN)).any()):
            skipped[name] = "no known attribute label in the batch"
        if config.attribute_balance and attribute_rates is None:
            raise ValueError(
                "attribute_balance needs the training set's attribute_rates (n,) "
                "(the share of positives per attribute)"
            )
        rates = attribute_rates if config.attribute_balance else None
        add(
            name,
            weight,
            lambda logits=logits, rates=rates: masked_attribute_bce(logits, attributes, rates),
        )
    if not unweighted:
        raise ValueError("every loss weight is 0: nothing to optimise")
    weighted = {k: weights[k] * v for k, v in unweighted.items()}
    total = torch.stack(list(weighted.values())).sum()
    return LossTerms(
        total=total, weighted=weighted, unweighted=unweighted, weights=weights, skipped=skipped
    )
