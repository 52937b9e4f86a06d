"""The training run's configuration: five frozen dataclasses in one :class:`RunConfig`.

Defaults are the paper's recipe (preset ``paper``); :mod:`paenet.train.presets` lists the
other presets and resolves preset < YAML file < ``--set key=value``. Every field is
reachable as ``section.field`` (e.g. ``optim.lr``, ``loss.pae_feed``).

Units: epochs are the sampler's epochs (:mod:`paenet.train.sampler`), ``input_size`` is
(height, width) in pixels, learning rates are per parameter group before the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from paenet.losses import LossConfig
from paenet.model.config import PAENetStructure

PaeFeed = Literal["gt", "predicted", "mix"]
AmpMode = Literal["auto", "bf16", "fp16", "off"]
NormalizeWhere = Literal["device", "worker"]
OptimizerName = Literal["sgd", "adam", "adamw"]
ScheduleName = Literal["step", "cosine"]
ValSource = Literal["predicted", "gt", "backbone"]


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names it and what is valid."""


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


@dataclass(frozen=True)
class DataConfig:
    """What is trained on and how images reach the model.

    Attributes:
        splits: SYSU splits whose ids form the training set (default train+val, the
            field's convention); ignored for RegDB.
        trial: RegDB trial 1..10 (required for RegDB, must be ``None`` for SYSU).
        val_split: a SYSU split used only for model selection (e.g. ``"val"`` when
            ``splits=["train"]``); never ``"test"``. ``None``: the last epoch is the model.
            See :mod:`paenet.train.validation` (writes ``checkpoints/best.pt``).
        val_attribute_source: attributes the validation features use (``predicted``,
            ``gt`` or ``backbone``).
        val_every: score the validation split every this many epochs (and after the
            last one).
        input_size: (height, width) every image is resized to before augmentation.
        pad: zero padding (pixels) before the random crop back to ``input_size``.
        flip: horizontal flip with probability 0.5.
        random_erasing: probability of random erasing (0 = off); fills the mean colour.
        channel_augmentation: probability of replacing a visible image by one of its
            channels (or grey) repeated three times (0 = off).
        num_ids: P identities per batch.
        per_modality: K visible and K infrared images per identity.
        batches_per_epoch: cap on batches per epoch (``None``: the sampler's epoch).
        workers: DataLoader worker processes (0 = load in the main process).
        pin_memory: pinned host memory (only used on CUDA).
        persistent_workers: keep workers alive between epochs (when ``workers > 0``).
        prefetch_factor: batches prefetched per worker.
        cache: decode and resize every training image once into a uint8 memory map.
        cache_dir: where the decoded cache lives (``None``: ``RUN_DIR/cache``).
        normalize: ``"device"`` normalises uint8 batches on the model's device (4x less
            host-to-device traffic), ``"worker"`` in the albumentations pipeline.
        skip_unreadable: before the first step every training (and validation) image's
            header is checked (:func:`paenet.data.scan.scan_images`: missing, empty,
            undecodable, a link outside the dataset root, over the pixel limit).
            ``False`` (default): any such image stops the run, listing them all.
            ``True``: they are left out with a warning and listed in ``run.json``
            (``unreadable_images``); an identity left without images in one modality
            is left out of training too.
    """

    splits: tuple[str, ...] = ("train", "val")
    trial: int | None = None
    val_split: str | None = None
    val_attribute_source: ValSource = "predicted"
    val_every: int = 1
    input_size: tuple[int, int] = (288, 144)
    pad: int = 10
    flip: bool = True
    random_erasing: float = 0.0
    channel_augmentation: float = 0.0
    num_ids: int = 8
    per_modality: int = 4
    batches_per_epoch: int | None = None
    workers: int = 4
    pin_memory: bool = True
    persistent_workers: bool = True
    prefetch_factor: int = 2
    cache: bool = False
    cache_dir: str | None = None
    normalize: NormalizeWhere = "device"
    skip_unreadable: bool = False

    def __post_init__(self) -> None:
        _check(len(self.splits) > 0, "data.splits must name at least one split")
        _check("test" not in self.splits, "data.splits must not contain 'test'")
        _check(
            self.trial is None or 1 <= self.trial <= 10,
            f"data.trial must be 1..10 or null, got {self.trial}",
        )
        _check(self.val_split != "test", "data.val_split must never be 'test'")
        _check(self.val_every >= 1, f"data.val_every must be >= 1, got {self.val_every}")
        _check(
            self.val_split is None or self.val_split not in self.splits,
            f"data.val_split {self.val_split!r} is also a training split {list(self.splits)}",
        )
        h, w = self.input_size
        _check(
            h > 0 and w > 0 and h % 16 == 0 and w % 16 == 0,
            f"data.input_size must be positive multiples of 16, got {list(self.input_size)}",
        )
        _check(self.pad >= 0, f"data.pad must be >= 0, got {self.pad}")
        for name in ("random_erasing", "channel_augmentation"):
            value = getattr(self, name)
            _check(0.0 <= value <= 1.0, f"data.{name} must be in [0, 1], got {value}")
        _check(self.num_ids >= 1, f"data.num_ids must be >= 1, got {self.num_ids}")
        _check(self.per_modality >= 1, f"data.per_modality must be >= 1, got {self.per_modality}")
        _check(
            self.batches_per_epoch is None or self.batches_per_epoch >= 1,
            f"data.batches_per_epoch must be >= 1 or null, got {self.batches_per_epoch}",
        )
        _check(self.workers >= 0, f"data.workers must be >= 0, got {self.workers}")
        _check(self.prefetch_factor >= 1, "data.prefetch_factor must be >= 1")


