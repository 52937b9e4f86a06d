"""One training step and the pieces it needs: schedules, AMP policy, the attribute feed.

Kept apart from the loop (:mod:`paenet.train.loop`) so each is small and testable.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from paenet.losses import LossConfig, LossTerms, check_layout, metric_features, paenet_losses
from paenet.model import PAENet, PAENetOutput
from paenet.runtime import autocast_dtype
from paenet.train.config import LossSettings, OptimConfig, RuntimeConfig
from paenet.train.health import batch_health, term_gradient_norms


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite; the message names the step and the term."""


# ------------------------------------------------------------------------ schedules
def lr_factor(epoch: int, optim: OptimConfig) -> float:
    """Factor on the base rates in epoch ``epoch`` (0-based): linear warm-up
    ``(e + 1) / warmup_epochs``, then ``gamma ** #(milestones <= e)`` (``step``) or a
    cosine from 1 to ``min_factor`` over the remaining epochs (``cosine``)."""
    if epoch < optim.warmup_epochs:
        return (epoch + 1) / optim.warmup_epochs
    if optim.schedule == "cosine":
        span = optim.epochs - optim.warmup_epochs
        t = (epoch - optim.warmup_epochs) / span if span > 0 else 1.0
        return optim.min_factor + (1.0 - optim.min_factor) * 0.5 * (1.0 + math.cos(math.pi * t))
    return optim.gamma ** sum(1 for m in optim.milestones if m <= epoch)


def metric_weight_factor(epoch: int, epochs: int, loss: LossSettings) -> float:
    """Factor on the triplet and MMD weights in epoch ``epoch`` (0-based) of ``epochs``:
    0 before epoch ``round(metric_start·epochs)``, then a linear ramp that reaches 1
    after ``round(metric_ramp·epochs)`` epochs."""
    start = round(loss.metric_start * epochs)
    ramp = round(loss.metric_ramp * epochs)
    if epoch < start:
        return 0.0
    if ramp <= 0:
        return 1.0
    return min(1.0, (epoch - start + 1) / ramp)


def predicted_feed_probability(epoch: int, epochs: int, loss: LossSettings) -> float:
    """Probability that a batch of epoch ``epoch`` feeds PAE predicted attributes."""
    if loss.pae_feed == "gt":
        return 0.0
    if loss.pae_feed == "predicted":
        return 1.0
    t = epoch / (epochs - 1) if epochs > 1 else 1.0
    return loss.mix_start + (loss.mix_end - loss.mix_start) * t


def feeds_predicted(epoch: int, step: int, epochs: int, loss: LossSettings, seed: int) -> bool:
    """Whether step ``step`` feeds predictions: a draw from (seed, step) alone, so every
    rank and a resumed run make the same choice."""
    p = predicted_feed_probability(epoch, epochs, loss)
    if p <= 0.0:
        return False
    if p >= 1.0:
        return True
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return bool(torch.rand((), generator=g) < p)


def build_optimizer(model: PAENet, optim: OptimConfig) -> torch.optim.Optimizer:
    """``optim.optimizer`` with two groups: backbone at ``lr·backbone_lr_mult``, new
    layers at ``lr`` (group 1 is always the new layers: the logged rate)."""
    groups = [
        {"params": model.backbone_parameters(), "lr": optim.lr * optim.backbone_lr_mult},
        {"params": model.new_parameters(), "lr": optim.lr},
    ]
    if optim.optimizer == "adam":
        return torch.optim.Adam(groups, lr=optim.lr, weight_decay=optim.weight_decay)
    if optim.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=optim.lr, weight_decay=optim.weight_decay)
    return torch.optim.SGD(
        groups,
        lr=optim.lr,
        momentum=optim.momentum,
        nesterov=optim.nesterov,
        weight_decay=optim.weight_decay,
    )


