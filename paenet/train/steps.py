"""One training step and the pieces it needs: schedules, AMP policy, the attribute feed.

Kept apart from the loop (:mod:`paenet.train.engine`) so each is small and testable.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from paenet.losses import LossConfig, LossTerms, paenet_losses
from paenet.model import PAENet, PAENetOutput
from paenet.train.config import LossSettings, OptimConfig, RuntimeConfig


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite; the message names the step and the term."""


# ------------------------------------------------------------------------ schedules
def lr_factor(epoch: int, optim: OptimConfig) -> float:
    """Factor on the base rates in epoch ``epoch`` (0-based): linear warm-up
    ``(e + 1) / warmup_epochs``, then ``gamma ** #(milestones <= e)``."""
    if epoch < optim.warmup_epochs:
        return (epoch + 1) / optim.warmup_epochs
    return optim.gamma ** sum(1 for m in optim.milestones if m <= epoch)


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


def build_optimizer(model: PAENet, optim: OptimConfig) -> torch.optim.SGD:
    """SGD with two groups: backbone at ``lr·backbone_lr_mult``, new layers at ``lr``."""
    return torch.optim.SGD(
        [
            {"params": model.backbone_parameters(), "lr": optim.lr * optim.backbone_lr_mult},
            {"params": model.new_parameters(), "lr": optim.lr},
        ],
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
    """The autocast dtype, or ``None`` for full precision (always on the CPU)."""
    if device.type != "cuda" or runtime.amp == "off":
        return None
    if runtime.amp == "bf16" or (runtime.amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


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


def loss_config(loss: LossSettings) -> LossConfig:
    """The :class:`paenet.losses.LossConfig` part of the loss settings."""
    names = {f.name for f in dataclasses.fields(LossConfig)}
    return LossConfig(**{k: v for k, v in dataclasses.asdict(loss).items() if k in names})


def _float_output(out: PAENetOutput) -> PAENetOutput:
    """Losses run in float32 whatever autocast produced."""
    changes = {
        f.name: getattr(out, f.name).float()
        for f in dataclasses.fields(out)
        if isinstance(getattr(out, f.name), Tensor)
    }
    return dataclasses.replace(out, **changes)


@dataclass(frozen=True)
class StepResult:
    values: dict[str, float]
    """``total`` and each weighted term, as floats."""
    fed_predicted: bool


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
) -> StepResult:
    """Forward, losses (float32), backward, optimiser step. ``step`` (1-based) is only
    used in messages. Raises :class:`NonFiniteLossError` before touching the weights."""
    device_type = images.device.type
    fed = None if feed_predicted else attributes.float()
    with torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None):
        out = model(images, modality, fed)
    terms: LossTerms = paenet_losses(_float_output(out), labels, modality, attributes, losses)
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
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(terms.total).backward()
    scaler.step(optimizer)
    scaler.update()
    return StepResult(dict(zip(names, floats)), feed_predicted)