@dataclass(frozen=True)
class ModelConfig(PAENetStructure):
    """The network's structure (inherited from :class:`paenet.model.config.PAENetStructure`,
    one definition of its names, defaults and checks): :class:`paenet.model.PAENetConfig`
    without ``num_classes`` and ``num_attributes``, which the training set gives. See
    that class for each field."""


@dataclass(frozen=True)
class LossSettings(LossConfig):
    """Loss weights (inherited from :class:`paenet.losses.LossConfig`, one definition of
    their names, defaults and checks) and how attributes train.

    Attributes:
        attribute_head_to_backbone: ``False`` (default, the paper's objective for the
            backbone): the attribute-recognition head learns from a detached f^m, so its
            BCE never moves the backbone. ``True`` lets it train the backbone too.
        metric_start: fraction of the run's epochs (``optim.epochs``) during which the
            triplet and MMD weights are 0: the identity and attribute losses alone first
            give the features an identity structure for the metric terms to refine
            (``docs/training.md``, why a run collapses). 0 = from the first step (the
            paper). The first metric epoch is ``round(metric_start · epochs)``.
        metric_ramp: fraction of the epochs over which the triplet and MMD weights then
            ramp linearly to their full value (``round(metric_ramp · epochs)`` epochs;
            0 = full at once).
        pae_feed: what PAE is fed in training: ``"gt"`` labels (the paper), the head's
            ``"predicted"`` (detached) probabilities, or a per-batch ``"mix"`` that feeds
            predictions with a probability ramping linearly from ``mix_start`` (first
            epoch) to ``mix_end`` (last epoch).
    """

    attribute_head_to_backbone: bool = False
    metric_start: float = 0.0
    metric_ramp: float = 0.0
    pae_feed: PaeFeed = "gt"
    mix_start: float = 0.0
    mix_end: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("metric_start", "metric_ramp"):
            value = getattr(self, name)
            _check(0.0 <= value <= 1.0, f"loss.{name} must be in [0, 1], got {value}")
        for name in ("mix_start", "mix_end"):
            value = getattr(self, name)
            _check(0.0 <= value <= 1.0, f"loss.{name} must be in [0, 1], got {value}")


