"""A run's progress and what its checkpoints hold: :class:`TrainState`, :class:`Checkpointer`.

:class:`TrainState` is the loop's position (epochs and steps done, the running epoch's
loss sums, the best validation score so far). :class:`Checkpointer` turns it, with the
model, optimiser, scheduler, scaler, sampler and torch's RNG, into the checkpoint dict
that :mod:`paenet.train.checkpoint` describes and writes, and restores all of them from
``last.pt`` on ``--resume`` so that the resumed run is bit for bit the uninterrupted one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torchvision

import paenet
from paenet.model import PAENet, PAENetConfig
from paenet.train.checkpoint import save_checkpoint
from paenet.train.config import RunConfig, to_dict
from paenet.train.sampler import CrossModalitySampler

# The trainer's messages keep the logger name they have always had (users filter on it).
log = logging.getLogger("paenet.train.engine")


def versions() -> dict[str, str]:
    """The software a run used (``run.json`` and every checkpoint's ``versions``)."""
    return {
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "paenet": paenet.__version__,
    }


@dataclass
class TrainState:
    """Where the run is. Between epochs ``batch_in_epoch`` is 0 and ``loss_sums`` empty;
    after a stop inside epoch ``epoch`` (0-based) they count that epoch's batches done."""

    epoch: int = 0
    """Epochs completed."""
    step: int = 0
    """Optimiser steps done in total (the first step is step 1)."""
    batch_in_epoch: int = 0
    """Batches of epoch ``epoch`` done by this rank."""
    loss_sums: dict[str, float] = field(default_factory=dict)
    """This rank's sum of each loss term over those batches (for the epoch's mean)."""
    best_val: float | None = None
    """The best validation mAP so far (``None`` before the first validation)."""


class Checkpointer:
    """Writes ``RUN_DIR/checkpoints/{last,best,final}.pt`` from the training objects and a
    :class:`TrainState`, and restores them from a checkpoint.

    ``manifest``: the checkpoint's ``manifest`` entry; ``pids[class index]`` = person id.
    """

    def __init__(
        self,
        directory: Path,
        *,
        model: PAENet,
        model_config: PAENetConfig,
        config: RunConfig,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler,
        sampler: CrossModalitySampler,
        device: torch.device,
        manifest: Mapping[str, Any],
        train_splits: Sequence[str],
        pids: Sequence[int],
    ) -> None:
        self.directory = Path(directory)
        self.model = model
        self.model_config = model_config
        self.config = config
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scaler = scaler
        self.sampler = sampler
        self.device = device
        self.manifest = manifest
        self.train_splits = list(train_splits)
        self.pids = list(pids)

    def path(self, kind: str) -> Path:
        """``last``, ``best`` or ``final`` → that checkpoint's file."""
        return self.directory / f"{kind}.pt"

    def payload(self, kind: str, state: TrainState) -> dict[str, Any]:
        """The checkpoint dict of ``state`` (every key of :mod:`paenet.train.checkpoint`
        but ``format`` and ``version``, which :func:`save_checkpoint` adds).

        Between epochs the sampler is saved as the next epoch will start; after a stop
        inside an epoch, as that epoch started (the resumed run skips the batches done).
        """
        sampler_state = (
            self.sampler.next_epoch_state(state.epoch)
            if state.batch_in_epoch == 0
            else self.sampler.state_dict()
        )
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "kind": kind,
            "model": self.model.state_dict(),
            "model_config": self.model_config.to_dict(),
            "config": to_dict(self.config),
            "manifest": self.manifest,
            "trial": self.config.data.trial,
            "train_splits": self.train_splits,
            "pids": list(self.pids),
            "epoch": state.epoch,
            "step": state.step,
            "batch_in_epoch": state.batch_in_epoch,
            "epoch_loss_sums": dict(state.loss_sums),
            "best_val": state.best_val,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "sampler": sampler_state,
            "rng": rng,
            "versions": versions(),
            "extra": {},
        }

    def save(self, kind: str, state: TrainState, extra: Mapping[str, Any] | None = None) -> Path:
        """Write checkpoint ``kind`` of ``state`` (``extra`` goes into its ``extra``)."""
        payload = self.payload(kind, state)
        payload["extra"].update(extra or {})
        path = self.path(kind)
        save_checkpoint(path, payload)
        return path

    def restore(self, ckpt: Mapping[str, Any]) -> TrainState:
        """Load the model, optimiser, scheduler, scaler, sampler and torch's CPU RNG from
        ``ckpt`` (a checkpoint already checked against the run) and return its state."""
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler") is not None:
            self.scaler.load_state_dict(ckpt["scaler"])
        self.sampler.load_state_dict(ckpt["sampler"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        state = TrainState(
            epoch=int(ckpt["epoch"]),
            step=int(ckpt["step"]),
            batch_in_epoch=int(ckpt.get("batch_in_epoch", 0)),
            loss_sums=dict(ckpt.get("epoch_loss_sums") or {}),
            best_val=ckpt.get("best_val"),
        )
        log.info(
            "resuming at epoch %d, step %d (batch %d)",
            state.epoch,
            state.step,
            state.batch_in_epoch,
        )
        return state


def final_from_last(ckpt: Mapping[str, Any], fingerprints: Sequence[str]) -> dict[str, Any]:
    """The ``final.pt`` payload of a run whose ``last.pt`` (``ckpt``) is of its last epoch:
    what the uninterrupted run would have saved, with the ranks' ``fingerprints``."""
    state = {k: v for k, v in ckpt.items() if k not in ("format", "version")}
    state["kind"] = "final"
    state["extra"] = {**(ckpt.get("extra") or {}), "rank_fingerprints": list(fingerprints)}
    return state