def build_scheduler(
    optimizer: torch.optim.Optimizer, optim: OptimConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch schedule (stepped once at each epoch's end)."""

    def factor(epoch: int) -> float:
        return lr_factor(epoch, optim)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# ----------------------------------------------------------------------------- AMP
def amp_dtype(device: torch.device, runtime: RuntimeConfig) -> torch.dtype | None:
    """The autocast dtype of ``runtime.amp`` (:func:`paenet.runtime.autocast_dtype`, the
    rule evaluation and prediction use too), or ``None`` for full precision."""
    return autocast_dtype(device, runtime.amp)


# -------------------------------------------------------------- attribute head feed
def detach_attribute_head_input(model: PAENet) -> torch.utils.hooks.RemovableHandle | None:
    """Make the attribute-recognition head learn from a detached f^m (its BCE then
    never reaches the backbone). Returns the hook handle, or ``None`` without a head."""
    head = model.attribute_head
    if head is None:
        return None

    def hook(_module: nn.Module, args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return tuple(a.detach() for a in args)

    return head.register_forward_pre_hook(hook)


def loss_config(
    loss: LossSettings, epoch: int | None = None, epochs: int | None = None
) -> LossConfig:
    """The :class:`paenet.losses.LossConfig` part of the loss settings; with ``epoch`` and
    ``epochs``, the triplet and MMD weights of that epoch (:func:`metric_weight_factor`)."""
    names = {f.name for f in dataclasses.fields(LossConfig)}
    config = LossConfig(**{k: v for k, v in dataclasses.asdict(loss).items() if k in names})
    if epoch is None or epochs is None:
        return config
    factor = metric_weight_factor(epoch, epochs, loss)
    if factor == 1.0:
        return config
    return dataclasses.replace(
        config, triplet_weight=config.triplet_weight * factor, mmd_weight=config.mmd_weight * factor
    )


def _float_output(out: PAENetOutput) -> PAENetOutput:
    """Losses run in float32 whatever autocast produced (the feature map, which no loss
    reads, stays as it is)."""
    changes = {
        f.name: getattr(out, f.name).float()
        for f in dataclasses.fields(out)
        if isinstance(getattr(out, f.name), Tensor) and f.name != "feature_map"
    }
    return dataclasses.replace(out, **changes)


@dataclass(frozen=True)
class StepResult:
    values: dict[str, float]
    """``total`` and each weighted term, as floats."""
    fed_predicted: bool
    skipped: dict[str, str]
    """Terms the batch could not give, with the reason (:attr:`LossTerms.skipped`)."""
    diagnostics: dict[str, float] = dataclasses.field(default_factory=dict)
    """With ``probe``: the ``grad/*`` and ``health/*`` figures of :mod:`paenet.train.health`."""


def train_step(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    modality: Tensor,
    attributes: Tensor,
    *,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    losses: LossConfig,
    feed_predicted: bool,
    dtype: torch.dtype | None,
    step: int,
    probe: bool = False,
    attribute_rates: Tensor | None = None,
) -> StepResult:
    """Forward, losses (float32), backward, optimiser step. ``step`` (1-based) is only
    used in messages. ``attribute_rates``: the training set's positive share per attribute
    (needed with ``losses.attribute_balance``). With ``probe``, also measures the batch's instruments
    (:mod:`paenet.train.health`; a few extra backward passes through the heads, not the
    backbone). Raises :class:`NonFiniteLossError` before touching the weights."""
    device_type = images.device.type
    fed = None if feed_predicted else attributes.float()
    with torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None):
        out = model(images, modality, fed)
    out = _float_output(out)
    terms: LossTerms = paenet_losses(out, labels, modality, attributes, losses, attribute_rates)
    names = ["total", *terms.weighted]
    values = torch.stack([terms.total.detach(), *(t.detach() for t in terms.weighted.values())])
    floats = values.tolist()
    bad = [n for n, v in zip(names, floats) if not math.isfinite(v)]
    if bad:
        culprit = next((n for n in bad if n != "total"), "total")
        raise NonFiniteLossError(
            f"non-finite loss at step {step}: term {culprit!r} is {floats[names.index(culprit)]} "
            f"(all terms: {dict(zip(names, floats))})"
        )
    diagnostics: dict[str, float] = {}
    if probe:
        diagnostics = _probe(out, terms, losses, labels, modality)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(terms.total).backward()
    scaler.step(optimizer)
    scaler.update()
    return StepResult(dict(zip(names, floats)), feed_predicted, dict(terms.skipped), diagnostics)


def _probe(
    out: PAENetOutput, terms: LossTerms, losses: LossConfig, labels: Tensor, modality: Tensor
) -> dict[str, float]:
    layout = check_layout(labels, modality)
    figures = batch_health(
        out.backbone_pooled,
        metric_features(out, losses.metric_feature),
        layout,
        out.predicted_attribute_logits,
    )
    if out.feature_map is not None and out.feature_map.requires_grad:
        figures.update(term_gradient_norms(terms.weighted, out.feature_map))
    return figures