@dataclass(frozen=True)
class OptimConfig:
    """The optimiser and its per-epoch schedule: linear warm-up, then steps or a cosine.

    The learning-rate factor of epoch e (0-based) is ``(e + 1) / warmup_epochs`` during
    warm-up; then, with ``schedule="step"`` (the paper's), ``gamma ** (number of
    milestones <= e)``; with ``"cosine"``, ``min_factor + (1 − min_factor)·(1 + cos(π·t))/2``
    with t the fraction of the post-warm-up epochs already done. The backbone's group
    runs at ``backbone_lr_mult`` times the base rate.

    ``optimizer``: ``"sgd"`` (the paper's: ``momentum``, ``nesterov``), ``"adam"`` or
    ``"adamw"`` (``betas`` 0.9/0.999; ``momentum`` and ``nesterov`` unused). With
    ``"adam"`` the weight decay is the L2 term added to the gradient, with ``"adamw"``
    it is decoupled.
    """

    optimizer: OptimizerName = "sgd"
    schedule: ScheduleName = "step"
    min_factor: float = 0.0
    epochs: int = 80
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    backbone_lr_mult: float = 0.1
    warmup_epochs: int = 10
    milestones: tuple[int, ...] = (30, 50)
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, f"optim.epochs must be >= 1, got {self.epochs}")
        _check(self.lr > 0, f"optim.lr must be > 0, got {self.lr}")
        _check(self.warmup_epochs >= 0, "optim.warmup_epochs must be >= 0")
        _check(
            list(self.milestones) == sorted(self.milestones),
            f"optim.milestones must be increasing, got {list(self.milestones)}",
        )
        _check(
            self.optimizer != "sgd" or not self.nesterov or self.momentum > 0,
            "optim.nesterov needs optim.momentum > 0",
        )
        _check(
            0.0 <= self.min_factor <= 1.0,
            f"optim.min_factor must be in [0, 1], got {self.min_factor}",
        )


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how the run executes; none of it changes the recipe.

    Attributes:
        seed: seeds model initialisation, the sampler and every augmentation draw.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        amp: mixed precision on CUDA: ``"auto"`` (bf16 if supported, else fp16 with a
            gradient scaler), ``"bf16"``, ``"fp16"`` or ``"off"``; always off on CPU.
        channels_last: NHWC memory format on CUDA.
        compile: wrap the model in ``torch.compile``.
        log_every: steps between metrics.jsonl / TensorBoard lines.
        probe_every: steps between measurements of the training instruments
            (:mod:`paenet.train.health`: each term's gradient at the backbone output,
            the features' spread, effective rank and centre distances, the attribute
            logits' spread), logged on that step's line; 0 = never. Each costs about one
            extra backward pass through the heads (not the backbone).
        checkpoint_every: write ``checkpoints/last.pt`` every this many epochs (and after
            the last epoch, and when stopped); a run killed in between resumes from the
            last one written. Short epochs with a large optimiser state spend real time
            writing it (the demo's 100 epochs: 143 MB each).
        progress: tqdm progress bars (rank 0).
        stop_after_steps: stop (with a checkpoint) after this many steps in total,
            as if interrupted; ``None`` runs to the end.
        threads: torch CPU threads of this process (``None``: torch's default). On a
            shared or oversubscribed CPU, 1 is often much faster.
    """

    seed: int = 0
    device: str = "auto"
    amp: AmpMode = "auto"
    channels_last: bool = True
    compile: bool = False
    log_every: int = 10
    probe_every: int = 50
    checkpoint_every: int = 1
    progress: bool = True
    stop_after_steps: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        _check(self.log_every >= 1, "runtime.log_every must be >= 1")
        _check(self.probe_every >= 0, "runtime.probe_every must be >= 0")
        _check(self.checkpoint_every >= 1, "runtime.checkpoint_every must be >= 1")
        _check(self.threads is None or self.threads >= 1, "runtime.threads must be >= 1 or null")
        _check(
            self.stop_after_steps is None or self.stop_after_steps >= 1,
            "runtime.stop_after_steps must be >= 1 or null",
        )


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run; ``preset`` records where defaults came from."""

    preset: str = "paper"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossSettings = field(default_factory=LossSettings)
    optim: OptimConfig = field(default_factory=OptimConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)


SECTIONS: tuple[str, ...] = ("data", "model", "loss", "optim", "runtime")


def valid_keys() -> list[str]:
    """Every settable ``section.field`` name, in declaration order."""
    defaults = RunConfig()
    return [f"{s}.{f.name}" for s in SECTIONS for f in fields(getattr(defaults, s))]


def to_dict(config: RunConfig) -> dict[str, Any]:
    """Plain data (lists, not tuples): the form written to ``config.yaml``."""

    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    out: dict[str, Any] = {"preset": config.preset}
    for section in SECTIONS:
        obj = getattr(config, section)
        out[section] = {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
    return out
